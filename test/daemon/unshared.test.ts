import { describe, expect, it } from 'vitest';
import type { FolderProblem } from '../../common/control-protocol.js';
import type { ScanSkip } from '../../daemon/scan.js';
import { formatBinaryBytes, problemOfSkip, problemsFromScan } from '../../daemon/unshared.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('problemOfSkip', () => {
  it.each<[ScanSkip, FolderProblem | null]>([
    [{ path: 'bad\\xff.txt', reason: 'invalid-name' }, { path: 'bad\\xff.txt', reason: 'invalid-name', message: 'bad\\xff.txt not shared: its name is not valid UTF-8' }],
    [{ path: 'dir\\xfe', reason: 'invalid-name', detail: 'folder' }, { path: 'dir\\xfe', reason: 'invalid-name', message: 'dir\\xfe not shared: its name is not valid UTF-8, so nothing in it is shared either' }],
    [{ path: 'link', reason: 'invalid-name', detail: 'symlink-target' }, { path: 'link', reason: 'invalid-name', message: 'link not shared: the symlink points to a name that is not valid UTF-8' }],
    [{ path: 'pipe', reason: 'special-file' }, { path: 'pipe', reason: 'special-file', message: 'pipe not shared: a FIFO, socket or device is not a file' }],
    [{ path: 'secret.txt', reason: 'unreadable', detail: 'EACCES' }, { path: 'secret.txt', reason: 'unreadable', message: 'secret.txt not shared: it cannot be read (EACCES)' }],
    [{ path: 'secret.txt', reason: 'unreadable' }, { path: 'secret.txt', reason: 'unreadable', message: 'secret.txt not shared: it cannot be read' }],
    [{ path: 'link', reason: 'unsafe-symlink', detail: 'outside-root: "../x"' }, { path: 'link', reason: 'unsafe-symlink', message: 'link not shared: the symlink points outside the folder (outside-root: "../x")' }],
    [{ path: 'link', reason: 'unsafe-symlink', detail: 'absolute: "/etc/passwd"' }, { path: 'link', reason: 'unsafe-symlink', message: 'link not shared: the symlink points outside the folder (absolute: "/etc/passwd")' }],
    [{ path: 'link', reason: 'unsafe-symlink', detail: 'git-folder: ".git/config"' }, { path: 'link', reason: 'unsafe-symlink', message: 'link not shared: the symlink points into .git (git-folder: ".git/config")' }],
    [{ path: 'a\\b.txt', reason: 'unsafe-path', detail: 'backslash' }, { path: 'a\\b.txt', reason: 'unsafe-path', message: 'a\\b.txt not shared: its name cannot be carried safely to other systems (backslash)' }],
    [{ path: 'big.bin', reason: 'too-large', size: Math.round(3.2 * GiB), limit: 2 * GiB }, { path: 'big.bin', reason: 'too-large', message: 'big.bin not shared: 3.2 GiB is over the 2 GiB limit' }],
    [{ path: 'big.bin', reason: 'too-large', size: 100 * MiB + 1, limit: 100 * MiB }, { path: 'big.bin', reason: 'too-large', message: 'big.bin not shared: 104,857,601 bytes is over the 104,857,600-byte limit' }],
    [{ path: 'gone.txt', reason: 'changed-during-scan', detail: 'ENOENT' }, null],
  ])('%j', (skip, problem) => {
    expect(problemOfSkip(skip)).toEqual(problem);
  });
});

describe('problemsFromScan', () => {
  it('keeps the problems in order and drops what only changed during the scan', () => {
    const skipped: ScanSkip[] = [
      { path: 'a', reason: 'special-file' },
      { path: 'b', reason: 'changed-during-scan' },
      { path: 'c', reason: 'unreadable', detail: 'EPERM' },
    ];
    expect(problemsFromScan(skipped).map((problem) => [problem.path, problem.reason])).toEqual([
      ['a', 'special-file'],
      ['c', 'unreadable'],
    ]);
    expect(problemsFromScan([])).toEqual([]);
  });
});

describe('formatBinaryBytes', () => {
  it.each<[number, string]>([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [1024 * 1024 - 1, '1 MiB'],
    [100 * MiB, '100 MiB'],
    [2 * GiB, '2 GiB'],
    [Math.round(3.2 * GiB), '3.2 GiB'],
    [5 * 1024 * GiB, '5 TiB'],
  ])('%d bytes is %s', (bytes, shown) => {
    expect(formatBinaryBytes(bytes)).toBe(shown);
  });
});
