// A @parcel/watcher subscription that does not lose events.
//
// @parcel/watcher (2.6.0, all platforms) can drop an event: Watcher::triggerCallbacks copies its
// list of pending events and then clears it, taking the list's lock once for each, while the
// backend's thread adds events under neither of the Watcher's locks. An event added between the
// copy and the clear is gone, and nothing reports that file until the daemon's next rescan, tens
// of seconds later (read in the source; likely what a test saw once under load: the second of two
// saves in one folder, made just as the first was handed over, reported 25 s late). The window
// is the moment a batch is delivered, in any folder.
//
// A second subscription of the same folder with an ignore list of its own is a second Watcher,
// with a pending list of its own. It costs no kernel watch (inotify gives the same descriptor
// for a folder watched twice) and no second tree (DirTree::getCached shares one per folder).
// Its events are only counted: a path it reported more often than the first subscription did,
// once both have had time to deliver that moment's batch, was dropped by the first, and is handed
// on as a batch of its own. Both dropping the same event would need two such moments at once.
import { join } from 'node:path';
import type { AsyncSubscription, Event } from '@parcel/watcher';
import type { Logger } from 'pino';

type Parcel = typeof import('@parcel/watcher');
type Deliver = (err: Error | null, events: Event[]) => void;

/**
 * How long a path's counts wait to settle. The two subscriptions are handed their batches one
 * after the other, so an event that comes in between goes to the second now and to the first
 * with its next batch, which in a stream of events is @parcel/watcher's 500 ms later.
 */
export const AUDIT_DELAY_MS = 1_500;
/** A name the audit ignores and the first subscription does not, so @parcel/watcher does not share one Watcher for both. */
const AUDIT_ONLY_IGNORED = '.codeshare-watch-audit';

export async function subscribeAudited(parcel: Parcel, abs: string, ignore: string[], deliver: Deliver, log: Logger): Promise<AsyncSubscription> {
  const tally = new EventTally((lost, unseen) => {
    // Unseen: the first subscription never said the path. Otherwise the two may only have cut one
    // file's create and write into batches differently (a few in 10,000 files of a burst).
    log[unseen > 0 ? 'info' : 'debug']({ events: lost.length, unseen, first: lost[0]!.path }, 'the native watcher dropped events its audit saw; reporting them now');
    deliver(null, lost);
  });
  const primary = await parcel.subscribe(
    abs,
    (err, events) => {
      if (!err) tally.count(events, -1);
      deliver(err, events);
    },
    { ignore },
  );
  // Its errors are the first subscription's too, and reported there.
  const audit = await parcel
    .subscribe(abs, (err, events) => err || tally.count(events, +1), { ignore: [...ignore, join(abs, AUDIT_ONLY_IGNORED)] })
    .catch(async (err: unknown) => {
      await primary.unsubscribe();
      throw err;
    });
  return {
    unsubscribe: async () => {
      tally.close();
      await Promise.all([primary.unsubscribe(), audit.unsubscribe()]);
    },
  };
}

/** Reports of each path, the audit's counted up and the first subscription's down (see the header). */
export class EventTally {
  /** By path: the audit's reports less the first subscription's, the first's alone, when last reported, and the audit's last event. */
  private readonly paths = new Map<string, { net: number; primary: number; at: number; last: Event | null }>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly lost: (events: Event[], unseen: number) => void) {}

  count(events: Event[], by: 1 | -1): void {
    if (this.closed) return;
    const now = Date.now();
    for (const event of events) {
      const entry = this.paths.get(event.path) ?? { net: 0, primary: 0, at: now, last: null };
      entry.net += by;
      if (by < 0) entry.primary += 1;
      entry.at = now;
      if (by > 0) entry.last = event;
      this.paths.set(event.path, entry);
    }
    this.timer ??= setTimeout(() => this.settle(), AUDIT_DELAY_MS);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.paths.clear();
  }

  /**
   * Paths quiet for long enough are settled: those the audit saw more often were dropped. A path
   * still being written settles later; a dropped event followed by another for the same path
   * lost nothing (an event only says "read this path again"), and is said once more at worst.
   */
  private settle(): void {
    this.timer = null;
    if (this.closed) return;
    const now = Date.now();
    const lost: Event[] = [];
    let unseen = 0;
    for (const [path, entry] of this.paths) {
      if (now - entry.at < AUDIT_DELAY_MS) continue;
      if (entry.net > 0 && entry.last) {
        lost.push(entry.last);
        if (entry.primary === 0) unseen += 1;
      }
      this.paths.delete(path);
    }
    if (this.paths.size > 0) this.timer = setTimeout(() => this.settle(), AUDIT_DELAY_MS);
    if (lost.length > 0) this.lost(lost, unseen);
  }
}
