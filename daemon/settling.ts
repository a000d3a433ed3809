// When a path the project does not know yet may be shared. Tools write for themselves next to
// the files they change: `sed -i` writes `sedXXXXXX` and renames it over the file, editors write
// a temporary copy and rename it, generators write and remove scratch files. A new path is
// shared only once nothing has happened to it for a moment, so a file created and renamed away
// or deleted within that moment never leaves the machine. Edits of files the project knows are
// not delayed: this applies to new paths only.

/** A new path is shared once the watcher has reported nothing about it for this long. */
export const SETTLE_QUIET_MS = 300;
/** ...and at the latest this long after it first appeared, even while it keeps changing (a log). */
export const SETTLE_MAX_MS = 3000;

/** What the watcher said about a new path: when it first appeared, when it last changed. */
export interface Settling {
  firstSeen: number;
  lastEvent: number;
}

export type SettleVerdict = { settled: true } | { settled: false; recheckInMs: number };

/** A watcher event for a new path: the path's settling record, started or moved on. */
export function noteEvent(known: Settling | undefined, now: number): Settling {
  return { firstSeen: known?.firstSeen ?? now, lastEvent: now };
}

/**
 * Whether a new path may be shared now. A path the watcher never reported (found by a scan, or
 * already there at share or join) has been on disk since before the scan began: settled.
 */
export function settleVerdict(settling: Settling | undefined, now: number): SettleVerdict {
  if (!settling) return { settled: true };
  const quietFor = now - settling.lastEvent;
  const age = now - settling.firstSeen;
  if (quietFor >= SETTLE_QUIET_MS || age >= SETTLE_MAX_MS) return { settled: true };
  return { settled: false, recheckInMs: Math.max(1, Math.min(SETTLE_QUIET_MS - quietFor, SETTLE_MAX_MS - age)) };
}
