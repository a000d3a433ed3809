// After a burst of work (a share, a join, a rescan, a teammate's checkout; on the server a bulk
// upload or rooms unloading) the heap holds what the burst allocated until V8 decides to
// collect, and V8 sizes the heap by its high-water mark: a daemon idle after a 10,000-file join
// held 125 MiB of heap of which 43 MiB were live. Once the process has had nothing to do for a
// moment, one compacting collection hands the garbage back. It runs only when the heap grew by
// GROWTH_BYTES since the last one, so a user saving a file now and then costs no collections.
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { trimNativeHeap } from './native-heap.js';

const QUIET_MS = 2000;
const GROWTH_BYTES = 16 * 1024 * 1024;
/** An old generation with this much room beyond what it uses is collected (a compacting collection returns it). */
const SPARE_BYTES = 16 * 1024 * 1024;
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

/**
 * Pages the heap holds beyond what it uses, the young generation aside: its semi-spaces stay
 * committed whatever a collection does (32 MiB once anything allocated quickly), and counted in,
 * they hid 31 MiB of old-generation pages a server kept after a share.
 */
function spareBytes(): number {
  let spare = 0;
  for (const space of getHeapSpaceStatistics()) if (!space.space_name.startsWith('new_')) spare += space.physical_space_size - space.space_used_size;
  return spare;
}

/** Whether a collection would hand anything back. */
function worthCollecting(): boolean {
  const { heapUsed } = process.memoryUsage();
  // Grown since the last collection, or holding far more than it uses: a collection in the
  // middle of a join (a pause of QUIET_MS) saw a large live set, and measured against that
  // alone, the 300 MiB heap the join left behind was never handed back.
  return heapUsed - liveAfterLastCollection >= GROWTH_BYTES || spareBytes() >= SPARE_BYTES;
}

/**
 * Schedules a collection QUIET_MS after the last call, if the heap has grown enough by then.
 * What a burst leaves is let go of in steps (a join's last writes, then the rescan after it),
 * so the look is followed by FOLLOW_UPS more, FOLLOW_UP_MS apart.
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
    if (worthCollecting()) {
      // A full collection frees the garbage; 'last-resort' then compacts and returns the freed
      // pages. Either alone left the heap at its size: on its own, 'last-resort' collected
      // nothing the first time it ran (Node 20: 210 MiB of garbage stayed), a plain one kept the pages.
      gc();
      gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      liveAfterLastCollection = process.memoryUsage().heapUsed;
    }
    // What was freed outside the JS heap goes back too, at every look: buffers freed by this
    // collection or by V8's own since the last look. glibc keeps the top of its heap once a large
    // free has raised its trim threshold (a server 30 s after a share held 73 MiB so, trimmed to 8).
    trimNativeHeap();
    if (followUps > 0) schedule(FOLLOW_UP_MS, followUps - 1);
  }, delayMs);
  timer.unref();
}
