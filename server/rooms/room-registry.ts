// The loaded rooms of one server instance. A doc is loaded once however many clients ask
// for it at the same moment; it unloads after its last user left and everything it applied
// is stored.
import type { FastifyBaseLogger as Logger } from 'fastify';
import { collectGarbageWhenQuiet } from '../../common/idle-gc.js';
import type { DocUpdate } from '../../common/doc-updates.js';
import type { DocStore } from './doc-store.js';
import type { Fanout } from './fanout.js';
import type { ProjectFeeds } from './project-feed.js';
import { roomKey } from './room-key.js';
import { Room } from './room.js';
import type { DocSubscriber, RoomLimits } from './types.js';
import type { LiveMetrics } from '../metrics.js';

interface RoomEntry {
  room: Room;
  ready: Promise<Room>;
  /** The project's fan-out is followed for this room (until it is forgotten). */
  following: boolean;
}

export class RoomRegistry {
  private readonly rooms = new Map<string, RoomEntry>();
  private readonly changeListeners: ((projectId: string, docName: string, userId: string | null) => void)[] = [];
  private readonly unloading = new Map<string, Promise<void>>();
  private readonly unsubscribeFanout: () => void;
  private closed = false;
  private updateCount = 0;

  constructor(
    readonly instanceId: string,
    private readonly store: DocStore,
    private readonly fanout: Fanout,
    readonly feeds: ProjectFeeds,
    private readonly limits: RoomLimits,
    private readonly log: Logger,
    private readonly metrics: Pick<LiveMetrics, 'relayed'> = { relayed: () => undefined },
  ) {
    this.unsubscribeFanout = fanout.subscribe((message) => {
      if (message.instanceId === this.instanceId) return;
      if (message.kind === 'committed') {
        feeds.committed(message.projectId, message.ids, message.range);
        return;
      }
      if (message.kind !== 'update') return;
      // The project's followers get it whether or not the doc is loaded here.
      feeds.relay(message.projectId, message.id, message.docName, message.update, null);
      // A room still loading may have read the log before this update committed: it gets the
      // update once loaded (twice is harmless), or it would lack it until it unloads.
      const entry = this.rooms.get(roomKey(message.projectId, message.docName));
      const stored = message.stored === true;
      if (entry?.room.state === 'ready') entry.room.applyRemote(message.update, stored);
      else if (entry?.room.state === 'loading') void entry.ready.then((room) => room.state === 'ready' && room.applyRemote(message.update, stored), () => undefined);
      // Whichever instance materialises the project hears of every change (see materializer.ts).
      this.changeListeners.forEach((listener) => listener(message.projectId, message.docName, message.userId));
    });
  }

  /** Every change of a doc applied or stored here (the materialiser follows them). */
  onChange(listener: (projectId: string, docName: string, userId: string | null) => void): void {
    this.changeListeners.push(listener);
  }

  private nextUpdateId(): string {
    return `${this.instanceId}:${++this.updateCount}`;
  }

  /**
   * Updates of many docs stored without loading their rooms (share's upload): appended together
   * (the store batches them), relayed to the project feed here and on the other instances as a
   * room's would be, and applied to the rooms that happen to be loaded. Resolves once stored,
   * with the project's feed position then.
   */
  async storeUpdates(projectId: string, userId: string, records: readonly DocUpdate[]): Promise<number> {
    const ids = records.map(({ docName, update }) => {
      const id = this.nextUpdateId();
      this.feeds.relay(projectId, id, docName, update, null);
      this.fanout.publish({ kind: 'update', instanceId: this.instanceId, projectId, docName, update, id, userId });
      return id;
    });
    const stored = await Promise.allSettled(records.map(({ docName, update }) => this.store.append(projectId, docName, [{ update, userId }])));
    stored.forEach((result, i) => {
      const range = result.status === 'fulfilled' ? { from: result.value.fromProjectSeq, to: result.value.toProjectSeq } : null;
      this.feeds.committed(projectId, [ids[i]!], range);
      const { docName, update } = records[i]!;
      this.fanout.publish({ kind: 'committed', instanceId: this.instanceId, projectId, ids: [ids[i]!], range, updates: [{ docName, update, userId }] });
    });
    records.forEach(({ docName, update }, i) => {
      // A room loading now may have read the log before these rows: applying twice is harmless.
      const entry = this.rooms.get(roomKey(projectId, docName));
      const isStored = stored[i]!.status === 'fulfilled';
      if (entry) void entry.ready.then((room) => room.state === 'ready' && room.applyRemote(update, isStored), () => undefined);
      this.changeListeners.forEach((listener) => listener(projectId, docName, userId));
    });
    collectGarbageWhenQuiet();
    const failed = stored.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return this.store.feedPosition(projectId);
  }

