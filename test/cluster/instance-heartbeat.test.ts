// Which instances are alive (server/cluster/instance-heartbeat.ts), on a redis-server of the
// test's own: one that stops renewing is gone within the time to live; one that only vanished
// because Redis restarted empty is not.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { InstanceHeartbeat } from '../../server/cluster/instance-heartbeat.js';
import { startOwnRedis } from '../helpers/redis.js';
import { eventually } from '../helpers/eventually.js';

const log = pino({ level: 'silent' });
const timing = { beatMs: 100, ttlMs: 500 };
const running: { heartbeat: InstanceHeartbeat; redis: Redis }[] = [];

afterEach(async () => {
  for (const { heartbeat, redis } of running.splice(0)) {
    await heartbeat.stop();
    redis.disconnect();
  }
});

async function instance(url: string, id: string, gone: string[]): Promise<{ heartbeat: InstanceHeartbeat; redis: Redis }> {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  await new Promise((resolve) => redis.once('ready', resolve));
  const heartbeat = new InstanceHeartbeat(redis, id, (_live, ids) => void gone.push(...ids), log, timing);
  await heartbeat.start();
  const started = { heartbeat, redis };
  running.push(started);
  return started;
}

it('declares an instance gone once its entry expired unrenewed, and not one Redis merely forgot', async () => {
  const own = await startOwnRedis();
  const gone: string[] = [];
  const watcher = await instance(own.url, 'watcher', gone);
  const other = await instance(own.url, 'other', []);
  await eventually(() => expect(watcher.heartbeat.liveInstances).toEqual(new Set(['watcher', 'other'])));
  // Redis restarts empty: for a moment the set holds only whoever renewed first.
  await own.kill();
  await own.restart();
  await eventually(() => expect(watcher.heartbeat.liveInstances).toEqual(new Set(['watcher', 'other'])), 5_000);
  expect(gone).toEqual([]);
  // The other one is cut off (as a killed process is): its beats stop renewing, no goodbye.
  other.redis.disconnect();
  await eventually(() => expect(gone).toEqual(['other']), 5_000);
  expect(watcher.heartbeat.liveInstances).toEqual(new Set(['watcher']));
});
