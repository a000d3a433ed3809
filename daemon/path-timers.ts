// One timer per path, replaced when set again: the recheck of a change read mid-write and the
// share of a new path once it settled are each "do this for that path in a moment".

export class PathTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  /** Runs `fire` for `path` after `ms`, replacing the path's earlier timer. */
  set(path: string, ms: number, fire: () => void): void {
    clearTimeout(this.timers.get(path));
    const timer = setTimeout(() => {
      this.timers.delete(path);
      fire();
    }, ms);
    timer.unref();
    this.timers.set(path, timer);
  }

  clear(path: string): void {
    clearTimeout(this.timers.get(path));
    this.timers.delete(path);
  }

  get size(): number {
    return this.timers.size;
  }

  clearAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
