// The end of a burst of removals (daemon/removal-burst.ts): removals wait until the disk is
// quiet, at most BURST_MAX_MS, and a file added with a removed file's bytes claims it as a
// rename. Fake timers: no process, no file.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BURST_MAX_MS, BURST_QUIET_MS, RemovalBurst, type PendingRemoval } from '../../daemon/removal-burst.js';

const removal = (path: string, sha256 = `sha-${path}`): PendingRemoval => ({
  path,
  base: { id: `id-${path}`, kind: 'text', mode: 0o644, sha256 },
  entry: { id: `id-${path}`, kind: 'text', mode: 0o644, size: 1 },
});

describe('RemovalBurst', () => {
  let ended: PendingRemoval[][];
  let othersWaiting = 0;
  let burst: RemovalBurst;
  beforeEach(() => {
    vi.useFakeTimers();
    ended = [];
    othersWaiting = 0;
    burst = new RemovalBurst({ othersWaiting: () => othersWaiting, ended: (pending) => ended.push(pending) });
  });
  afterEach(() => {
    burst.stop();
    vi.useRealTimers();
  });

  it('decides the removals of one burst together, once the disk is quiet', () => {
    burst.add(removal('a'));
    vi.advanceTimersByTime(BURST_QUIET_MS - 50);
    burst.noteDiskEvent();
    burst.add(removal('b'));
    vi.advanceTimersByTime(BURST_QUIET_MS - 1);
    expect(ended).toEqual([]);
    expect(burst.deciding).toBe(true);
    vi.advanceTimersByTime(1);
    expect(ended.map((pending) => pending.map((r) => r.path))).toEqual([['a', 'b']]);
    expect(burst.size).toBe(0);
    expect(burst.deciding).toBe(false);
  });

  it('ends a burst that never goes quiet after BURST_MAX_MS', () => {
    burst.add(removal('a'));
    for (let t = 0; t < BURST_MAX_MS; t += 100) {
      vi.advanceTimersByTime(100);
      if (ended.length === 0) burst.noteDiskEvent();
    }
    expect(ended).toHaveLength(1);
  });

  it('hands a removed file to the add of the same bytes, as a rename, and decides the rest', () => {
    burst.add(removal('old.txt', 'same'));
    burst.add(removal('gone.txt'));
    expect(burst.takeRenameSource('other')).toBeNull();
    expect(burst.takeRenameSource('same')?.path).toBe('old.txt');
    expect(burst.has('old.txt')).toBe(false);
    vi.advanceTimersByTime(BURST_QUIET_MS);
    expect(ended.map((pending) => pending.map((r) => r.path))).toEqual([['gone.txt']]);
  });

  it('schedules nothing when nothing waits, and ends for the gate\'s waiting removals alone', () => {
    burst.schedule();
    expect(burst.deciding).toBe(false);
    othersWaiting = 2;
    burst.schedule();
    vi.advanceTimersByTime(BURST_QUIET_MS);
    expect(ended).toEqual([[]]);
  });

  it('a burst of events starts when the disk was quiet before it', () => {
    vi.setSystemTime(10_000);
    burst.noteDiskEvent();
    vi.setSystemTime(10_100);
    burst.noteDiskEvent();
    expect(burst.startedAt).toBe(10_000);
    vi.setSystemTime(10_100 + BURST_QUIET_MS + 1);
    burst.noteDiskEvent();
    expect(burst.startedAt).toBe(10_100 + BURST_QUIET_MS + 1);
  });

  it('after stop, nothing is decided', () => {
    burst.add(removal('a'));
    burst.stop();
    vi.advanceTimersByTime(BURST_MAX_MS);
    expect(ended).toEqual([]);
  });
});
