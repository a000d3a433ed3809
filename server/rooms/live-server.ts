// The live half of a server instance: rooms, presence, materialised files, fan-out.
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Database } from '../../db/schema.js';
import type { ServerConfig } from '../config.js';
import { DocStore } from './doc-store.js';
import { InProcessFanout, type Fanout } from './fanout.js';
import { FileMaterializer } from './materializer.js';
import { ProjectHubs } from './project-hub.js';
import { RoomRegistry } from './room-registry.js';

export class LiveServer {
  readonly registry: RoomRegistry;
  readonly hubs: ProjectHubs;
  readonly materializer: FileMaterializer;
  /** Open sockets, closed with 4503 at shutdown so clients reconnect elsewhere. */
  readonly sockets = new Set<{ close(code: number, reason: string): void }>();

  constructor(db: Kysely<Database>, config: ServerConfig, log: Logger, fanout: Fanout = new InProcessFanout()) {
    this.registry = new RoomRegistry(new DocStore(db), fanout, config.rooms, log.child({ part: 'rooms' }));
    this.hubs = new ProjectHubs(db, log.child({ part: 'presence' }));
    this.materializer = new FileMaterializer(
      db,
      this.registry,
      { debounceMs: config.rooms.materializeDebounceMs, maxDelayMs: config.rooms.materializeMaxDelayMs },
      log.child({ part: 'materializer' }),
    );
  }

  /** SIGTERM: stop serving, store everything applied, write the materialised files. */
  async close(closeCode: { code: number; reason: string }): Promise<void> {
    for (const socket of this.sockets) socket.close(closeCode.code, closeCode.reason);
    await this.registry.flushAll();
    await this.materializer.flushAll();
    await this.registry.close();
  }
}
