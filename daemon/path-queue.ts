// The per-path queue: each path's work runs one at a time, in the order it was asked for, so a
// local edit and a remote edit of one file never interleave; different paths proceed at once.
// A failed piece of work is reported and does not stop the path's later work.
import { collectGarbageWhenQuiet } from '../common/idle-gc.js';

export interface PathQueueHooks {
  /** Runs before each piece of work; false skips it (the folder stopped, or is paused). */
  before: (path: string) => Promise<boolean>;
  failed: (path: string, err: unknown) => void;
  /** A path's queue ran dry. */
  idle: (path: string) => void;
}

export class PathQueue {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly hooks: PathQueueHooks) {}

  /** Runs `work` after the path's earlier work; resolves when it ran (or was skipped, or failed). */
  run(path: string, work: () => Promise<void>): Promise<void> {
    const next = (this.tails.get(path) ?? Promise.resolve())
      .then(async () => {
        if (await this.hooks.before(path)) await work();
      })
      .catch((err: unknown) => this.hooks.failed(path, err));
    this.tails.set(path, next);
    void next.then(() => {
      if (this.tails.get(path) === next) this.tails.delete(path);
      this.hooks.idle(path);
      // The whole queue ran dry (after a burst, a teammate's checkout): its garbage can go.
      if (this.tails.size === 0) collectGarbageWhenQuiet();
    });
    return next;
  }

  /** Paths with work queued or running. */
  get busy(): number {
    return this.tails.size;
  }

  /** Resolves once the work queued so far has run. */
  async drain(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }
}
