// After a burst of work (a share, a join, a rescan, a teammate's checkout) the heap holds what
// the burst allocated until V8 decides to collect, and V8 sizes the heap by its high-water
// mark: a daemon idle after a 10,000-file join held 125 MiB of heap of which 43 MiB were live.
// Once the daemon has had nothing to do for a moment, one compacting collection hands the
// garbage back. It runs only when the heap grew by GROWTH_BYTES since the last one, so a user
// saving a file now and then costs no collections.
//
// `gc` exists when the daemon runs with --expose-gc, as ensureDaemon starts it.

const QUIET_MS = 2000;
const GROWTH_BYTES = 24 * 1024 * 1024;

type Collect = (options?: object) => void;

let timer: NodeJS.Timeout | null = null;
let liveAfterLastCollection = 0;

/** Schedules a collection QUIET_MS after the last call, if the heap has grown enough by then. */
export function collectGarbageWhenQuiet(): void {
  const gc = (globalThis as { gc?: Collect }).gc;
  if (!gc) return;
  if (timer) {
    timer.refresh();
    return;
  }
  timer = setTimeout(() => {
    timer = null;
    if (process.memoryUsage().heapUsed - liveAfterLastCollection < GROWTH_BYTES) return;
    // 'last-resort' compacts and returns the freed pages; a plain major collection keeps them.
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    liveAfterLastCollection = process.memoryUsage().heapUsed;
  }, QUIET_MS);
  timer.unref();
}
