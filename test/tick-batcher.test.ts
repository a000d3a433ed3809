// Group commit: what arrives together goes in one batch, one batch in flight at a time, and with
// a minimum interval a steady stream of requests is gathered into a batch per interval.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TickBatcher, type BatchItem } from '../server/rooms/tick-batcher.js';

function recordingBatcher(minIntervalMs?: number) {
  const batches: { at: number; requests: number[] }[] = [];
  const batcher = new TickBatcher<number, number>(
    async (batch: BatchItem<number, number>[]) => {
      batches.push({ at: performance.now(), requests: batch.map((item) => item.request) });
      for (const item of batch) item.resolve(item.request * 10);
    },
    { maxWeight: 100, weigh: () => 1, ...(minIntervalMs !== undefined ? { minIntervalMs } : {}) },
  );
  return { batcher, batches };
}

describe('TickBatcher', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands requests made in one tick to one batch and answers each', async () => {
    const { batcher, batches } = recordingBatcher();
    const answers = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    expect(answers).toEqual([10, 20, 30]);
    expect(batches.map((b) => b.requests)).toEqual([[1, 2, 3]]);
  });

  it('with a minimum interval, sends a lone request at once and gathers a stream into a batch per interval', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setImmediate', 'performance'] });
    const { batcher, batches } = recordingBatcher(10);
    const first = batcher.submit(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(await first).toBe(0);
    expect(batches).toHaveLength(1);
    // One request a millisecond for 30 ms: batches start 10 ms apart, each with what came meanwhile.
    const answered: Promise<number>[] = [];
    for (let n = 1; n <= 30; n++) {
      answered.push(batcher.submit(n));
      await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(20);
    expect(await Promise.all(answered)).toEqual(answered.map((_, i) => (i + 1) * 10));
    expect(batches.length).toBeLessThanOrEqual(5);
    expect(batches.flatMap((b) => b.requests)).toEqual(Array.from({ length: 31 }, (_, n) => n));
    for (let i = 1; i < batches.length; i++) expect(batches[i]!.at - batches[i - 1]!.at).toBeGreaterThanOrEqual(10);
  });
});
