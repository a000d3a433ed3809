// Removals wait for the end of their burst: a delete followed by an add of the same bytes is a
// rename, and the discard guard's size rule counts a whole `rm -rf`, not its first file. The
// burst ends when the disk is quiet BURST_QUIET_MS (every watcher event moves the end), or
// BURST_MAX_MS after the first removal waited at the latest.
import type { IndexEntry } from '../common/index-entry.js';
import type { Base } from './base-store.js';

export const BURST_QUIET_MS = 300;
export const BURST_MAX_MS = 3_000;

/** A file gone from disk that the project still has, waiting for the end of its burst. */
export interface PendingRemoval {
  path: string;
  base: Base;
  entry: IndexEntry;
}

export interface RemovalBurstHooks {
  /** Other removals the burst's end decides on (the discard gate's waiting ones). */
  othersWaiting: () => number;
  /** The burst ended: what is still pending is decided, as one burst. */
  ended: (pending: PendingRemoval[]) => void;
}

export class RemovalBurst {
  private readonly pending = new Map<string, PendingRemoval>();
  /** When the removals waiting now are decided, and since when they wait. */
  private end: { timer: NodeJS.Timeout; since: number } | null = null;
  /** The disk events going on now: they began at `startedAt`, the last came at `lastAt`. */
  private readonly events = { startedAt: 0, lastAt: 0 };
  private stopped = false;

  constructor(private readonly hooks: RemovalBurstHooks) {}

  /** Any watcher event: the burst goes on. */
  noteDiskEvent(now = Date.now()): void {
    if (now - this.events.lastAt > BURST_QUIET_MS) this.events.startedAt = now;
    this.events.lastAt = now;
    if (this.end) this.schedule();
  }

  /** When the disk events going on now began (the discard gate reads git's signals from then). */
  get startedAt(): number {
    return this.events.startedAt;
  }

  has(path: string): boolean {
    return this.pending.has(path);
  }

  add(removal: PendingRemoval): void {
    this.pending.set(removal.path, removal);
    this.schedule();
  }

  /** A pending removal of a file with these bytes, claimed as the source of a rename. */
  takeRenameSource(sha256: string): PendingRemoval | null {
    for (const removal of this.pending.values()) {
      if (removal.base.sha256 !== sha256) continue;
      this.pending.delete(removal.path);
      return removal;
    }
    return null;
  }

  /** Removals wait now: a new path may be a rename's target and is read at once. */
  get size(): number {
    return this.pending.size;
  }

  /** Whether an end is scheduled (the folder is not idle yet). */
  get deciding(): boolean {
    return this.end !== null;
  }

  /** (Re)schedules the end of the burst, if anything waits for it. */
  schedule(): void {
    if (this.stopped || (this.pending.size === 0 && this.hooks.othersWaiting() === 0)) return;
    const since = this.end?.since ?? Date.now();
    if (this.end) clearTimeout(this.end.timer);
    const timer = setTimeout(() => this.finish(), Math.max(0, Math.min(BURST_QUIET_MS, since + BURST_MAX_MS - Date.now())));
    timer.unref();
    this.end = { timer, since };
  }

  private finish(): void {
    this.end = null;
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.hooks.ended(pending);
  }

  stop(): void {
    this.stopped = true;
    if (this.end) clearTimeout(this.end.timer);
  }
}
