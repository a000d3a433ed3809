// After a burst of work (a share, a join, a rescan, a teammate's checkout; on the server a bulk
// upload or rooms unloading) the heap holds what the burst allocated until V8 decides to
// collect, and V8 sizes the heap by its high-water mark: a daemon idle after a 10,000-file join
// held 125 MiB of heap of which 43 MiB were live. Once the process has had nothing to do for a
// moment, one compacting collection hands the garbage back. It runs only when the heap grew by
// GROWTH_BYTES since the last one, so a user saving a file now and then costs no collections.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const QUIET_MS = 2000;
const GROWTH_BYTES = 16 * 1024 * 1024;

type Collect = (options?: object) => void;

let timer: NodeJS.Timeout | null = null;
let liveAfterLastCollection = 0;
let collector: Collect | null | undefined;

/**
 * The daemon runs with --expose-gc (ensureDaemon starts it so); elsewhere (the server) the flag
 * is set now, and a fresh context hands out its `gc`, which collects this whole isolate.
 */
function collectorOf(): Collect | null {
  if (collector !== undefined) return collector;
  collector = (globalThis as { gc?: Collect }).gc ?? null;
  if (!collector) {
    try {
      setFlagsFromString('--expose-gc');
      collector = runInNewContext('gc') as Collect;
    } catch {
      collector = null;
    }
  }
  return collector;
}

/** Schedules a collection QUIET_MS after the last call, if the heap has grown enough by then. */
export function collectGarbageWhenQuiet(): void {
  const gc = collectorOf();
  if (!gc) return;
  if (timer) {
    timer.refresh();
    return;
  }
  timer = setTimeout(() => {
    timer = null;
    if (process.memoryUsage().heapUsed - liveAfterLastCollection < GROWTH_BYTES) return;
    // A full collection frees the garbage; 'last-resort' then compacts and returns the freed
    // pages. Either alone left the heap at its size: on its own, 'last-resort' collected nothing
    // the first time it ran (Node 20: 210 MiB of garbage stayed), a plain one kept the pages.
    gc();
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    liveAfterLastCollection = process.memoryUsage().heapUsed;
  }, QUIET_MS);
  timer.unref();
}
