// The live half of a server instance: rooms, presence, materialised files, fan-out. Alone, or
// one of several instances on one PostgreSQL and one Redis (DESIGN.md, Scale-out).
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Database } from '../../db/schema.js';
import type { ServerConfig } from '../config.js';
import { CloseCode } from '../../common/protocol.js';
import { InstanceHeartbeat } from '../cluster/instance-heartbeat.js';
import { AdvisoryLeases, SoleOwner, type ProjectLeases } from '../cluster/project-leases.js';
import { RedisFanout } from '../cluster/redis-fanout.js';
import { closeSessionsOfGoneInstances } from '../repos/sessions.js';
import { DocStore } from './doc-store.js';
import { InProcessFanout, type AccessMatch, type Fanout, type FanoutHealth } from './fanout.js';
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
  readonly instanceId = randomUUID();
  readonly registry: RoomRegistry;
  readonly hubs: ProjectHubs;
  readonly materializer: FileMaterializer;
  readonly fanout: Fanout;
  /** Open sockets and whose access they carry: closed at shutdown, or when that access changes. */
  readonly sockets = new Map<{ close(code: number, reason: string): void }, LiveAccess>();
  private readonly heartbeat: InstanceHeartbeat | null = null;
  private readonly leases: ProjectLeases;
  /** The fan-out when it is Redis's: what only several instances need (start, leaving, checks). */
  private readonly redis: RedisFanout | null;
  private readonly log: Logger;
  /** SIGTERM came: no new sockets (see routes/live.ts), /healthz says so to the load balancer. */
  draining = false;

  constructor(
    private readonly db: Kysely<Database>,
    config: ServerConfig,
    log: Logger,
    metrics: LiveMetrics,
    fanout?: Fanout,
  ) {
    this.log = log;
    const store = new DocStore(db, metrics, { appendIntervalMs: config.rooms.appendIntervalMs });
    const redisUrl = config.cluster.redisUrl;
    if (fanout) this.fanout = fanout;
    else if (redisUrl) {
      const redis = new RedisFanout(redisUrl, this.instanceId, store, log.child({ part: 'fanout' }), config.cluster.streams);
      this.fanout = redis;
      this.heartbeat = new InstanceHeartbeat(
        redis.redis,
        this.instanceId,
        (live, gone) => this.onHeartbeat(live, gone),
        log.child({ part: 'instances' }),
        config.cluster.heartbeat,
      );
    } else this.fanout = new InProcessFanout();
    this.redis = this.fanout instanceof RedisFanout ? this.fanout : null;
    const redisFanout = this.redis;
    this.leases = redisFanout
      ? new AdvisoryLeases(db, (projectId) => redisFanout.isFollowing(projectId) || this.materializer.hasWork(projectId), log.child({ part: 'leases' }))
      : new SoleOwner();
    const feeds = new ProjectFeeds(store, this.fanout, log.child({ part: 'feed' }));
    this.registry = new RoomRegistry(this.instanceId, store, this.fanout, feeds, config.rooms, log.child({ part: 'rooms' }), metrics);
    this.hubs = new ProjectHubs({ db, fanout: this.fanout, instanceId: this.instanceId, log: log.child({ part: 'presence' }) });
    this.materializer = new FileMaterializer(
      db,
      this.registry,
      store,
      { debounceMs: config.rooms.materializeDebounceMs, maxDelayMs: config.rooms.materializeMaxDelayMs, entriesPerSlice: config.rooms.materializeSliceEntries },
      this.leases,
      log.child({ part: 'materializer' }),
    );
    this.fanout.subscribe((message) => {
      if (message.instanceId === this.instanceId) return;
      if (message.kind === 'access-changed') this.closeSockets(message.match);
      if (message.kind === 'instance-gone') this.redis?.checkSoon();
    });
  }

  /** Connects to Redis (when configured) and starts the heartbeat; a server alone has nothing to start. */
  async start(): Promise<void> {
    await this.redis?.start();
    await this.heartbeat?.start();
  }

  health(): FanoutHealth {
    return this.fanout.health();
  }

  /**
   * An instance that stopped renewing its heartbeat is gone: its clients leave the presence
   * here, the rows it committed but never announced are read from the log, and the session
   * rows it left open are closed.
   */
  private async onHeartbeat(live: ReadonlySet<string>, gone: string[]): Promise<void> {
    for (const instanceId of gone) this.hubs.removeInstance(instanceId);
    if (gone.length > 0) this.redis?.checkSoon();
    const ended = await closeSessionsOfGoneInstances(this.db, live);
    if (ended > 0) this.log.info({ ended }, 'closed the sessions of server instances that are gone');
  }

  /**
   * Access was checked when a socket opened; when a member is removed or demoted, a token
   * revoked, or a project deleted or made private, the sockets that carry the old access are
   * closed with AccessChanged, on this instance and on every other. Their clients reconnect
   * and are checked afresh, so a removed editor cannot keep editing through a socket opened
   * before.
   */
  dropAccess(match: AccessMatch): number {
    this.fanout.publish({ kind: 'access-changed', instanceId: this.instanceId, match });
    return this.closeSockets(match);
  }

  private closeSockets(match: AccessMatch): number {
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

  /**
   * SIGTERM: tell the other instances, stop serving (clients reconnect, through a load
   * balancer to another instance), store everything applied, write the materialised files.
   */
  async close(closeCode: { code: number; reason: string }): Promise<void> {
    this.draining = true;
    await this.redis?.announceLeaving();
    await this.heartbeat?.stop();
    for (const socket of this.sockets.keys()) socket.close(closeCode.code, closeCode.reason);
    await this.registry.flushAll();
    await this.materializer.flushAll();
    await this.registry.close();
    this.hubs.close();
    await this.leases.close();
    await this.fanout.close();
  }
}
