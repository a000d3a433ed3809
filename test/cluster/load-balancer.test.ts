// Two real `codeshare server` processes on one PostgreSQL and a Redis of this suite's own,
// behind a real HAProxy with deploy/haproxy.cfg (server/cluster/local-cluster.ts, as `npm run
// cluster` starts them), and real daemons (DESIGN.md, Scale-out). One cluster for the suite;
// the tests that kill an instance or Redis run last and bring it back.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { INDEX_DOC, encodeAwareness } from '../../common/protocol.js';
import { startLocalCluster, type ClusterInstance, type LocalCluster } from '../../server/cluster/local-cluster.js';
import { PROJECT_STREAM_PREFIX } from '../../server/cluster/redis-fanout.js';
import { startOwnRedis, type OwnRedis } from '../helpers/redis.js';
import { LiveTestClient } from '../helpers/live-client.js';
import { apiClient, signIn } from '../helpers/server.js';
import { World, createPostgresStorage, eventually, expectServerMatches, untilContent, untilIdentical, type User } from '../e2e/harness.js';
import type { TestStorage } from '../helpers/storage.js';

let storage: TestStorage;
let redis: OwnRedis;
let cluster: LocalCluster;
let world: World;
let home: string;
let a: ClusterInstance;
let b: ClusterInstance;
/** alice's daemon on instance a, bob's on instance b: a daemon on each. */
let pair: Awaited<ReturnType<typeof pairOn>>;

beforeAll(async () => {
  redis = await startOwnRedis(afterAll);
  storage = await createPostgresStorage();
  home = await mkdtemp(join(tmpdir(), 'codeshare-cluster-'));
  cluster = await startLocalCluster({ databaseUrl: storage.databaseUrl!, redisUrl: redis.url, port: 0, home });
  [a, b] = cluster.instances as [ClusterInstance, ClusterInstance];
  world = await World.create({ url: cluster.url, close: async () => undefined });
  pair = await pairOn(['alice', 'bob'], [a.url, b.url], { 'notes.txt': 'one\n' });
});

afterAll(async () => {
  await world?.dispose();
  await cluster?.stop();
  await storage?.dispose();
  if (home) await rm(home, { recursive: true, force: true });
});

function dumpOnFailure(): void {
  onTestFailed(async () => {
    process.stderr.write(`${await world.dumpLogs()}\n`);
    for (const instance of cluster.instances) process.stderr.write(`----- instance ${instance.name} -----\n${instance.log().slice(-16_000)}\n`);
    const { adminRows } = await import('../helpers/storage.js');
    const rows = await adminRows<any>(`select pid, state, wait_event_type, wait_event, left(query, 200) as query, now() - xact_start as xact_age from pg_stat_activity where datname = '${new URL(storage.databaseUrl!).pathname.slice(1)}'`);
    process.stderr.write(`PGACT ${JSON.stringify(rows)}\n`);
  });
}

/** One user shares `tree` and the other joins, each signed in at the server given (an instance, or HAProxy). */
async function pairOn(names: [string, string], servers: [string, string], tree: Record<string, string>) {
  const first = await world.user(names[0]);
  const second = await world.user(names[1]);
  await first.signIn(servers[0]);
  await second.signIn(servers[1]);
  const one = await world.folder(`${names[0]}-folder`, tree);
  const shared = await first.share(one, `proj-${names[0]}`);
  await first.json(['members', shared.project, 'add', names[1], '--role', 'editor']);
  const two = join(await world.tempDir(names[1]), `${names[1]}-folder`);
  await second.join(shared.project, two);
  await first.untilSynced(one);
  await second.untilSynced(two);
  return { first, second, one, two, projectId: shared.projectId };
}

