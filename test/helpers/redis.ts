// Redis for the scale-out suites: the machine's own (127.0.0.1:6379, where the suites' keys
// are per project and per instance, so they never meet), or a redis-server of a test's own on
// a free port, for what must not touch the shared one (stopping it, restarting it).
import { execa, type ResultPromise } from 'execa';
import { Redis } from 'ioredis';
import { onTestFinished } from 'vitest';
import { freePort } from '../../server/cluster/local-cluster.js';

export const MACHINE_REDIS_URL = process.env.CODESHARE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface OwnRedis {
  url: string;
  /** Kills the server (SIGKILL: what it held is gone, as after a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  client(): Redis;
}

/** A redis-server of this test's own, stopped when the test ends (or, from a beforeAll, with `afterAll`). */
export async function startOwnRedis(stopWhen: (stop: () => Promise<void>) => void = onTestFinished): Promise<OwnRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ResultPromise | null = null;
  const clients: Redis[] = [];
  const start = async () => {
    child = execa('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { reject: false, stdout: 'ignore', stderr: 'ignore' });
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      for (let i = 0; ; i++) {
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch (err) {
          if (i > 100) throw err;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    } finally {
      probe.disconnect();
    }
  };
  const kill = async () => {
    const running = child;
    child = null;
    if (!running) return;
    running.kill('SIGKILL');
    await running;
  };
  await start();
  stopWhen(async () => {
    for (const client of clients) client.disconnect();
    await kill();
  });
  return {
    url,
    kill,
    restart: start,
    client: () => {
      const client = new Redis(url);
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
  };
}
