// One loaded Yjs document: its subscribers, its update log writes, its life.
//
//   loading -> ready -> draining -> unloaded
//
// A room that fails to load never becomes ready, so nobody is ever served (or stores) a blank
// doc in place of a real one. Every update is applied, relayed to the other subscribers at
// once, and appended to the log in small batches; `persisted` goes to the senders only after
// their batch committed.
import type { FastifyBaseLogger as Logger } from 'fastify';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import type { Appended, DocStore } from './doc-store.js';
import type { Fanout } from './fanout.js';
import type { ProjectFeeds } from './project-feed.js';
import { roomKey } from './room-key.js';
import type { DocSubscriber, RoomLimits } from './types.js';

export type RoomState = 'loading' | 'ready' | 'draining' | 'unloaded';

export interface RoomDeps {
  store: DocStore;
  fanout: Fanout;
  feeds: ProjectFeeds;
  instanceId: string;
  /** A name for an update, unique across instances, that its fan-out and feed notices carry. */
  nextUpdateId(): string;
  /** Counts an applied update relayed to the subscribers (see metrics.ts). */
  relayed(): void;
  limits: RoomLimits;
  log: Logger;
  /** Called after every applied change, with who made it (for materialised files). */
  onChange(room: Room, userId: string | null): void;
  /** Called when the room gives up (storage failure) so the registry forgets it. */
  onFailed(room: Room): void;
}

interface PendingUpdate {
  update: Uint8Array;
  userId: string | null;
  from: DocSubscriber | null;
  id: string;
}

const APPEND_RETRIES = 5;

/** The state vector of a doc with nothing in it (what Y.encodeStateVector(new Y.Doc()) gives). */
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Map());

