// Group commit: requests made within one tick, or while the previous batch is in flight, are
// handed to `run` together, so 2,000 docs stored at once cost a few statements, not 2,000.
// One batch is in flight at a time; the next one gathers meanwhile and goes as soon as it
// lands (or, with `minIntervalMs`, once that long has passed since the last one started), so
// on an idle store a lone request waits one tick.

export interface BatchItem<Request, Result> {
  readonly request: Request;
  resolve(result: Result): void;
  reject(err: unknown): void;
}

export interface TickBatcherOptions<Request> {
  /** Largest batch, in units of `weigh` (a lone request heavier than this still goes alone). */
  maxWeight: number;
  weigh(request: Request): number;
  /** Requests with the same key never share a batch: the later one waits for the next. */
  key?(request: Request): string;
  /**
   * Batches start at least this far apart: under a steady stream a statement per request costs
   * more than the requests' own work, and waiting a few milliseconds gathers many in one.
   */
  minIntervalMs?: number;
}

export class TickBatcher<Request, Result> {
  private queue: BatchItem<Request, Result>[] = [];
  private scheduled = false;
  private running = false;
  private lastStart = -Infinity;

  /** `run` settles every item of the batch; whatever it leaves unsettled is rejected. */
  constructor(
    private readonly run: (batch: BatchItem<Request, Result>[]) => Promise<void>,
    private readonly options: TickBatcherOptions<Request>,
  ) {}

  submit(request: Request): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (this.running || this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const wait = this.lastStart + (this.options.minIntervalMs ?? 0) - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        this.lastStart = performance.now();
        const batch = this.take();
        let failure: unknown = new Error('the batch left this request unanswered');
        try {
          await this.run(batch);
        } catch (err) {
          failure = err;
        }
        // Settling a promise twice is a no-op: only the requests `run` left open see this.
        for (const item of batch) item.reject(failure);
      }
    } finally {
      this.running = false;
    }
  }

  /** The oldest requests up to the weight limit, one per key; the rest keep their order. */
  private take(): BatchItem<Request, Result>[] {
    const batch: BatchItem<Request, Result>[] = [];
    const rest: BatchItem<Request, Result>[] = [];
    const keys = new Set<string>();
    let weight = 0;
    for (const [index, item] of this.queue.entries()) {
      const itemWeight = this.options.weigh(item.request);
      if (batch.length > 0 && weight + itemWeight > this.options.maxWeight) {
        rest.push(...this.queue.slice(index));
        break;
      }
      const key = this.options.key?.(item.request);
      if (key !== undefined && keys.has(key)) {
        rest.push(item);
        continue;
      }
      if (key !== undefined) keys.add(key);
      batch.push(item);
      weight += itemWeight;
    }
    this.queue = rest;
    return batch;
  }
}
