// Two real `codeshare server` processes on one PostgreSQL and the machine's Redis, behind a
// real HAProxy with deploy/haproxy.cfg (server/cluster/local-cluster.ts, as `npm run cluster`
// starts them), and real daemons (DESIGN.md, Scale-out).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, expect, it, onTestFailed } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../../server/cluster/local-cluster.js';
import { PROJECT_STREAM_PREFIX } from '../../server/cluster/redis-fanout.js';
import { MACHINE_REDIS_URL } from '../helpers/redis.js';
import { World, createPostgresStorage, eventually, expectServerMatches, untilContent, untilIdentical, type User } from '../e2e/harness.js';
import type { TestStorage } from '../helpers/storage.js';

let storage: TestStorage | null = null;
let cluster: LocalCluster | null = null;
let world: World | null = null;
let home: string | null = null;

afterEach(async () => {
  await world?.dispose();
  world = null;
  await cluster?.stop();
  cluster = null;
  await storage?.dispose();
  storage = null;
  if (home) await rm(home, { recursive: true, force: true });
  home = null;
});

async function startCluster(): Promise<LocalCluster> {
  storage = await createPostgresStorage();
  home = await mkdtemp(join(tmpdir(), 'codeshare-cluster-'));
  // Heartbeats and checks fast enough for a test to watch a death; the same code paths.
  cluster = await startLocalCluster({ databaseUrl: storage.databaseUrl!, redisUrl: MACHINE_REDIS_URL, port: 0, home });
  world = await World.create({ url: cluster.url, close: async () => undefined });
  onTestFailed(async () => {
    process.stderr.write(`${await world?.dumpLogs()}\n`);
    for (const instance of cluster?.instances ?? []) process.stderr.write(`----- instance ${instance.name} -----\n${instance.log()}\n`);
  });
  return cluster;
}

/** alice shares `tree` and bob joins, each signed in at the server given (an instance, or HAProxy). */
async function pairOn(servers: [string, string], tree: Record<string, string>) {
  const alice = await world!.user('alice');
  const bob = await world!.user('bob');
  await alice.signIn(servers[0]);
  await bob.signIn(servers[1]);
  const a = await world!.folder('a', tree);
  const shared = await alice.share(a, 'proj');
  await alice.json(['members', shared.project, 'add', 'bob', '--role', 'editor']);
  const b = join(await world!.tempDir('b'), 'b');
  await bob.join(shared.project, b);
  await alice.untilSynced(a);
  await bob.untilSynced(b);
  return { alice, bob, a, b, projectId: shared.projectId };
}

const peersOf = async (user: User, root: string) => (await user.folderStatus(root)).peers.map((peer) => peer.name);

it('syncs a daemon on each instance both ways, and each sees the other online', async () => {
  const { instances } = await startCluster();
  const { alice, bob, a, b } = await pairOn([instances[0]!.url, instances[1]!.url], { 'notes.txt': 'one\n' });
  await writeFile(join(a, 'notes.txt'), 'one\nfrom alice on a\n');
  await untilContent(join(b, 'notes.txt'), 'one\nfrom alice on a\n');
  await writeFile(join(b, 'new.txt'), 'from bob on b\n');
  await untilContent(join(a, 'new.txt'), 'from bob on b\n');
  await alice.untilFolder(a, async () => expect(await peersOf(alice, a)).toContain('bob'));
  await bob.untilFolder(b, async () => expect(await peersOf(bob, b)).toContain('alice'));
  await untilIdentical(a, b);
});

it('loses no edit when an instance is killed mid-stream: the daemons reconnect through HAProxy', async () => {
  const { url, instances } = await startCluster();
  const { alice, bob, a, b, projectId } = await pairOn([url, url], { 'start.txt': 'start\n' });
  const expected = new Map<string, string>();
  const burst = async (root: string, who: string, from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const text = `${who} ${i}\n`;
      expected.set(`${who}-${i}.txt`, text);
      await writeFile(join(root, `${who}-${i}.txt`), text);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const editing = Promise.all([burst(a, 'alice', 0, 40), burst(b, 'bob', 0, 40)]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await instances[0]!.stop('SIGKILL');
  await editing;
  await Promise.all([burst(a, 'alice', 40, 50), burst(b, 'bob', 40, 50)]);
  await alice.untilSynced(a);
  await bob.untilSynced(b);
  const tree = await untilIdentical(a, b);
  for (const [path, text] of expected) expect(tree.get(path), path).toEqual(expect.objectContaining({ bytes: Buffer.from(text) }));
  // A rolling restart: the killed one back, the other drained with SIGTERM; nothing lost either.
  await instances[0]!.start();
  await instances[1]!.stop('SIGTERM');
  await writeFile(join(b, 'after-restart.txt'), 'after the restart\n');
  await untilContent(join(a, 'after-restart.txt'), 'after the restart\n');
  await alice.untilSynced(a);
  // project_files too, materialised by whichever instance owns the project now.
  await eventually(() => expectServerMatches(url, alice.token, projectId, a), 10_000, 200);
});

it('catches up from PostgreSQL what a slow instance missed in a trimmed stream', async () => {
  const { instances } = await startCluster();
  const { alice, a, b, projectId } = await pairOn([instances[0]!.url, instances[1]!.url], { 'notes.txt': 'one\n' });
  const slow = instances[1]!;
  const pid = slow.pid!;
  process.kill(pid, 'SIGSTOP');
  try {
    await writeFile(join(a, 'notes.txt'), 'one\nwhile b was stopped\n');
    await writeFile(join(a, 'added.txt'), 'added while b was stopped\n');
    await alice.untilSynced(a);
    // Everything b has not read yet is trimmed away.
    const redis = new Redis(MACHINE_REDIS_URL);
    await redis.xtrim(PROJECT_STREAM_PREFIX + projectId, 'MAXLEN', 0);
    redis.disconnect();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await untilContent(join(b, 'added.txt'), 'added while b was stopped\n');
  await untilContent(join(b, 'notes.txt'), 'one\nwhile b was stopped\n');
  await untilIdentical(a, b);
});
