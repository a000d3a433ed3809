// The project feed (DESIGN.md, Scale): a daemon follows every doc of its project through one
// subscription instead of one per file. Each update is relayed to the project's subscribers
// the moment it is applied (latency first, no number yet); once its append committed, its
// project_seq moves the feed position, and subscribers are told "you have everything up to N".
// A subscriber states the position it already has and is caught up from the log (and from
// the snapshots of docs compacted since) before it is told any position.
//
// Why the position is safe to send: every update is "in flight" from the moment it is relayed
// until its numbers are known. A new subscriber is sent everything in flight first, then reads
// the stored position C and everything up to C; an update committed later was in flight at
// that moment (sent) or relayed after it (sent). Positions only move over contiguous numbers;
// a hole left by a message that never came (another instance's) is filled from the log.
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { FeedRow } from './doc-store.js';
import { collectGarbageWhenQuiet } from '../../common/idle-gc.js';
import type { Fanout } from './fanout.js';
import { SeqRanges, type SeqRange } from './seq-ranges.js';

export interface FeedSubscriber {
  sendUpdate(docName: string, update: Uint8Array): void;
  /** The doc's log was compacted past the subscriber's position: it syncs the doc by state vector. */
  sendResync(docName: string): void;
  sendFeedPosition(position: number): void;
  /** Resolves when the socket's send buffer has room again (a catch-up streams a project). */
  whenWritable(): Promise<void>;
}

export interface FeedStore {
  feedPosition(projectId: string): Promise<number>;
  feedRows(projectId: string, after: number, upto: number, limit: number): Promise<FeedRow[]>;
  feedSnapshots(projectId: string, since: number, afterDoc: string, limit: number): Promise<{ doc_name: string; state: Uint8Array }[]>;
  feedCompactedDocs(projectId: string, since: number, afterDoc: string, limit: number): Promise<string[]>;
}

interface InFlight {
  docName: string;
  update: Uint8Array;
}


/** Rows or snapshots read per statement during a catch-up. */
const CATCH_UP_PAGE = 500;
/** A hole in the numbers this long is read from the log instead of waited for. */
const GAP_WAIT_MS = 500;

class ProjectFeed {
  readonly subscribers = new Map<FeedSubscriber, { caughtUp: boolean }>();
  readonly inFlight = new Map<string, InFlight>();
  /**
   * The position (everything up to it is stored and was sent to every caught-up subscriber)
   * and the committed ranges past it; null while nobody follows.
   */
  private received: SeqRanges | null = null;
  /** Ranges committed while the first subscriber was reading the stored position. */
  private early: SeqRange[] = [];
  private gapTimer: NodeJS.Timeout | null = null;
  private filling = false;

  constructor(
    readonly projectId: string,
    private readonly store: FeedStore,
    private readonly log: Logger,
  ) {}

  get isUnused(): boolean {
    return this.subscribers.size === 0 && this.inFlight.size === 0;
  }

  relay(id: string, docName: string, update: Uint8Array, from: unknown): void {
    this.inFlight.set(id, { docName, update });
    for (const subscriber of this.subscribers.keys()) if (subscriber !== from) subscriber.sendUpdate(docName, update);
  }

  committed(ids: string[], range: SeqRange | null): void {
    for (const id of ids) this.inFlight.delete(id);
    if (!range || this.subscribers.size === 0) return;
    if (!this.received) this.early.push(range);
    else this.moved(this.received.add(range));
  }

  /** After the ranges changed: a new position to the caught-up subscribers, a hole to wait for (or not). */
  private moved(positionMoved: boolean): void {
    const received = this.received;
    if (!received) return;
    if (positionMoved) {
      for (const [subscriber, state] of this.subscribers) if (state.caughtUp) subscriber.sendFeedPosition(received.position);
    }
    if (!received.hole) {
      if (this.gapTimer) clearTimeout(this.gapTimer);
      this.gapTimer = null;
    } else {
      this.gapTimer ??= setTimeout(() => void this.fillGap(), GAP_WAIT_MS);
      this.gapTimer.unref();
    }
  }

