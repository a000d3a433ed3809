// New paths the watcher reported, held back until they settle (see settling.ts): what each one
// was seen doing, and the timer that reads it once it is quiet.
import { PathTimers } from './path-timers.js';
import { noteEvent, settleVerdict, type Settling, type SettleVerdict } from './settling.js';

export class NewPaths {
  private readonly settling = new Map<string, Settling>();
  private readonly timers = new PathTimers();

  /** A watcher event for a path the project does not have: whether it may be read now. */
  noteEvent(path: string, now = Date.now()): SettleVerdict {
    const settling = noteEvent(this.settling.get(path), now);
    this.settling.set(path, settling);
    return settleVerdict(settling, now);
  }

  /** Whether the path settled (a path never reported has). */
  verdict(path: string, now = Date.now()): SettleVerdict {
    return settleVerdict(this.settling.get(path), now);
  }

  /** Runs `read` once the path has been quiet for `ms`. */
  readLater(path: string, ms: number, read: () => void): void {
    this.timers.set(path, ms, read);
  }

  /** The path was read (or is known, or gone): it no longer waits. */
  forget(path: string): void {
    if (!this.settling.delete(path)) return;
    this.timers.clear(path);
  }

  /** Paths waiting to be read. */
  get waiting(): number {
    return this.timers.size;
  }

  stop(): void {
    this.timers.clearAll();
  }
}
