// The live half of a server instance: rooms, presence, materialised files, fan-out.
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Database } from '../../db/schema.js';
import type { ServerConfig } from '../config.js';
import { CloseCode } from '../../common/protocol.js';
import { DocStore } from './doc-store.js';
import { InProcessFanout, type Fanout } from './fanout.js';
import { FileMaterializer } from './materializer.js';
import { ProjectFeeds } from './project-feed.js';
import { ProjectHubs } from './project-hub.js';
import { RoomRegistry } from './room-registry.js';
import type { LiveMetrics } from '../metrics.js';

export interface LiveAccess {
  projectId: string;
  userId: string;
  tokenId: string;
}

export class LiveServer {
  readonly registry: RoomRegistry;
  readonly hubs: ProjectHubs;
  readonly materializer: FileMaterializer;
  /** Open sockets and whose access they carry: closed at shutdown, or when that access changes. */
  readonly sockets = new Map<{ close(code: number, reason: string): void }, LiveAccess>();

  constructor(db: Kysely<Database>, config: ServerConfig, log: Logger, metrics: LiveMetrics, fanout: Fanout = new InProcessFanout()) {
    const store = new DocStore(db, metrics, { appendIntervalMs: config.rooms.appendIntervalMs });
    this.registry = new RoomRegistry(store, fanout, new ProjectFeeds(store, log.child({ part: 'feed' })), config.rooms, log.child({ part: 'rooms' }), metrics);
    this.hubs = new ProjectHubs(db, log.child({ part: 'presence' }));
    this.materializer = new FileMaterializer(
      db,
      this.registry,
      store,
      { debounceMs: config.rooms.materializeDebounceMs, maxDelayMs: config.rooms.materializeMaxDelayMs, entriesPerSlice: config.rooms.materializeSliceEntries },
      log.child({ part: 'materializer' }),
    );
  }

  /**
   * Access was checked when a socket opened; when a member is removed or demoted, a token
   * revoked, or a project deleted or made private, the sockets that carry the old access are
   * closed with AccessChanged. Their clients reconnect and are checked afresh, so a removed
   * editor cannot keep editing through a socket opened before.
   */
  dropAccess(match: Partial<LiveAccess>): number {
    let dropped = 0;
    for (const [socket, access] of this.sockets) {
      if (match.projectId !== undefined && access.projectId !== match.projectId) continue;
      if (match.userId !== undefined && access.userId !== match.userId) continue;
      if (match.tokenId !== undefined && access.tokenId !== match.tokenId) continue;
      socket.close(CloseCode.AccessChanged.code, CloseCode.AccessChanged.reason);
      dropped++;
    }
    return dropped;
  }

  /** SIGTERM: stop serving, store everything applied, write the materialised files. */
  async close(closeCode: { code: number; reason: string }): Promise<void> {
    for (const socket of this.sockets.keys()) socket.close(closeCode.code, closeCode.reason);
    await this.registry.flushAll();
    await this.materializer.flushAll();
    await this.registry.close();
  }
}