  /** The numbers before the first committed range never came: read them from the log. */
  private async fillGap(): Promise<void> {
    this.gapTimer = null;
    const hole = this.received?.hole;
    if (this.filling || !hole) return;
    this.filling = true;
    let filled = false;
    try {
      const upto = hole.to;
      let after = hole.from - 1;
      while (after < upto) {
        const rows = await this.store.feedRows(this.projectId, after, upto, CATCH_UP_PAGE);
        if (rows.length === 0) break;
        for (const row of rows) for (const subscriber of this.subscribers.keys()) subscriber.sendUpdate(row.doc_name, row.update);
        after = rows.at(-1)!.project_seq;
      }
      // Rows compacted meanwhile are in their docs' snapshots.
      for (let afterDoc = ''; ; ) {
        const snapshots = await this.store.feedSnapshots(this.projectId, Math.max(hole.from - 1, 1), afterDoc, CATCH_UP_PAGE);
        if (snapshots.length === 0) break;
        for (const snapshot of snapshots) for (const subscriber of this.subscribers.keys()) subscriber.sendUpdate(snapshot.doc_name, snapshot.state);
        afterDoc = snapshots.at(-1)!.doc_name;
      }
      filled = this.received?.add({ from: this.received.position + 1, to: upto }) ?? false;
    } catch (err) {
      this.log.warn({ err, projectId: this.projectId }, 'reading a hole of the project feed from the log failed; trying again');
    } finally {
      this.filling = false;
      this.moved(filled);
    }
  }

  /** A subscriber that has everything up to `since` (0: nothing) is caught up, then follows. */
  async subscribe(subscriber: FeedSubscriber, since: number): Promise<void> {
    this.subscribers.set(subscriber, { caughtUp: false });
    for (const { docName, update } of this.inFlight.values()) subscriber.sendUpdate(docName, update);
    const stored = await this.store.feedPosition(this.projectId);
    if (!this.received) {
      this.received = new SeqRanges(stored);
      for (const range of this.early.splice(0)) this.received.add(range);
    }
    let start = since;
    if (since > stored) {
      // The client is ahead of this server (a database restored from an older backup): it
      // gets the whole project, and its own unsaved docs resend what the server lacks.
      this.log.warn({ projectId: this.projectId, since, stored }, 'a client states a feed position the server never reached');
      start = 0;
    }
    await this.sendStored(subscriber, start, stored);
    // A catch-up from 0 read and sent the whole project: that garbage goes once all is quiet.
    if (stored - start > 1000) collectGarbageWhenQuiet();
    const state = this.subscribers.get(subscriber);
    if (!state) return;
    state.caughtUp = true;
    subscriber.sendFeedPosition(Math.max(this.received?.position ?? stored, stored));
    this.moved(false);
  }

  /** Everything stored after `since` up to `upto`: log rows first, then the docs compacted since (see below). */
  private async sendStored(subscriber: FeedSubscriber, since: number, upto: number): Promise<void> {
    // Rows before snapshots: a compaction that folds a row in after it was read leaves a
    // snapshot read later that holds it; read the other way round, it could be missed.
    for (let after = since; after < upto && this.subscribers.has(subscriber); ) {
      const rows = await this.store.feedRows(this.projectId, after, upto, CATCH_UP_PAGE);
      if (rows.length === 0) break;
      for (const row of rows) subscriber.sendUpdate(row.doc_name, row.update);
      after = rows.at(-1)!.project_seq;
      await subscriber.whenWritable();
    }
    if (since === 0) {
      // Nothing to compare with: every snapshot, whole.
      for (let afterDoc = ''; this.subscribers.has(subscriber); ) {
        const snapshots = await this.store.feedSnapshots(this.projectId, since, afterDoc, CATCH_UP_PAGE);
        if (snapshots.length === 0) break;
        for (const snapshot of snapshots) subscriber.sendUpdate(snapshot.doc_name, snapshot.state);
        afterDoc = snapshots.at(-1)!.doc_name;
        await subscriber.whenWritable();
      }
      return;
    }
    // A doc compacted since: the subscriber holds most of it (the index of a large project is
    // megabytes), so it is synced by state vector and only what it lacks moves.
    for (let afterDoc = ''; this.subscribers.has(subscriber); ) {
      const docs = await this.store.feedCompactedDocs(this.projectId, since, afterDoc, CATCH_UP_PAGE);
      if (docs.length === 0) break;
      for (const docName of docs) subscriber.sendResync(docName);
      afterDoc = docs.at(-1)!;
    }
  }

