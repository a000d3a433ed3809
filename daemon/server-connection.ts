// The daemon's side of the multiplexed protocol: one WebSocket per project, the docs it
// follows, reconnection with backoff and jitter, and which local edits the server has
// acknowledged as stored.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import {
  CloseCode,
  INDEX_DOC,
  PROTOCOL_VERSION,
  decodeFrame,
  encodeAwareness,
  encodeFeedSubscribe,
  encodeSyncStep1,
  encodeSyncStep1FromStateVector,
  encodeSyncStep2,
  encodeUpdate,
  isFatalCloseCode,
  messageAwareness,
  messageDenied,
  messageFeedPosition,
  messageFeedResync,
  messagePersisted,
  messageSync,
} from '../common/protocol.js';
import type { ConnectionState } from '../common/control-protocol.js';
import { FeedProgress } from './feed-progress.js';
import { REMOTE_ORIGIN, isFromServer } from './origins.js';

/** An unsaved doc the server answered without acknowledging it for this long is asked again. */
const PERSISTED_RECHECK_MS = 2000;
/** ...and one whose last frame the server has not answered at all, after this long. */
const UNANSWERED_RECHECK_MS = 30_000;
/**
 * A doc's update goes out at once when the doc sent nothing for this long; updates closer
 * together than that (a burst of thousands of files is thousands of index changes) wait this
 * long and leave merged as one, so the server stores, and teammates apply, one update.
 */
const COALESCE_MS = 8;
/** ...unless this much is waiting: a merged update stays far below the server's frame limit. */
const COALESCE_MAX_BYTES = 256 * 1024;

export { REMOTE_ORIGIN };

export type { ConnectionState };

interface FollowedDoc {
  doc: Y.Doc;
  /** The server's state has been received by a sync of this doc since the last (re)connect. */
  synced: boolean;
  /** The doc's state vector when we last sent something; cleared by a covering `persisted`. */
  unsavedSince: Map<number, number> | null;
  /** When we last sent this doc anything (an update, a sync step 1). */
  lastSentAt: number;
  /** We sent the doc something the server has not answered yet (a persisted, a sync step). */
  awaitingAnswer: boolean;
  /** Updates waiting to leave merged (see COALESCE_MS), and their size. */
  queued: Uint8Array[];
  queuedBytes: number;
  flushTimer: NodeJS.Timeout | null;
  onUpdate: (update: Uint8Array, origin: unknown) => void;
}

export interface ServerConnectionOptions {
  serverUrl: string;
  token: string;
  projectId: string;
  log: Logger;
  /** The Yjs client id of this folder's docs: presence uses it too, so teammates can name the text it writes. */
  clientId?: number;
  minReconnectMs?: number;
  maxReconnectMs?: number;
}

export interface ServerConnectionEvents {
  state: [ConnectionState, string | undefined];
  /** A doc's own sync (see requestSync) brought the server's state of it. */
  synced: [string];
  persisted: [string];
  denied: [string, string];
  /** An update of a doc this connection does not hold in memory (see FileDocs). */
  foreign: [string, Uint8Array];
  /** Everything of the project up to this feed position has arrived (and is stored by the server). */
  position: [number];
  /** The server asks to sync a doc not in memory by state vector (see resyncFromStateVector). */
  resync: [string];
}

