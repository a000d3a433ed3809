// One client's socket on the multiplexed endpoint: many docs of one project over one
// WebSocket. Frames of one doc are handled in order; different docs proceed independently,
// so a slow first load of one file never holds up edits to another.
import type { FastifyBaseLogger as Logger } from 'fastify';
import * as Y from 'yjs';
import {
  CloseCode,
  INDEX_DOC,
  MalformedFrameError,
  decodeFrame,
  encodeAwareness,
  encodeDenied,
  encodeFeedPosition,
  encodeFeedResync,
  encodePersisted,
  encodeSyncStep1FromStateVector,
  encodeSyncStep2,
  encodeUpdate,
  FEED_DOC,
  isValidDocName,
  messageAwareness,
  messageFeedSubscribe,
  messageSync,
  messageUnsubscribe,
  type Frame,
  type SyncMessage,
} from '../../common/protocol.js';
import type { Role } from '../../db/schema.js';
import type { ProjectHub, ProjectHubs, PresenceMember } from './project-hub.js';
import { TokenBucket } from './rate-limit.js';
import type { Room } from './room.js';
import type { RoomRegistry } from './room-registry.js';
import type { FeedSubscriber } from './project-feed.js';
import type { ConnectionLimits, DocSubscriber, WebSocketLike } from './types.js';
import { validateUpdate } from './validate-update.js';

export interface ConnectionContext {
  projectId: string;
  userId: string;
  username: string;
  role: Role | null;
  registry: RoomRegistry;
  hubs: ProjectHubs;
  limits: ConnectionLimits;
  log: Logger;
}

class FrameRefused extends Error {
  constructor(
    readonly docName: string,
    message: string,
    readonly close?: { code: number; reason: string },
  ) {
    super(message);
  }
}

/** A catch-up waits while this much is queued on the socket, so a large project is streamed, not buffered. */
/** The state vector of an empty doc (see handleSync). */
const NOTHING_STORED = Y.encodeStateVector(new Map());
const SEND_BUFFER_BYTES = 4 * 1024 * 1024;

export class ProjectConnection implements DocSubscriber, PresenceMember, FeedSubscriber {
  readonly awarenessClients = new Set<number>();
  private readonly rooms = new Map<string, Room>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly updates: TokenBucket;
  private readonly hub: ProjectHub;
  /** Following the project feed: every doc's updates arrive without subscribing to each. */
  private followsFeed = false;
  private closed = false;

  constructor(
    private readonly socket: WebSocketLike,
    private readonly ctx: ConnectionContext,
  ) {
    this.updates = new TokenBucket(ctx.limits.updatesPerSecond, ctx.limits.updateBurst);
    this.hub = ctx.hubs.join(ctx.projectId, this, 'daemon');
  }

  get userId(): string {
    return this.ctx.userId;
  }

  get username(): string {
    return this.ctx.username;
  }

  private get canWrite(): boolean {
    return this.ctx.role === 'owner' || this.ctx.role === 'editor';
  }

  onMessage(data: Uint8Array): void {
    if (this.closed) return;
    if (data.byteLength > this.ctx.limits.frameBytes) {
      this.refuse(new FrameRefused('', `frame of ${data.byteLength} bytes exceeds the limit of ${this.ctx.limits.frameBytes}`, CloseCode.FrameTooLarge));
      return;
    }
    let frame: Frame;
    try {
      frame = decodeFrame(data);
      if (frame.docName !== FEED_DOC && !isValidDocName(frame.docName)) throw new FrameRefused(frame.docName, `unknown doc name ${JSON.stringify(frame.docName.slice(0, 80))}`, CloseCode.Malformed);
    } catch (err) {
      this.refuse(err instanceof FrameRefused ? err : new FrameRefused('', (err as Error).message, CloseCode.Malformed));
      return;
    }
    if (frame.type === messageAwareness) {
      this.run(() => this.handleAwareness(frame.docName, frame.update));
      return;
    }
    if (frame.type === messageFeedSubscribe) {
      this.run(() => this.subscribeFeed(frame.since));
      return;
    }
    if (frame.docName === FEED_DOC) {
      this.refuse(new FrameRefused('', 'only the feed frames go without a doc name', CloseCode.Malformed));
      return;
    }
    // Frames of one doc run in arrival order, after that doc's earlier frames.
    const docName = frame.docName;
    const previous = this.queues.get(docName) ?? Promise.resolve();
    const next = previous.then(() => this.run(() => this.handleDocFrame(frame)));
    this.queues.set(docName, next);
    void next.then(() => {
      if (this.queues.get(docName) === next) this.queues.delete(docName);
    });
  }