  get loadedCount(): number {
    return this.rooms.size;
  }

  /** The ready room of a doc, loading it if needed; `subscriber` then receives its updates. */
  async acquire(projectId: string, docName: string, subscriber: DocSubscriber | null): Promise<Room> {
    if (this.closed) throw new Error('server is shutting down');
    const key = roomKey(projectId, docName);
    // A draining room finishes unloading before the doc is loaded afresh.
    for (let unloading = this.unloading.get(key); unloading; unloading = this.unloading.get(key)) await unloading;
    let entry = this.rooms.get(key);
    if (!entry) {
      const room = new Room(projectId, docName, {
        store: this.store,
        fanout: this.fanout,
        feeds: this.feeds,
        instanceId: this.instanceId,
        nextUpdateId: () => this.nextUpdateId(),
        relayed: () => this.metrics.relayed(),
        limits: this.limits,
        log: this.log,
        onChange: (r, userId) => this.changeListeners.forEach((listener) => listener(r.projectId, r.docName, userId)),
        onFailed: (r) => this.forget(r),
      });
      const created: RoomEntry = { room, ready: Promise.resolve(room), following: false };
      // The project's fan-out first, then the load: nothing stored after the load is missed.
      created.ready = this.fanout
        .follow(projectId)
        .then(
          () => {
            created.following = true;
            return room.load();
          },
          (err: unknown) => {
            room.destroy();
            throw err;
          },
        )
        .then(
          () => room,
          (err: unknown) => {
            // The room has unloaded itself; only this map still knows it.
            this.forget(room);
            this.log.error({ err, projectId, doc: docName }, 'loading a doc failed');
            throw new Error(`could not load ${docName}`);
          },
        );
      entry = created;
      this.rooms.set(key, entry);
    }
    const room = await entry.ready;
    room.join(subscriber);
    return room;
  }

  release(room: Room, subscriber: DocSubscriber | null): void {
    room.leave(subscriber);
    if (!room.isIdle || this.closed) return;
    room.scheduleIdleUnload(this.limits.idleUnloadMs, () => void this.unload(room));
  }

  /** The doc's room if it is loaded and ready here, without loading it. */
  loaded(projectId: string, docName: string): Room | null {
    const room = this.rooms.get(roomKey(projectId, docName))?.room;
    return room?.state === 'ready' ? room : null;
  }

  /** Runs `use` with the doc loaded, for server-side reads and writes. */
  async withRoom<T>(projectId: string, docName: string, use: (room: Room) => T | Promise<T>): Promise<T> {
    const room = await this.acquire(projectId, docName, null);
    try {
      return await use(room);
    } finally {
      this.release(room, null);
    }
  }

  private async unload(room: Room): Promise<void> {
    if (!room.isIdle) return;
    const done = room
      .drain()
      .catch((err: unknown) => this.log.error({ err, doc: room.docName }, 'draining a doc failed'))
      .finally(() => {
        this.forget(room);
        this.unloading.delete(room.key);
        collectGarbageWhenQuiet();
      });
    this.unloading.set(room.key, done);
    await done;
  }

  private forget(room: Room): void {
    const entry = this.rooms.get(room.key);
    if (entry?.room !== room) return;
    this.rooms.delete(room.key);
    if (entry.following) this.fanout.unfollow(room.projectId);
    entry.following = false;
  }

  /** Resolves once every loaded doc has stored everything applied so far. */
  async flushAll(): Promise<void> {
    // A room that failed has logged why and dropped its subscribers; the others still flush.
    await Promise.all([...this.rooms.values()].map(({ ready }) => ready.then((room) => room.flush().catch(() => undefined), () => undefined)));
  }

  /** Shutdown: stop taking subscribers, store everything applied, free every doc. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribeFanout();
    const entries = [...this.rooms.values()];
    await Promise.all(
      entries.map(async ({ ready }) => {
        const room = await ready.catch(() => null);
        if (!room || room.state === 'unloaded') return;
        await room.drain().catch((err: unknown) => this.log.error({ err, doc: room.docName }, 'final flush failed'));
      }),
    );
    for (const { room } of entries) this.forget(room);
  }
}
