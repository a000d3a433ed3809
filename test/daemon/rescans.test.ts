import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProjectFile } from '../../common/project-file.js';
import { nextRescanDelay, Rescans, type RescanOptions } from '../../daemon/rescans.js';

describe('periodic rescans', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keep the minimum period while a rescan is cheap', () => {
    expect(nextRescanDelay(0, 30_000)).toBe(30_000);
    expect(nextRescanDelay(1_000, 30_000)).toBe(30_000);
  });

  it('space out so that a costly rescan takes at most a twentieth of the time', () => {
    expect(nextRescanDelay(3_500, 30_000)).toBe(70_000);
    expect(nextRescanDelay(10_000, 30_000)).toBe(200_000);
  });

  it('wait for the period the last rescan earned, and stop when told', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const started: number[] = [];
    const rescans = new Rescans({
      rescan: async () => {
        started.push(performance.now());
        // A rescan that takes 5 s: the next one comes 100 s after it ended.
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      },
      serverFiles: async () => null,
      compareWithServer: async () => {},
    });
    rescans.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(started).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5_000 + 99_000);
    expect(started).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toHaveLength(2);
    rescans.stop();
    await vi.advanceTimersByTimeAsync(1_000_000);
    expect(started).toHaveLength(2);
  });

  it("make every tenth rescan the full check, against the server's files, and wait for a period online to make it", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const serverFiles = new Map<string, ProjectFile>([['a.txt', { path: 'a.txt', fileId: 'f1', kind: 'text', mode: 0o644, size: 2, sha256: 'aa', target: null }]]);
    let online = false;
    const rescans: RescanOptions[] = [];
    const compared: Map<string, ProjectFile>[] = [];
    const periodic = new Rescans({
      rescan: async (options) => void rescans.push(options),
      serverFiles: async () => (online ? serverFiles : null),
      compareWithServer: async (files) => void compared.push(files),
    });
    periodic.start();
    await vi.advanceTimersByTimeAsync(30_000 * 10);
    // Offline at the tenth: an ordinary rescan, and no comparison.
    expect(rescans).toHaveLength(10);
    expect(rescans.every((options) => !options.checkEveryPath)).toBe(true);
    expect(compared).toEqual([]);
    online = true;
    await vi.advanceTimersByTimeAsync(30_000 * 10);
    expect(rescans).toHaveLength(20);
    expect(rescans.filter((options) => options.checkEveryPath)).toEqual([{ checkEveryPath: true, serverFiles }]);
    expect(rescans[19]).toEqual({ checkEveryPath: true, serverFiles });
    expect(compared).toEqual([serverFiles]);
    periodic.stop();
  });
});