  /**
   * Text frames are not part of the protocol: refused like any undecodable frame, and the
   * connection stops handling frames at once, so nothing the client sent after it applies.
   */
  onTextFrame(): void {
    if (this.closed) return;
    this.refuse(new FrameRefused('', 'text frames are not part of the protocol: send binary frames', CloseCode.Malformed));
  }

  private async run(handle: () => void | Promise<void>): Promise<void> {
    if (this.closed) return;
    try {
      await handle();
    } catch (err) {
      this.refuse(
        err instanceof FrameRefused
          ? err
          : new FrameRefused('', err instanceof MalformedFrameError ? err.message : `server error: ${(err as Error).message}`, CloseCode.Malformed),
      );
    }
  }

  private handleAwareness(docName: string, update: Uint8Array): void {
    if (docName !== INDEX_DOC) throw new FrameRefused(docName, 'awareness travels on the index doc', CloseCode.Malformed);
    try {
      this.hub.applyAwareness(this, update);
    } catch (err) {
      throw new FrameRefused(docName, `malformed awareness update: ${(err as Error).message}`, CloseCode.Malformed);
    }
  }

  private async subscribeFeed(since: number): Promise<void> {
    if (this.followsFeed) throw new FrameRefused(FEED_DOC, 'the feed is subscribed once per connection', CloseCode.Malformed);
    this.followsFeed = true;
    try {
      await this.ctx.registry.feeds.subscribe(this.ctx.projectId, this, since);
    } catch (err) {
      if (this.closed) return;
      // The client cannot be caught up: it reconnects and asks again from its position.
      this.ctx.log.error({ err }, 'catching a client up from the log failed');
      this.abort('could not read the project feed');
    }
  }

  private async handleDocFrame(frame: Frame): Promise<void> {
    switch (frame.type) {
      case messageSync:
        return this.handleSync(frame.docName, frame.sync);
      case messageUnsubscribe: {
        const room = this.rooms.get(frame.docName);
        if (room) {
          this.rooms.delete(frame.docName);
          this.ctx.registry.release(room, this);
        }
        return;
      }
      default:
        throw new FrameRefused(frame.docName, `clients do not send message type ${frame.type}`, CloseCode.Malformed);
    }
  }

  private async handleSync(docName: string, sync: SyncMessage): Promise<void> {
    if (sync.kind === 'step1') {
      if (this.followsFeed && !this.rooms.has(docName)) {
        // The feed brings this doc's updates already: one exchange, no subscription.
        await this.withDoc(docName, (room) => this.answerStep1(room, sync.stateVector));
        return;
      }
      const room = await this.subscribe(docName);
      if (room) this.answerStep1(room, sync.stateVector);
      return;
    }
    const room = this.rooms.get(docName);
    if (!room && !this.followsFeed) throw new FrameRefused(docName, 'subscribe with sync step 1 (or to the feed) before sending updates', CloseCode.Malformed);
    let empty: boolean;
    try {
      empty = validateUpdate(sync.update);
    } catch (err) {
      throw new FrameRefused(docName, `malformed update: ${(err as Error).message}`, CloseCode.Malformed);
    }
    // Nothing to store, but the sender waits for an answer to every update it sends: an empty
    // state vector claims nothing stored, so it only ends that wait.
    if (empty) {
      this.send(encodePersisted(docName, NOTHING_STORED));
      return;
    }
    if (!this.canWrite) {
      // Refused, not applied, not stored, not relayed; the viewer stays connected.
      this.send(encodeDenied(docName, 'read-only: your role in this project is viewer'));
      return;
    }
    if (!this.updates.take()) {
      throw new FrameRefused(docName, 'too many updates: slow down', CloseCode.RateLimited);
    }
    if (room) room.applyUpdate(sync.update, this.ctx.userId, this);
    else await this.withDoc(docName, (loaded) => loaded.applyUpdate(sync.update, this.ctx.userId, this));
  }

