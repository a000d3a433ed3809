// Which server instances are alive: each renews its entry in one Redis sorted set (the score is
// when it expires) every few seconds. An instance whose entry expired is gone (killed,
// partitioned): its clients leave the presence everywhere within the time to live, and the
// session rows it left open are closed. Awareness's own 30 s timeout would drop their states
// too, but later, and not the session rows.
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Redis } from 'ioredis';

export const INSTANCES_KEY = 'codeshare:instances';

export interface HeartbeatTiming {
  beatMs: number;
  ttlMs: number;
}

export const defaultHeartbeat: HeartbeatTiming = { beatMs: 3_000, ttlMs: 10_000 };

export class InstanceHeartbeat {
  private live: Set<string> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;

  constructor(
    private readonly redis: Redis,
    readonly instanceId: string,
    private readonly onBeat: (live: ReadonlySet<string>, gone: string[]) => void | Promise<void>,
    private readonly log: Logger,
    private readonly timing: HeartbeatTiming = defaultHeartbeat,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.timing.beatMs);
    this.timer.unref();
  }

  /** The instances alive at the last beat (this one included), or null while Redis is unreachable. */
  get liveInstances(): ReadonlySet<string> | null {
    return this.live;
  }

  private beat(): Promise<void> {
    this.beating ??= this.renew().finally(() => (this.beating = null));
    return this.beating;
  }

  private async renew(): Promise<void> {
    const now = Date.now();
    let members: string[];
    try {
      const results = await this.redis
        .multi()
        .zadd(INSTANCES_KEY, now + this.timing.ttlMs, this.instanceId)
        .zremrangebyscore(INSTANCES_KEY, '-inf', now)
        .zrange(INSTANCES_KEY, 0, -1)
        .exec();
      members = (results?.[2]?.[1] as string[] | undefined) ?? [];
    } catch {
      // Redis is down (the fan-out says so): nobody can tell who is alive; nothing is decided.
      this.live = null;
      return;
    }
    const live = new Set(members);
    const gone = this.live ? [...this.live].filter((id) => !live.has(id)) : [];
    for (const id of gone) this.log.warn({ instance: id }, 'a server instance stopped renewing its heartbeat: its clients leave the presence');
    this.live = live;
    try {
      await this.onBeat(live, gone);
    } catch (err) {
      this.log.warn({ err }, 'acting on the instance heartbeat failed');
    }
  }

  /** Leaving: the others need not wait for the entry to expire. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    await this.redis.zrem(INSTANCES_KEY, this.instanceId).catch(() => undefined);
  }
}