export class Room {
  /** Given a guid, Y.Doc skips drawing a random one; nothing here relies on guids (no subdocs). */
  readonly doc: Y.Doc;
  private readonly subscribers = new Set<DocSubscriber>();
  private currentState: RoomState = 'loading';
  /** Transient users (REST writes, the materialiser) that keep the room from unloading. */
  private holds = 0;
  /** The state vector of everything durably stored. */
  persistedStateVector: Uint8Array = EMPTY_STATE_VECTOR;
  /**
   * The text project_files holds for this doc as the materialiser last wrote it, so the next
   * run diffs against it without reading it back. Lives and dies with the room.
   */
  private materialized: { sha256: string; text: string } | null = null;
  private pending: PendingUpdate[] = [];
  private flushing: Promise<void> | null = null;
  private logCount = 0;
  private logBytes = 0;
  private lastSeq = 0;
  private awarenessOfDoc: Awareness | null = null;
  /** A stored remote update arrived while ours were being stored (see applyRemote). */
  private storedElsewhere = false;
  /** Why the room gave up storing, once it has: flush() then fails instead of pretending. */
  private failure: unknown = null;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly projectId: string,
    readonly docName: string,
    private readonly deps: RoomDeps,
  ) {
    this.doc = new Y.Doc({ guid: docName });
  }

  get key(): string {
    return roomKey(this.projectId, this.docName);
  }

  get state(): RoomState {
    return this.currentState;
  }

  /** Ready, and nobody follows or holds it: it may unload. */
  get isIdle(): boolean {
    return this.subscribers.size === 0 && this.holds === 0 && this.currentState === 'ready';
  }

  /** Awareness of this one doc, for y-websocket editor bindings (cursors within a file). */
  get awareness(): Awareness {
    if (!this.awarenessOfDoc) {
      this.awarenessOfDoc = new Awareness(this.doc);
      this.awarenessOfDoc.setLocalState(null);
    }
    return this.awarenessOfDoc;
  }

  /** Reads the stored doc. A room whose load fails unloads at once, so it is never served blank. */
  async load(): Promise<void> {
    try {
      const stored = await this.deps.store.load(this.projectId, this.docName);
      if (stored.update) Y.applyUpdate(this.doc, stored.update, 'storage');
      this.logCount = stored.logCount;
      this.logBytes = stored.logBytes;
      this.lastSeq = stored.lastSeq;
      this.persistedStateVector = Y.encodeStateVector(this.doc);
      this.currentState = 'ready';
    } catch (err) {
      this.currentState = 'unloaded';
      this.destroy();
      throw err;
    }
  }

  /**
   * A subscriber starts following the room, or (null) a transient user takes a hold on it.
   * Either keeps the room loaded until it leaves.
   */
  join(subscriber: DocSubscriber | null): void {
    this.cancelIdleUnload();
    if (subscriber) this.subscribers.add(subscriber);
    else this.holds++;
  }

  leave(subscriber: DocSubscriber | null): void {
    if (subscriber) this.subscribers.delete(subscriber);
    else this.holds--;
  }

  /** Calls `unload` once the room has stayed unused for `ms`; a join in between cancels it. */
  scheduleIdleUnload(ms: number, unload: () => void): void {
    this.cancelIdleUnload();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      unload();
    }, ms);
    // An idle room alone must not keep the process alive.
    this.idleTimer.unref();
  }

  private cancelIdleUnload(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** The text last materialised, if project_files still holds that version (`storedSha256`). */
  materializedText(storedSha256: string | null): string | null {
    return this.materialized && this.materialized.sha256 === storedSha256 ? this.materialized.text : null;
  }

  /** Once stored, the text the materialiser's next run diffs against; an unloaded room keeps none. */
  rememberMaterialized(sha256: string, text: string): void {
    if (this.currentState !== 'unloaded') this.materialized = { sha256, text };
  }

  /** The next run reads the previous text back from project_files, as after an unload. */
  forgetMaterialized(): void {
    this.materialized = null;
  }

  /**
   * Applies a validated update from a client: relay first (latency), then persist. The raw
   * update is what gets stored and relayed, so even structs the doc cannot integrate yet
   * (missing dependencies) are kept and forwarded, never dropped.
   */
  applyUpdate(update: Uint8Array, userId: string | null, from: DocSubscriber | null): void {
    Y.applyUpdate(this.doc, update, from ?? 'server');
    for (const subscriber of this.subscribers) {
      if (subscriber !== from) subscriber.sendUpdate(this.docName, update);
    }
    const id = this.deps.nextUpdateId();
    this.deps.feeds.relay(this.projectId, id, this.docName, update, from);
    this.deps.fanout.publish({ kind: 'update', instanceId: this.deps.instanceId, projectId: this.projectId, docName: this.docName, update, id, userId });
    this.deps.relayed();
    this.pending.push({ update, userId, from, id });
    this.scheduleFlush();
    this.deps.onChange(this, userId);
  }

  /** A change made by the server itself (a REST write), as one update through the same path. */
  transact(change: (doc: Y.Doc) => void, userId: string): void {
    const before = Y.encodeStateVector(this.doc);
    const scratch = new Y.Doc({ guid: this.docName });
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(this.doc));
    change(scratch);
    const update = Y.encodeStateAsUpdate(scratch, before);
    scratch.destroy();
    this.applyUpdate(update, userId, null);
  }

  /**
   * An update another instance applied: apply and relay, do not store again. One already
   * `stored` is part of what `persisted` may claim: a client that has it (from the project
   * feed, say) waits for a persisted state vector that covers it, and this room may have
   * nothing of its own to append, ever, that would carry it.
   */
  applyRemote(update: Uint8Array, stored: boolean): void {
    Y.applyUpdate(this.doc, update, 'fanout');
    if (stored && !this.hasUnpersisted) this.persistedStateVector = Y.encodeStateVector(this.doc);
    // Arriving while a batch of ours is stored, it is not in that batch's state vector.
    else if (stored) this.storedElsewhere = true;
    for (const subscriber of this.subscribers) subscriber.sendUpdate(this.docName, update);
    // A missed message leaves structs waiting for their dependencies: read them from the log.
    if (this.doc.store.pendingStructs) void this.catchUp();
  }

  private async catchUp(): Promise<void> {
    try {
      const missed = await this.deps.store.readSince(this.projectId, this.docName, this.lastSeq);
      for (const row of missed) {
        Y.applyUpdate(this.doc, row.update, 'storage');
        for (const subscriber of this.subscribers) subscriber.sendUpdate(this.docName, row.update);
        this.lastSeq = Math.max(this.lastSeq, row.seq);
      }
    } catch (err) {
      this.deps.log.warn({ err, doc: this.docName }, 'catch-up from the update log failed');
    }
  }

  /** Resolves once every update applied so far is durably stored; rejects if it never will be. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.failure) throw new Error(`${this.docName} could not be stored: the update log is unavailable`, { cause: this.failure });
  }

  get hasUnpersisted(): boolean {
    return this.pending.length > 0 || this.flushing !== null;
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    // One tick of batching: updates that arrive together are appended together.
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.writePending())
      .finally(() => {
        this.flushing = null;
        // Ours all stored (a compaction may have run since the last batch), and the rest came stored.
        if (this.pending.length === 0 && this.storedElsewhere && this.failure === null) {
          this.persistedStateVector = Y.encodeStateVector(this.doc);
          this.storedElsewhere = false;
        }
        if (this.pending.length > 0 && this.currentState !== 'unloaded') this.scheduleFlush();
      });
  }

  private async writePending(): Promise<void> {
    while (this.pending.length > 0 && this.currentState !== 'unloaded') {
      const batch = this.pending;
      this.pending = [];
      const stateVector = Y.encodeStateVector(this.doc);
      let appended: Appended | undefined;
      for (let attempt = 1; appended === undefined; attempt++) {
        try {
          appended = await this.deps.store.append(
            this.projectId,
            this.docName,
            batch.map(({ update, userId }) => ({ update, userId })),
          );
        } catch (err) {
          if (attempt >= APPEND_RETRIES) {
            this.announceStored(batch, null);
            this.fail(err);
            return;
          }
          this.deps.log.warn({ err, doc: this.docName, attempt }, 'appending to the update log failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        }
      }
      this.lastSeq = Math.max(this.lastSeq, appended.seq);
      this.announceStored(batch, { from: appended.fromProjectSeq, to: appended.toProjectSeq });
      this.persistedStateVector = stateVector;
      this.logCount += batch.length;
      for (const { update } of batch) this.logBytes += update.byteLength;
      if (this.pending.length === 0 && this.storedElsewhere) {
        // Ours all stored, and the rest came stored: all of the doc is.
        this.persistedStateVector = Y.encodeStateVector(this.doc);
        this.storedElsewhere = false;
      }
      const senders = new Set(batch.map((p) => p.from).filter((s): s is DocSubscriber => s !== null));
      for (const sender of senders) sender.sendPersisted(this.docName, this.persistedStateVector);
    }
    if (this.logCount >= this.deps.limits.compactAfterUpdates || this.logBytes >= this.deps.limits.compactAfterBytes) {
      await this.compact();
    }
  }

  /** The project feed here and on the other instances learns which numbers the batch took. */
  private announceStored(batch: PendingUpdate[], range: { from: number; to: number } | null): void {
    const ids = batch.map((pending) => pending.id);
    this.deps.feeds.committed(this.projectId, ids, range);
    const updates = batch.map(({ update, userId }) => ({ docName: this.docName, update, userId }));
    this.deps.fanout.publish({ kind: 'committed', instanceId: this.deps.instanceId, projectId: this.projectId, ids, range, updates });
  }

  async compact(): Promise<void> {
    try {
      await this.deps.store.compact(this.projectId, this.docName);
      this.logCount = 0;
      this.logBytes = 0;
    } catch (err) {
      this.deps.log.warn({ err, doc: this.docName }, 'compaction failed; the log is kept as it is');
    }
  }

  /**
   * Storage refused our appends: what is in memory is not durable. Drop every subscriber so
   * their clients reconnect and resend by state vector against the stored state.
   */
  private fail(err: unknown): void {
    this.deps.log.error({ err, doc: this.docName }, 'update log unavailable; unloading the doc');
    this.failure = err;
    this.currentState = 'unloaded';
    if (this.pending.length > 0) this.announceStored(this.pending, null);
    this.pending = [];
    for (const subscriber of this.subscribers) subscriber.abort('storage failure');
    this.subscribers.clear();
    this.destroy();
    this.deps.onFailed(this);
  }

  /** Waits until everything applied is stored, then frees the doc. */
  async drain(): Promise<void> {
    this.currentState = 'draining';
    await this.flush();
    if (this.logCount >= Math.max(1, this.deps.limits.compactOnUnloadAfterUpdates) && this.currentState === 'draining') await this.compact();
    this.currentState = 'unloaded';
    this.destroy();
  }

  destroy(): void {
    this.cancelIdleUnload();
    this.awarenessOfDoc?.destroy();
    this.doc.destroy();
  }
}