  private answerStep1(room: Room, stateVector: Uint8Array): void {
    this.send(encodeSyncStep2(room.docName, Y.encodeStateAsUpdate(room.doc, stateVector)));
    // Ask for whatever the client has that the server lacks; viewers have nothing to give.
    if (this.canWrite) this.send(encodeSyncStep1FromStateVector(room.docName, Y.encodeStateVector(room.doc)));
    if (!room.hasUnpersisted) this.send(encodePersisted(room.docName, room.persistedStateVector));
  }

  /** Runs `use` with the doc loaded and held, without subscribing (a feed follower's edit or sync). */
  private async withDoc(docName: string, use: (room: Room) => void): Promise<void> {
    let room: Room;
    try {
      room = await this.ctx.registry.acquire(this.ctx.projectId, docName, null);
    } catch {
      this.send(encodeDenied(docName, `the server could not load ${docName}; try again`));
      return;
    }
    try {
      if (!this.closed) use(room);
    } finally {
      this.ctx.registry.release(room, null);
    }
  }

  /** The doc's room with this connection subscribed, or null when it could not be loaded. */
  private async subscribe(docName: string): Promise<Room | null> {
    const existing = this.rooms.get(docName);
    if (existing) return existing;
    if (this.rooms.size >= this.ctx.limits.docsPerConnection) {
      throw new FrameRefused(docName, `more than ${this.ctx.limits.docsPerConnection} docs on one connection`, CloseCode.TooManyDocs);
    }
    let room: Room;
    try {
      room = await this.ctx.registry.acquire(this.ctx.projectId, docName, this);
    } catch {
      // The doc could not be loaded: say so and keep the connection; never serve a blank doc.
      this.send(encodeDenied(docName, `the server could not load ${docName}; try again`));
      return null;
    }
    if (this.closed) {
      this.ctx.registry.release(room, this);
      return null;
    }
    this.rooms.set(docName, room);
    return room;
  }

  private refuse(refused: FrameRefused): void {
    if (this.closed) return;
    this.ctx.log.warn({ doc: refused.docName, reason: refused.message }, 'frame refused');
    this.send(encodeDenied(refused.docName, refused.message));
    if (refused.close) {
      this.socket.close(refused.close.code, refused.close.reason);
      this.onClose();
    }
  }

  private send(frame: Uint8Array): void {
    if (!this.closed) this.socket.send(frame);
  }

  sendUpdate(docName: string, update: Uint8Array): void {
    this.send(encodeUpdate(docName, update));
  }

  sendPersisted(docName: string, stateVector: Uint8Array): void {
    this.send(encodePersisted(docName, stateVector));
  }

  sendResync(docName: string): void {
    this.send(encodeFeedResync(docName));
  }

  sendFeedPosition(position: number): void {
    this.send(encodeFeedPosition(position));
  }

  async whenWritable(): Promise<void> {
    while (!this.closed && this.socket.bufferedAmount > SEND_BUFFER_BYTES) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  sendAwareness(update: Uint8Array): void {
    this.send(encodeAwareness(INDEX_DOC, update));
  }

  abort(reason: string): void {
    this.ctx.log.warn({ reason }, 'connection aborted by the server');
    this.socket.close(1011, reason);
    this.onClose();
  }

  /** The socket is gone: release every doc and leave the project's presence. */
  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const room of this.rooms.values()) this.ctx.registry.release(room, this);
    this.rooms.clear();
    if (this.followsFeed) this.ctx.registry.feeds.unsubscribe(this.ctx.projectId, this);
    this.ctx.hubs.leave(this.hub, this);
  }
}
