// Records of a LevelDB written behind, many per batch: the bases change with every file written
// and the scan's records with every file read, and one write each would queue thousands. A value
// set is readable (waiting) until its batch is written; the last one set for a key wins.
import type { Level } from 'level';

type Db = Level<string, string>;
/** A chained batch of the LevelDB (the overload of batch() without operations). */
export type ChainedBatch = ReturnType<Db['batch']>;

export class WriteBehind<V> {
  /** Values not yet written (null: a removal), then the batch being written. */
  private pending = new Map<string, V | null>();
  private inWrite = new Map<string, V | null>();
  private writing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly db: Db,
    /** Adds one key's value (null: its removal) to the batch. */
    private readonly write: (batch: ChainedBatch, key: string, value: V | null) => void,
    private readonly failed: (err: unknown, count: number) => void,
  ) {}

  set(key: string, value: V | null): void {
    this.pending.set(key, value);
    this.schedule();
  }

  /** The value set last and not written yet ({ value: null } for a removal), or undefined. */
  waiting(key: string): { value: V | null } | undefined {
    for (const map of [this.pending, this.inWrite]) if (map.has(key)) return { value: map.get(key)! };
    return undefined;
  }

  /** Resolves once every value set so far reached LevelDB. */
  settled(): Promise<void> {
    return this.writing;
  }

  /** Writes what waits now (before a close). */
  async flush(): Promise<void> {
    await this.writing;
    await this.writePending();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.writing = this.writing.then(
      () =>
        new Promise<void>((resolve) =>
          setImmediate(() => {
            this.scheduled = false;
            void this.writePending().then(resolve);
          }),
        ),
    );
  }

  private async writePending(): Promise<void> {
    const pending = this.pending;
    this.pending = new Map();
    if (pending.size === 0) return;
    const batch = this.db.batch();
    for (const [key, value] of pending) this.write(batch, key, value);
    this.inWrite = pending;
    // A failed write leaves the older records, which every reader of them tolerates.
    await batch.write().catch((err: unknown) => this.failed(err, pending.size));
    if (this.inWrite === pending) this.inWrite = new Map();
  }
}
