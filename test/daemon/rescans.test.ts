import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextRescanDelay, Rescans } from '../../daemon/rescans.js';

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
});
