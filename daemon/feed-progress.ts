// Where a connection is in its project's feed: the position it holds, whether this connect's
// catch-up is over, the resyncs the server asked for during it (the position counts only once
// they are answered), and what the catch-up moved, for the log line that shows traffic follows
// what changed.
import type { Logger } from 'pino';

export class FeedProgress {
  /** The feed position this folder holds; the next connect asks for what came after. */
  position = 0;
  /** A position arrived (and counted) since the last connect. */
  caughtUp = false;
  private waiters: (() => void)[] = [];
  private readonly pendingResyncs = new Set<string>();
  private deferredPosition: number | null = null;
  private catchUp = { since: 0, frames: 0, bytes: 0, startedAt: 0 };

  constructor(
    private readonly log: Logger,
    private readonly reached: (position: number) => void,
  ) {}

  whenCaughtUp(): Promise<void> {
    if (this.caughtUp) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A new connect: its catch-up starts at the position held. */
  connected(): void {
    this.caughtUp = false;
    this.pendingResyncs.clear();
    this.deferredPosition = null;
    this.catchUp = { since: this.position, frames: 0, bytes: 0, startedAt: performance.now() };
  }

  /** A frame arrived: counted while the catch-up runs. */
  received(bytes: number): void {
    if (this.caughtUp) return;
    this.catchUp.frames++;
    this.catchUp.bytes += bytes;
  }

  positionArrived(position: number): void {
    if (this.pendingResyncs.size > 0) this.deferredPosition = position;
    else this.count(position);
  }

  resyncAsked(docName: string): void {
    this.pendingResyncs.add(docName);
  }

  /** A sync step 2 arrived: if it answers a resync, the deferred position may count now (after it is applied). */
  step2Arrived(docName: string): void {
    if (!this.pendingResyncs.delete(docName)) return;
    queueMicrotask(() => {
      if (this.pendingResyncs.size > 0 || this.deferredPosition === null) return;
      const position = this.deferredPosition;
      this.deferredPosition = null;
      this.count(position);
    });
  }

  private count(position: number): void {
    this.position = position;
    if (!this.caughtUp) {
      const { since, frames, bytes, startedAt } = this.catchUp;
      this.log.info({ since, position, frames, bytes, ms: Math.round(performance.now() - startedAt) }, 'caught up with the project feed');
    }
    this.caughtUp = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
    this.reached(position);
  }
}
