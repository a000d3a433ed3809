import { describe, expect, it } from 'vitest';
import { formatStatus, type StatusResult } from '../../cli/commands/status.js';
import type { FolderProblem, FolderStatus } from '../../common/control-protocol.js';
import { folderStatus } from '../helpers/folder-status.js';

const folder = folderStatus;

const running = (...folders: FolderStatus[]): StatusResult => ({
  daemon: { running: true, pid: 42, startedAt: '2025-01-01T00:00:00.000Z', logFile: '/tmp/daemon.log' },
  folders,
});

const problem = (path: string): FolderProblem => ({ path, reason: 'special-file', message: `${path} not shared: a FIFO, socket or device is not a file` });

describe('formatStatus', () => {
  it('gives a halt its reason on a line of its own, and a branch pause inline', () => {
    const reason = "nothing sent: this looks like git stash, which would throw away bob's uncommitted work in 2 files; `codeshare resume` sends it anyway";
    const halt = { rule: 'discards' as const, looksLike: 'git stash', files: 2, whose: ['bob'], since: '2026-12-02T00:00:00.000Z' };
    expect(formatStatus(running(folder({ state: 'paused', pausedReason: reason, halt }))).slice(1)).toEqual([
      '/work/app  alice/app  paused before sending  3 files  branch main',
      `  ${reason}`,
    ]);
    expect(formatStatus(running(folder({ state: 'paused', pausedReason: 'on branch spike; the project tracks main' }))).slice(1)).toEqual([
      '/work/app  alice/app  paused: on branch spike; the project tracks main  3 files  branch main',
    ]);
  });

  it('says nothing about problems when there are none', () => {
    expect(formatStatus(running(folder()))).toEqual(['Daemon running (pid 42), log: /tmp/daemon.log', '/work/app  alice/app  synced  3 files  branch main']);
  });

  it('counts the paths not shared and spells out each of a few', () => {
    const problems: FolderProblem[] = [
      { path: 'bad\\xff.txt', reason: 'invalid-name', message: 'bad\\xff.txt not shared: its name is not valid UTF-8' },
      { path: 'big.bin', reason: 'too-large', message: 'big.bin not shared: 3.2 GiB is over the 2 GiB limit' },
      problem('pipe'),
    ];
    expect(formatStatus(running(folder({ problems }))).slice(1)).toEqual([
      '/work/app  alice/app  synced  3 files  branch main',
      '  3 paths not shared here (codeshare status --json lists them)',
      '    bad\\xff.txt not shared: its name is not valid UTF-8',
      '    big.bin not shared: 3.2 GiB is over the 2 GiB limit',
      '    pipe not shared: a FIFO, socket or device is not a file',
    ]);
  });

  it('says "path" for one, and shows five of many with the rest counted', () => {
    expect(formatStatus(running(folder({ problems: [problem('p')] })))[2]).toBe('  1 path not shared here (codeshare status --json lists them)');
    const many = Array.from({ length: 8 }, (_, i) => problem(`p${i}`));
    const lines = formatStatus(running(folder({ problems: many }))).slice(2);
    expect(lines).toEqual([
      '  8 paths not shared here (codeshare status --json lists them)',
      ...many.slice(0, 5).map((p) => `    ${p.message}`),
      '    and 3 more',
    ]);
  });

  it('keeps each folder’s problems under that folder', () => {
    const lines = formatStatus(running(folder({ root: '/a', problems: [problem('x')] }), folder({ root: '/b' })));
    expect(lines.slice(1)).toEqual([
      '/a  alice/app  synced  3 files  branch main',
      '  1 path not shared here (codeshare status --json lists them)',
      '    x not shared: a FIFO, socket or device is not a file',
      '/b  alice/app  synced  3 files  branch main',
    ]);
  });
});
