// One editor binding's socket on /yjs/:projectId/:docName: the plain y-websocket protocol
// for a single doc, in the same rooms, under the same roles, with the same persistence.
import type { FastifyBaseLogger as Logger } from 'fastify';
import { applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import {
  CloseCode,
  decodePlainMessage,
  encodePlainAwareness,
  encodePlainSync,
  plainMessageAwareness,
  plainMessageQueryAwareness,
  type PlainMessage,
} from '../../common/protocol.js';
import type { Role } from '../../db/schema.js';
import { TokenBucket } from './rate-limit.js';
import type { ProjectHub, ProjectHubs, PresenceMember } from './project-hub.js';
import type { Room } from './room.js';
import type { RoomRegistry } from './room-registry.js';
import type { ConnectionLimits, DocSubscriber, WebSocketLike } from './types.js';
import { validateUpdate } from './validate-update.js';

export interface PlainConnectionContext {
  projectId: string;
  docName: string;
  userId: string;
  username: string;
  role: Role | null;
  registry: RoomRegistry;
  hubs: ProjectHubs;
  limits: ConnectionLimits;
  log: Logger;
}

export class PlainDocConnection implements DocSubscriber, PresenceMember {
  readonly awarenessClients = new Set<number>();
  private readonly updates: TokenBucket;
  private readonly hub: ProjectHub;
  private room: Room | null = null;
  /** Messages that arrive while the doc loads, handled in order once it is ready. */
  private readonly early: Uint8Array[] = [];
  private closed = false;

  constructor(
    private readonly socket: WebSocketLike,
    private readonly ctx: PlainConnectionContext,
  ) {
    this.updates = new TokenBucket(ctx.limits.updatesPerSecond, ctx.limits.updateBurst);
    // Joins the project's presence for the session rows; cursors live in the doc's awareness.
    this.hub = ctx.hubs.join(ctx.projectId, this, 'yjs');
    ctx.registry.acquire(ctx.projectId, ctx.docName, this).then(
      (room) => this.ready(room),
      () => this.socket.close(1011, 'Could not load the document'),
    );
  }

  get userId(): string {
    return this.ctx.userId;
  }

  get username(): string {
    return this.ctx.username;
  }

  private ready(room: Room): void {
    if (this.closed) {
      this.ctx.registry.release(room, this);
      return;
    }
    this.room = room;
    room.awareness.on('update', this.onAwareness);
    // The server opens the exchange like y-websocket's own server does.
    this.send(encodePlainSync('step1', Y.encodeStateVector(room.doc)));
    const states = [...room.awareness.getStates().keys()];
    if (states.length > 0) this.send(encodePlainAwareness(encodeAwarenessUpdate(room.awareness, states)));
    for (const data of this.early.splice(0)) this.onMessage(data);
  }

  private readonly onAwareness = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ) => {
    if (origin === this) {
      for (const id of added) this.awarenessClients.add(id);
      for (const id of removed) this.awarenessClients.delete(id);
    }
    if (this.room) this.send(encodePlainAwareness(encodeAwarenessUpdate(this.room.awareness, [...added, ...updated, ...removed])));
  };

  private get canWrite(): boolean {
    return this.ctx.role === 'owner' || this.ctx.role === 'editor';
  }

  onMessage(data: Uint8Array): void {
    if (this.closed) return;
    if (data.byteLength > this.ctx.limits.frameBytes) return this.refuse(CloseCode.FrameTooLarge, 'frame too large');
    const room = this.room;
    if (!room) {
      if (this.early.length >= 1000) return this.refuse(CloseCode.RateLimited, 'too many messages before the doc loaded');
      this.early.push(data);
      return;
    }
    let message: PlainMessage;
    try {
      message = decodePlainMessage(data);
    } catch (err) {
      return this.refuse(CloseCode.Malformed, (err as Error).message);
    }
    try {
      if (message.type === plainMessageAwareness) {
        applyAwarenessUpdate(room.awareness, message.update, this);
      } else if (message.type === plainMessageQueryAwareness) {
        this.send(encodePlainAwareness(encodeAwarenessUpdate(room.awareness, [...room.awareness.getStates().keys()])));
      } else if (message.sync.kind === 'step1') {
        this.send(encodePlainSync('step2', Y.encodeStateAsUpdate(room.doc, message.sync.stateVector)));
      } else {
        const update = message.sync.update;
        if (validateUpdate(update)) return;
        // The plain protocol has no `denied`: a viewer's write is dropped and logged.
        if (!this.canWrite) {
          this.ctx.log.info({ doc: room.docName }, 'read-only update from a viewer dropped');
          return;
        }
        if (!this.updates.take()) return this.refuse(CloseCode.RateLimited, 'too many updates');
        room.applyUpdate(update, this.userId, this);
      }
    } catch (err) {
      this.refuse(CloseCode.Malformed, (err as Error).message);
    }
  }

  private refuse(close: { code: number; reason: string }, detail: string): void {
    this.ctx.log.warn({ doc: this.ctx.docName, reason: detail }, 'message refused');
    this.socket.close(close.code, close.reason);
    this.onClose();
  }

  private send(data: Uint8Array): void {
    if (!this.closed) this.socket.send(data);
  }

  sendUpdate(_docName: string, update: Uint8Array): void {
    this.send(encodePlainSync('update', update));
  }

  sendPersisted(): void {
    // The plain protocol has no acknowledgement message.
  }

  sendAwareness(): void {
    // Project-wide presence is for the multiplexed clients; editor bindings use the doc's.
  }

  abort(reason: string): void {
    this.socket.close(1011, reason);
    this.onClose();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const room = this.room;
    if (room) {
      room.awareness.off('update', this.onAwareness);
      if (this.awarenessClients.size > 0) removeAwarenessStates(room.awareness, [...this.awarenessClients], 'left');
      this.ctx.registry.release(room, this);
    }
    this.ctx.hubs.leave(this.hub, this);
  }
}
