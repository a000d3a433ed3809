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
  /**
   * When each instance seen alive expires, as its entry last said. An instance is gone once that
   * time passed without a renewal; one merely missing from the set (Redis restarted and lost
   * it) is not, until then: it renews at its next beat.
   */
  private readonly expiries = new Map<string, number>();
  /**
   * Since when the beats have succeeded without a break. After an outage nobody could renew:
   * nobody is declared gone until a whole time to live has passed with Redis there.
   */
  private healthySince: number | null = null;
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

  /** The instances alive at the last beat (this one included; also those whose last entry has not expired yet), or null while Redis is unreachable. */
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
      const results = this.redis
        .pipeline()
        .zadd(INSTANCES_KEY, now + this.timing.ttlMs, this.instanceId)
        .zremrangebyscore(INSTANCES_KEY, '-inf', now)
        .zrange(INSTANCES_KEY, 0, -1, 'WITHSCORES')
        .exec();
      // A reply lost with its connection must not stop the beats: a beat gives up after one.
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('heartbeat timed out')), this.timing.beatMs).unref());
      const replies = await Promise.race([results, timeout]);
      const [zadd, , zrange] = replies ?? [];
      if (zadd?.[0] || zrange?.[0]) throw zadd?.[0] ?? zrange?.[0];
      const flat = (zrange?.[1] as string[] | undefined) ?? [];
      for (let i = 0; i + 1 < flat.length; i += 2) this.expiries.set(flat[i]!, Math.max(this.expiries.get(flat[i]!) ?? 0, Number(flat[i + 1])));
      members = flat.filter((_, i) => i % 2 === 0);
    } catch {
      // Redis is down (the fan-out says so): nobody can tell who is alive; nothing is decided.
      this.live = null;
      this.healthySince = null;
      return;
    }
    this.healthySince ??= now;
    const observedLongEnough = now - this.healthySince > this.timing.ttlMs;
    const live = new Set(members);
    const gone: string[] = [];
    for (const [id, expiresAt] of this.expiries) {
      if (live.has(id)) continue;
      if (expiresAt < now && observedLongEnough) {
        gone.push(id);
        this.expiries.delete(id);
      } else live.add(id);
    }
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
