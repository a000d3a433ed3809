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
  encodePersisted,
  encodeSyncStep1FromStateVector,
  encodeSyncStep2,
  encodeUpdate,
  isValidDocName,
  messageAwareness,
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
import type { ConnectionLimits, DocSubscriber, WebSocketLike } from './types.js';
import { validateUpdate } from './validate-update.js';

export interface ConnectionContext {
  projectId: string;
  userId: string;
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

export class ProjectConnection implements DocSubscriber, PresenceMember {
  readonly awarenessClients = new Set<number>();
  private readonly rooms = new Map<string, Room>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly updates: TokenBucket;
  private readonly hub: ProjectHub;
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
      if (!isValidDocName(frame.docName)) throw new FrameRefused(frame.docName, `unknown doc name ${JSON.stringify(frame.docName.slice(0, 80))}`, CloseCode.Malformed);
    } catch (err) {
      this.refuse(err instanceof FrameRefused ? err : new FrameRefused('', (err as Error).message, CloseCode.Malformed));
      return;
    }
    if (frame.type === messageAwareness) {
      this.run(() => this.handleAwareness(frame.docName, frame.update));
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
      const room = await this.subscribe(docName);
      if (!room) return;
      this.send(encodeSyncStep2(docName, Y.encodeStateAsUpdate(room.doc, sync.stateVector)));
      // Ask for whatever the client has that the server lacks; viewers have nothing to give.
      if (this.canWrite) this.send(encodeSyncStep1FromStateVector(docName, Y.encodeStateVector(room.doc)));
      if (!room.hasUnpersisted) this.send(encodePersisted(docName, room.persistedStateVector));
      return;
    }
    const room = this.rooms.get(docName);
    if (!room) throw new FrameRefused(docName, 'subscribe with sync step 1 before sending updates', CloseCode.Malformed);
    let empty: boolean;
    try {
      empty = validateUpdate(sync.update);
    } catch (err) {
      throw new FrameRefused(docName, `malformed update: ${(err as Error).message}`, CloseCode.Malformed);
    }
    if (empty) return;
    if (!this.canWrite) {
      // Refused, not applied, not stored, not relayed; the viewer stays connected.
      this.send(encodeDenied(docName, 'read-only: your role in this project is viewer'));
      return;
    }
    if (!this.updates.take()) {
      throw new FrameRefused(docName, 'too many updates: slow down', CloseCode.RateLimited);
    }
    room.applyUpdate(sync.update, this.ctx.userId, this);
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
    this.ctx.hubs.leave(this.hub, this);
  }
}
