// After a burst of work (a share, a join, a rescan, a teammate's checkout; on the server a bulk
// upload or rooms unloading) the heap holds what the burst allocated until V8 decides to
// collect, and V8 sizes the heap by its high-water mark: a daemon idle after a 10,000-file join
// held 125 MiB of heap of which 43 MiB were live. Once the process has had nothing to do for a
// moment, one compacting collection hands the garbage back. It runs only when the heap grew by
// GROWTH_BYTES since the last one, so a user saving a file now and then costs no collections.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { trimNativeHeap } from './native-heap.js';

const QUIET_MS = 2000;
const GROWTH_BYTES = 16 * 1024 * 1024;
/** A heap with this much room beyond what it uses is collected (a compacting collection returns it). */
const SPARE_BYTES = 64 * 1024 * 1024;
const FOLLOW_UPS = 2;
const FOLLOW_UP_MS = 10_000;

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

/** Whether a collection would hand anything back. */
function worthCollecting(): boolean {
  const { heapUsed, heapTotal } = process.memoryUsage();
  // Grown since the last collection, or holding far more than it uses: a collection in the
  // middle of a join (a pause of QUIET_MS) saw a large live set, and measured against that
  // alone, the 300 MiB heap the join left behind was never handed back.
  return heapUsed - liveAfterLastCollection >= GROWTH_BYTES || heapTotal - heapUsed >= SPARE_BYTES;
}

/**
 * Schedules a collection QUIET_MS after the last call, if the heap has grown enough by then.
 * What a burst leaves is let go of in steps (a join's last writes, then the rescan after it),
 * so a collection is followed by FOLLOW_UPS more looks, FOLLOW_UP_MS apart.
 */
export function collectGarbageWhenQuiet(): void {
  schedule(QUIET_MS, FOLLOW_UPS);
}

function schedule(delayMs: number, followUps: number): void {
  const gc = collectorOf();
  if (!gc) return;
  if (timer) {
    timer.refresh();
    return;
  }
  timer = setTimeout(() => {
    timer = null;
    if (!worthCollecting()) return;
    // A full collection frees the garbage; 'last-resort' then compacts and returns the freed
    // pages. Either alone left the heap at its size: on its own, 'last-resort' collected nothing
    // the first time it ran (Node 20: 210 MiB of garbage stayed), a plain one kept the pages.
    gc();
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    // What the collection freed outside the JS heap (buffers' memory) goes back too.
    trimNativeHeap();
    liveAfterLastCollection = process.memoryUsage().heapUsed;
    if (followUps > 0) schedule(FOLLOW_UP_MS, followUps - 1);
  }, delayMs);
  timer.unref();
}