export class ServerConnection extends EventEmitter<ServerConnectionEvents> {
  readonly awareness: Awareness;
  state: ConnectionState = 'offline';
  refusedReason: string | undefined;
  private socket: WebSocket | null = null;
  private readonly docs = new Map<string, FollowedDoc>();
  /** Names of followed docs whose `unsavedSince` is set: status reads its size on every ack. */
  private readonly unsaved = new Set<string>();
  /** whenSynced callers, by doc. */
  private readonly syncWaiters = new Map<string, (() => void)[]>();
  private readonly feed: FeedProgress;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private persistedCheck: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: ServerConnectionOptions) {
    super();
    this.feed = new FeedProgress(options.log, (position) => this.emit('position', position));
    const presence = new Y.Doc();
    if (options.clientId !== undefined) presence.clientID = options.clientId;
    this.awareness = new Awareness(presence);
    this.awareness.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
      if (origin === REMOTE_ORIGIN) return;
      const changed = [...added, ...updated, ...removed];
      if (this.state === 'online') this.send(encodeAwareness(INDEX_DOC, encodeAwarenessUpdate(this.awareness, changed)));
    });
  }

  get wsUrl(): string {
    const base = this.options.serverUrl.replace(/^http/, 'ws').replace(/\/+$/, '');
    return `${base}/api/projects/${encodeURIComponent(this.options.projectId)}/ws?protocol=${PROTOCOL_VERSION}`;
  }

  start(): void {
    this.stopped = false;
    this.connect();
    this.persistedCheck ??= setInterval(() => this.askAgainWhetherPersisted(), PERSISTED_RECHECK_MS);
    this.persistedCheck.unref();
  }

  /**
   * The server says `persisted` after a batch it stored from us, and on subscribe only when it
   * has nothing unstored at that moment. A doc that is unsaved here for a reason the server
   * never answers (loaded from the local store after a restart while a teammate's updates to
   * it were in flight, a reconnect, an update the server already had) would stay "unsaved"
   * forever. Asking again with a sync step 1 gets a fresh answer, and resends anything the
   * server lacks.
   */
  private askAgainWhetherPersisted(): void {
    if (this.state !== 'online') return;
    const now = Date.now();
    for (const docName of this.unsaved) {
      const followed = this.docs.get(docName)!;
      // A doc whose last frame the server has not answered yet is not asked again: a busy
      // server (a share of 10,000 files) was sent every doc two and three times over.
      const waited = now - followed.lastSentAt;
      if (!this.feed.caughtUp || waited < (followed.awaitingAnswer ? UNANSWERED_RECHECK_MS : PERSISTED_RECHECK_MS)) continue;
      this.sendDoc(followed, encodeSyncStep1(docName, followed.doc));
    }
  }

  private sendDoc(followed: FollowedDoc, frame: Uint8Array): void {
    followed.lastSentAt = Date.now();
    followed.awaitingAnswer = true;
    this.send(frame);
  }

  /** The feed position this folder has stored: the catch-up of the next connect starts there. */
  setFeedPosition(position: number): void {
    this.feed.position = position;
  }

  /** The feed has caught up since the last (re)connect: the server's state of every doc is here. */
  get caughtUp(): boolean {
    return this.feed.caughtUp;
  }

  whenCaughtUp(): Promise<void> {
    return this.feed.whenCaughtUp();
  }

  /**
   * Holds a doc in memory against the server: its local changes go out, the feed's updates
   * come into it. `unsaved`: it holds changes the server may lack (made here, or stored here
   * unacknowledged before a restart), sent now and after every reconnect until acknowledged.
   */
  follow(docName: string, doc: Y.Doc, unsaved: boolean): void {
    if (this.docs.has(docName)) return;
    const followed: FollowedDoc = {
      doc,
      synced: false,
      unsavedSince: null,
      lastSentAt: 0,
      awaitingAnswer: false,
      queued: [],
      queuedBytes: 0,
      flushTimer: null,
      onUpdate: (update, origin) => {
        if (isFromServer(origin)) return;
        this.markUnsaved(docName, followed);
        if (this.state === 'online') this.sendUpdate(docName, followed, update);
      },
    };
    doc.on('update', followed.onUpdate);
    this.docs.set(docName, followed);
    // An empty doc holds nothing the server could lack.
    if (!unsaved || doc.store.clients.size === 0) return;
    this.markUnsaved(docName, followed);
    // The whole state in one update: the server stores what it lacks and acknowledges.
    if (this.state === 'online') this.sendDoc(followed, encodeUpdate(docName, Y.encodeStateAsUpdate(doc)));
  }

  /** Asks the server for its state of a held doc (once per connect); 'synced' says it came. */
  requestSync(docName: string): void {
    const followed = this.docs.get(docName);
    if (followed && !followed.synced && this.state === 'online') this.sendDoc(followed, encodeSyncStep1(docName, followed.doc));
  }

  private sendUpdate(docName: string, followed: FollowedDoc, update: Uint8Array): void {
    if (followed.queued.length === 0 && Date.now() - followed.lastSentAt >= COALESCE_MS) {
      this.sendDoc(followed, encodeUpdate(docName, update));
      return;
    }
    followed.queued.push(update);
    followed.queuedBytes += update.byteLength;
    if (followed.queuedBytes >= COALESCE_MAX_BYTES) this.flushQueued(docName, followed);
    else followed.flushTimer ??= setTimeout(() => this.flushQueued(docName, followed), COALESCE_MS);
  }

  private flushQueued(docName: string, followed: FollowedDoc): void {
    if (followed.flushTimer) clearTimeout(followed.flushTimer);
    followed.flushTimer = null;
    const queued = followed.queued;
    followed.queued = [];
    followed.queuedBytes = 0;
    if (queued.length === 0 || this.state !== 'online') return;
    this.sendDoc(followed, encodeUpdate(docName, queued.length === 1 ? queued[0]! : Y.mergeUpdates(queued)));
  }

  /** Lets go of a held doc (saved, evicted): the feed's updates of it arrive as 'foreign' then. */
  unfollow(docName: string): void {
    const followed = this.docs.get(docName);
    if (!followed) return;
    this.flushQueued(docName, followed);
    followed.doc.off('update', followed.onUpdate);
    this.docs.delete(docName);
    this.unsaved.delete(docName);
  }

  /** Exchanges the doc's state with the server again: each side receives what it lacks. */
  resync(docName: string): void {
    const followed = this.docs.get(docName);
    if (followed && this.state === 'online') this.sendDoc(followed, encodeSyncStep1(docName, followed.doc));
  }

  isSynced(docName: string): boolean {
    return this.docs.get(docName)?.synced ?? false;
  }

  /** Resolves once the server's state of the doc has arrived (after the next connect if offline). */
  whenSynced(docName: string): Promise<void> {
    if (this.isSynced(docName)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.syncWaiters.get(docName);
      if (waiters) waiters.push(resolve);
      else this.syncWaiters.set(docName, [resolve]);
    });
  }

  /** Docs holding local changes the server has not yet confirmed as stored. */
  get unsavedCount(): number {
    return this.unsaved.size;
  }

  isUnsaved(docName: string): boolean {
    return this.unsaved.has(docName);
  }

  private markUnsaved(docName: string, followed: FollowedDoc): void {
    followed.unsavedSince = Y.decodeStateVector(Y.encodeStateVector(followed.doc));
    this.unsaved.add(docName);
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState('connecting');
    const socket = new WebSocket(this.wsUrl, {
      headers: { authorization: `Bearer ${this.options.token}` },
      maxPayload: 64 * 1024 * 1024,
    });
    socket.binaryType = 'nodebuffer';
    this.socket = socket;
    socket.on('open', () => {
      this.attempts = 0;
      this.feed.connected();
      this.setState('online');
      // Everything since our position comes by the feed; what only we have goes by a sync.
      this.send(encodeFeedSubscribe(this.feed.position));
      for (const [docName, followed] of this.docs) {
        followed.synced = false;
        if (this.unsaved.has(docName)) this.sendDoc(followed, encodeSyncStep1(docName, followed.doc));
      }
      const local = this.awareness.getLocalState();
      if (local) this.send(encodeAwareness(INDEX_DOC, encodeAwarenessUpdate(this.awareness, [this.awareness.clientID])));
    });
    socket.on('message', (data: Buffer) => this.onFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    socket.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      if (status === 401 || status === 403 || status === 404) {
        this.refuse(status === 404 ? 'project not found, or you are not a member' : 'the server refused the token: sign in again');
      } else {
        this.options.log.warn({ status }, 'server refused the upgrade');
      }
      socket.terminate();
    });
    socket.on('error', (err) => this.options.log.debug({ err: err.message }, 'connection error'));
    socket.on('close', (code, reason) => {
      if (this.socket !== socket) return;
      this.socket = null;
      for (const followed of this.docs.values()) {
        followed.synced = false;
        // No answer comes on a closed socket; the next connect asks again.
        followed.awaitingAnswer = false;
        // What was queued is resent by the next connect's sync, which sends all the server lacks.
        if (followed.flushTimer) clearTimeout(followed.flushTimer);
        followed.flushTimer = null;
        followed.queued = [];
        followed.queuedBytes = 0;
      }
      if (isFatalCloseCode(code)) {
        this.refuse(`the server closed the connection: ${reason.toString() || code}`);
        return;
      }
      if (this.state !== 'refused') this.scheduleReconnect();
    });
  }

  private refuse(reason: string): void {
    this.refusedReason = reason;
    this.setState('refused', reason);
    this.options.log.error({ reason }, 'server refused this folder');
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.setState('offline');
    const min = this.options.minReconnectMs ?? 250;
    const max = this.options.maxReconnectMs ?? 10_000;
    // Full jitter: a restarted server is not hit by every daemon at the same instant.
    const delay = Math.random() * Math.min(max, min * 2 ** this.attempts);
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private setState(state: ConnectionState, reason?: string): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state, reason);
  }

  private send(frame: Uint8Array): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(frame);
  }

  private onFrame(data: Uint8Array): void {
    let frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'undecodable frame from the server');
      return;
    }
    if (frame.type === messageAwareness) {
      try {
        applyAwarenessUpdate(this.awareness, frame.update, REMOTE_ORIGIN);
      } catch (err) {
        this.options.log.warn({ err: (err as Error).message }, 'bad awareness update from the server');
      }
      return;
    }
    if (frame.type === messageDenied) {
      this.options.log.warn({ doc: frame.docName, reason: frame.reason }, 'the server denied a frame');
      const followed = this.docs.get(frame.docName);
      // A refusal is the server's answer: the recheck may ask again soon.
      if (followed) followed.awaitingAnswer = false;
      this.emit('denied', frame.docName, frame.reason);
      return;
    }
    this.feed.received(data.byteLength);
    if (frame.type === messageFeedPosition) {
      this.feed.positionArrived(frame.position);
      return;
    }
    if (frame.type === messageFeedResync) {
      this.feed.resyncAsked(frame.docName);
      const held = this.docs.get(frame.docName);
      if (held) this.sendDoc(held, encodeSyncStep1(frame.docName, held.doc));
      else this.emit('resync', frame.docName);
      return;
    }
    if (frame.type === messageSync && frame.sync.kind === 'step2') this.feed.step2Arrived(frame.docName);
    const followed = this.docs.get(frame.docName);
    if (!followed) {
      if (frame.type === messageSync && frame.sync.kind !== 'step1') this.emit('foreign', frame.docName, frame.sync.update);
      return;
    }
    if (frame.type === messagePersisted || (frame.type === messageSync && frame.sync.kind !== 'update')) followed.awaitingAnswer = false;
    if (frame.type === messagePersisted) {
      const stored = Y.decodeStateVector(frame.stateVector);
      if (followed.unsavedSince && covers(stored, followed.unsavedSince)) {
        followed.unsavedSince = null;
        this.unsaved.delete(frame.docName);
        this.emit('persisted', frame.docName);
      }
      return;
    }
    if (frame.type !== messageSync) return;
    const sync = frame.sync;
    if (sync.kind === 'step1') {
      this.send(encodeSyncStep2(frame.docName, Y.encodeStateAsUpdate(followed.doc, sync.stateVector)));
      return;
    }
    try {
      Y.applyUpdate(followed.doc, sync.update, REMOTE_ORIGIN);
    } catch (err) {
      this.options.log.warn({ doc: frame.docName, err: (err as Error).message }, 'bad update from the server');
      return;
    }
    if (sync.kind === 'step2' && !followed.synced) {
      followed.synced = true;
      const waiters = this.syncWaiters.get(frame.docName);
      this.syncWaiters.delete(frame.docName);
      for (const resolve of waiters ?? []) resolve();
      this.emit('synced', frame.docName);
    }
  }

  /** A resync the server asked for, of a doc not in memory: its state vector read from the store. */
  resyncFromStateVector(docName: string, stateVector: Uint8Array): void {
    if (this.state === 'online') this.send(encodeSyncStep1FromStateVector(docName, stateVector));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.persistedCheck) clearInterval(this.persistedCheck);
    this.persistedCheck = null;
    for (const [docName] of this.docs) this.unfollowQuietly(docName);
    const socket = this.socket;
    this.socket = null;
    this.awareness.destroy();
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close(1000, 'leaving');
        setTimeout(() => {
          socket.terminate();
          resolve();
        }, 1000).unref();
      });
    }
    this.setState('offline');
  }

  private unfollowQuietly(docName: string): void {
    const followed = this.docs.get(docName);
    if (followed) this.flushQueued(docName, followed);
    if (followed) followed.doc.off('update', followed.onUpdate);
    this.docs.delete(docName);
  }
}

function covers(stored: Map<number, number>, needed: Map<number, number>): boolean {
  for (const [client, clock] of needed) if ((stored.get(client) ?? 0) < clock) return false;
  return true;
}

export { CloseCode };
