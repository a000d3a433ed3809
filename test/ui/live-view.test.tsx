import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { FolderStatus } from '../../common/control-protocol.js';
import { LiveView } from '../../cli/ui/components/live-view.js';
import { FEED_LENGTH, initialLiveState, liveReducer, type LiveState } from '../../cli/ui/state/live-reducer.js';
import { folderStatus } from '../helpers/folder-status.js';

const status = folderStatus;

const ready = (state: LiveState) =>
  liveReducer(state, { type: 'ready', project: 'alice/app', joinCommand: 'codeshare join http://127.0.0.1:4455/p/alice/app', root: '/work/app' });

describe('live view reducer', () => {
  it('turns activity events into a newest-first feed of bounded length', () => {
    let state = ready(initialLiveState('/work/app'));
    for (let i = 0; i < FEED_LENGTH + 3; i++) {
      state = liveReducer(state, {
        type: 'event',
        me: 'alice',
        event: { type: 'activity', root: '/work/app', direction: i % 2 ? 'local' : 'remote', action: 'edited', path: `f${i}.ts`, user: 'bob', linesAdded: 1, linesRemoved: 0 },
      });
    }
    expect(state.feed).toHaveLength(FEED_LENGTH);
    expect(state.feed[0]!.path).toBe(`f${FEED_LENGTH + 2}`.concat('.ts'));
    expect(state.feed.map((f) => f.who)).toContain('alice');
    expect(state.feed.map((f) => f.who)).toContain('bob');
  });

  it('shows progress until the total is reached, and keeps the last three errors', () => {
    let state = initialLiveState('/work/app');
    state = liveReducer(state, { type: 'event', me: 'a', event: { type: 'progress', root: '/work/app', phase: 'upload', done: 10, total: 40 } });
    expect(state.progress).toEqual({ phase: 'upload', done: 10, total: 40 });
    state = liveReducer(state, { type: 'event', me: 'a', event: { type: 'progress', root: '/work/app', phase: 'upload', done: 40, total: 40 } });
    expect(state.progress).toBeNull();
    for (const message of ['one', 'two', 'three', 'four']) state = liveReducer(state, { type: 'failed', message });
    expect(state.errors).toEqual(['two', 'three', 'four']);
  });
});

describe('live view', () => {
  it('renders the project, the join command, the sync state, peers and the feed', () => {
    let state = ready(initialLiveState('/work/app'));
    state = liveReducer(state, { type: 'status', status: status({ peers: [{ name: 'bob', file: 'src/a.ts', branch: 'main' }] }) });
    state = liveReducer(state, {
      type: 'event',
      me: 'alice',
      event: { type: 'activity', root: '/work/app', direction: 'remote', action: 'edited', path: 'src/a.ts', user: 'bob', linesAdded: 2, linesRemoved: 1 },
    });
    const frame = render(<LiveView state={state} />).lastFrame() ?? '';
    expect(frame).toContain('alice/app');
    expect(frame).toContain('codeshare join http://127.0.0.1:4455/p/alice/app');
    expect(frame).toContain('● synced');
    expect(frame).toContain('bob · src/a.ts · main');
    expect(frame).toContain('bob edited src/a.ts (+2 -1)');
    expect(frame).toContain('q detach');
  });

  it('says how many edits are unsaved, when it is offline, and why it paused', () => {
    const base = ready(initialLiveState('/work/app'));
    const frameOf = (s: FolderStatus) => render(<LiveView state={liveReducer(base, { type: 'status', status: s })} />).lastFrame() ?? '';
    expect(frameOf(status({ state: 'unsaved', unsaved: 4 }))).toContain('4 unsaved');
    expect(frameOf(status({ state: 'offline', connection: 'offline' }))).toContain('offline');
    expect(frameOf(status({ state: 'paused', pausedReason: 'on branch other; the project tracks main' }))).toContain(
      'paused: on branch other; the project tracks main',
    );
  });

  it('lists what is not shared, the first few by message and the rest as a count', () => {
    const base = ready(initialLiveState('/work/app'));
    const frameOf = (s: FolderStatus) => render(<LiveView state={liveReducer(base, { type: 'status', status: s })} />).lastFrame() ?? '';
    expect(frameOf(status())).not.toContain('Not shared');
    const problems = [
      { path: 'a\\xff.txt', reason: 'invalid-name', message: 'a\\xff.txt not shared: its name is not valid UTF-8' },
      { path: 'big.bin', reason: 'too-large', message: 'big.bin not shared: 3.2 GiB is over the 2 GiB limit' },
      { path: 'pipe', reason: 'special-file', message: 'pipe not shared: a FIFO, socket or device is not a file' },
      { path: 'secret.txt', reason: 'unreadable', message: 'secret.txt not shared: it cannot be read (EACCES)' },
    ] satisfies FolderStatus['problems'];
    const frame = frameOf(status({ problems }));
    expect(frame).toContain('Not shared (4)');
    expect(frame).toContain('  a\\xff.txt not shared: its name is not valid UTF-8');
    expect(frame).toContain('big.bin not shared: 3.2 GiB is over the 2 GiB limit');
    expect(frame).toContain('pipe not shared: a FIFO, socket or device is not a file');
    expect(frame).not.toContain('secret.txt');
    expect(frame).toContain('and 1 more (codeshare status --json lists them)');
    expect(frameOf(status({ problems: problems.slice(0, 1) }))).not.toContain('more');
  });

  it('draws a progress bar during the first upload', () => {
    const state = liveReducer(initialLiveState('/work/app'), {
      type: 'event',
      me: 'a',
      event: { type: 'progress', root: '/work/app', phase: 'download', done: 250, total: 1000 },
    });
    const frame = render(<LiveView state={state} />).lastFrame() ?? '';
    expect(frame).toMatch(/downloading \[█+░+\] 250\/1000/);
  });
});