/** Both write files `<who>-<i>.txt` for i in [from, to), a little apart; `expected` records them. */
async function writeBoth(expected: Map<string, string>, folders: [string, string], names: [string, string], from: number, to: number): Promise<void> {
  await Promise.all(
    folders.map(async (root, k) => {
      for (let i = from; i < to; i++) {
        const path = `${names[k]}-${i}.txt`;
        expected.set(path, `${names[k]} ${i}\n`);
        await writeFile(join(root, path), `${names[k]} ${i}\n`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }),
  );
}

async function expectAllPresent(expected: Map<string, string>, folders: [string, string], users: [User, User]): Promise<void> {
  await users[0].untilSynced(folders[0]);
  await users[1].untilSynced(folders[1]);
  const tree = await untilIdentical(folders[0], folders[1]);
  for (const [path, text] of expected) expect(tree.get(path), path).toEqual(expect.objectContaining({ bytes: Buffer.from(text) }));
}

const peersOf = async (user: User, root: string) => (await user.folderStatus(root)).peers.map((peer) => peer.name);

it('syncs a daemon on each instance both ways, and each sees the other online', async () => {
  dumpOnFailure();
  const { first: alice, second: bob, one, two } = pair;
  await writeFile(join(one, 'notes.txt'), 'one\nfrom alice on a\n');
  await untilContent(join(two, 'notes.txt'), 'one\nfrom alice on a\n');
  await writeFile(join(two, 'new.txt'), 'from bob on b\n');
  await untilContent(join(one, 'new.txt'), 'from bob on b\n');
  await alice.untilFolder(one, async () => expect(await peersOf(alice, one)).toContain('bob'));
  await bob.untilFolder(two, async () => expect(await peersOf(bob, two)).toContain('alice'));
  await untilIdentical(one, two);
});

it('catches up from PostgreSQL what a slow instance missed in a trimmed stream', async () => {
  dumpOnFailure();
  const { first: alice, one, two, projectId } = pair;
  process.kill(b.pid!, 'SIGSTOP');
  try {
    await writeFile(join(one, 'notes.txt'), 'one\nwhile b was stopped\n');
    await writeFile(join(one, 'added.txt'), 'added while b was stopped\n');
    await alice.untilSynced(one);
    // Everything b has not read yet is trimmed away.
    await redis.client().xtrim(PROJECT_STREAM_PREFIX + projectId, 'MAXLEN', 0);
  } finally {
    process.kill(b.pid!, 'SIGCONT');
  }
  await untilContent(join(two, 'added.txt'), 'added while b was stopped\n');
  await untilContent(join(two, 'notes.txt'), 'one\nwhile b was stopped\n');
  await untilIdentical(one, two);
});

it('keeps both folders in step through a Redis restart in the middle of their edits', async () => {
  dumpOnFailure();
  const { first: alice, second: bob, one, two } = pair;
  const expected = new Map<string, string>();
  await writeBoth(expected, [one, two], ['alice', 'bob'], 0, 8);
  await redis.kill();
  await writeBoth(expected, [one, two], ['alice', 'bob'], 8, 16);
  await redis.restart();
  await writeBoth(expected, [one, two], ['alice', 'bob'], 16, 24);
  await expectAllPresent(expected, [one, two], [alice, bob]);
});

it("drops a killed instance's clients from everyone's presence, and closes their session rows", async () => {
  dumpOnFailure();
  const alice = await signIn(b.url, 'alice');
  const bob = await signIn(b.url, 'bob');
  const api = apiClient(b.url, alice.token);
  const projectId: string = (await api('POST', '/api/projects', { name: 'presence' })).body.id;
  await api('POST', `/api/projects/${projectId}/members`, { username: 'bob', role: 'editor' });
  const bobOnA = await LiveTestClient.connect(a.url, projectId, bob.token);
  const aliceOnB = await LiveTestClient.connect(b.url, projectId, alice.token);
  const awareness = new Awareness(new Y.Doc());
  try {
    awareness.setLocalState({ user: { name: 'bob' }, file: 'notes.txt' });
    bobOnA.send(encodeAwareness(INDEX_DOC, encodeAwarenessUpdate(awareness, [awareness.clientID])));
    const bobOnline = () => {
      const view = new Awareness(new Y.Doc());
      for (const update of aliceOnB.awareness) applyAwarenessUpdate(view, update, 'server');
      const online = view.getStates().has(awareness.clientID);
      view.destroy();
      return online;
    };
    await aliceOnB.until(() => bobOnline());
    await a.stop('SIGKILL');
    // Within the heartbeat's time to live (10 s), before awareness's own 30 s timeout.
    await aliceOnB.until(() => !bobOnline(), 30_000);
    await eventually(async () => {
      const sessions = (await api('GET', `/api/projects/${projectId}/sessions`)).body.items;
      const bobs = sessions.flatMap((session: any) => session.participants).filter((p: any) => p.username === 'bob');
      expect(bobs.length).toBeGreaterThan(0);
      expect(bobs.every((p: any) => p.leftAt !== null)).toBe(true);
    }, 15_000, 200);
  } finally {
    awareness.destroy();
    bobOnA.socket.terminate();
    aliceOnB.socket.terminate();
    await a.start();
  }
});

it('loses no edit when an instance is killed mid-stream, nor in a rolling restart: the daemons reconnect through HAProxy', async () => {
  dumpOnFailure();
  const { first: carol, second: dave, one, two, projectId } = await pairOn(['carol', 'dave'], [cluster.url, cluster.url], { 'start.txt': 'start\n' });
  const expected = new Map<string, string>();
  const editing = writeBoth(expected, [one, two], ['carol', 'dave'], 0, 30);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await a.stop('SIGKILL');
  await editing;
  await expectAllPresent(expected, [one, two], [carol, dave]);
  // A rolling restart: the killed one back, the other drained with SIGTERM.
  await a.start();
  await b.stop('SIGTERM');
  await writeBoth(expected, [one, two], ['carol', 'dave'], 30, 36);
  await expectAllPresent(expected, [one, two], [carol, dave]);
  await b.start();
  // project_files too, materialised by whichever instance owns the project now.
  await eventually(() => expectServerMatches(cluster.url, carol.token, projectId, one), 10_000, 200);
});