  unsubscribe(subscriber: FeedSubscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size > 0) return;
    // Nobody follows: the next subscriber reads the position from the store again.
    this.received = null;
    this.early = [];
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
  }
}

/** The feeds of the projects this instance relays for, made when used, dropped when unused. */
export class ProjectFeeds {
  private readonly feeds = new Map<string, ProjectFeed>();
  /** Subscribers for whom the project's fan-out is followed (see subscribe). */
  private readonly following = new Map<FeedSubscriber, string>();
  private readonly starting = new Set<FeedSubscriber>();
  private readonly leftWhileStarting = new Set<FeedSubscriber>();

  constructor(
    private readonly store: FeedStore,
    private readonly fanout: Pick<Fanout, 'follow' | 'unfollow'>,
    private readonly log: Logger,
  ) {}

  private feed(projectId: string): ProjectFeed {
    let feed = this.feeds.get(projectId);
    if (!feed) {
      feed = new ProjectFeed(projectId, this.store, this.log);
      this.feeds.set(projectId, feed);
    }
    return feed;
  }

  private dropIfUnused(feed: ProjectFeed): void {
    if (feed.isUnused && this.feeds.get(feed.projectId) === feed) this.feeds.delete(feed.projectId);
  }

  /** An update applied here (`from` its sender, not sent it back) or on another instance. */
  relay(projectId: string, id: string, docName: string, update: Uint8Array, from: unknown): void {
    this.feed(projectId).relay(id, docName, update, from);
  }

  /** The updates `ids` are stored as `range` of the project's numbers (null: they never will be). */
  committed(projectId: string, ids: string[], range: SeqRange | null): void {
    const feed = this.feeds.get(projectId);
    if (!feed) return;
    feed.committed(ids, range);
    this.dropIfUnused(feed);
  }

  /** The other instances' updates are followed before the stored position is read: none falls between. */
  async subscribe(projectId: string, subscriber: FeedSubscriber, since: number): Promise<void> {
    this.starting.add(subscriber);
    try {
      await this.fanout.follow(projectId);
    } catch (err) {
      this.leftWhileStarting.delete(subscriber);
      throw err;
    } finally {
      this.starting.delete(subscriber);
    }
    if (this.leftWhileStarting.delete(subscriber)) {
      this.fanout.unfollow(projectId);
      return;
    }
    this.following.set(subscriber, projectId);
    return this.feed(projectId).subscribe(subscriber, since);
  }

  unsubscribe(projectId: string, subscriber: FeedSubscriber): void {
    if (this.starting.has(subscriber)) this.leftWhileStarting.add(subscriber);
    if (this.following.delete(subscriber)) this.fanout.unfollow(projectId);
    const feed = this.feeds.get(projectId);
    if (!feed) return;
    feed.unsubscribe(subscriber);
    this.dropIfUnused(feed);
  }

  /** Subscribers across projects, for /metrics and tests. */
  get subscriberCount(): number {
    let count = 0;
    for (const feed of this.feeds.values()) count += feed.subscribers.size;
    return count;
  }
}
