// Two server instances in this process on one PostgreSQL and a real Redis (DESIGN.md,
// Scale-out): updates and presence cross between them through Redis Streams, and what Redis
// loses (an entry never added, a Redis restart) is caught up from PostgreSQL.
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { INDEX_DOC, encodeAwareness, fileDocName } from '../../common/protocol.js';
import type { ServerConfig } from '../../server/config.js';
import { apiClient, signIn, type TestServer } from '../helpers/server.js';
import { startServerOn } from '../helpers/server-on-storage.js';
import { createTestStorage, type TestStorage } from '../helpers/storage.js';
import { LiveTestClient } from '../helpers/live-client.js';
import { MACHINE_REDIS_URL, startOwnRedis } from '../helpers/redis.js';
import { eventually } from '../helpers/eventually.js';
import { readAwarenessUpdate } from '../../server/rooms/awareness-entries.js';

const DOC = fileDocName('shared');

interface Cluster {
  a: TestServer;
  b: TestServer;
  token: string;
  projectId: string;
}

let storage: TestStorage | null = null;
const opened: TestServer[] = [];
const clients: LiveTestClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  for (const server of opened.splice(0)) await server.close();
  await storage?.dispose();
  storage = null;
});

async function startCluster(redisUrl: string): Promise<Cluster> {
  storage = await createTestStorage('postgres');
  const configure = (config: ServerConfig) => {
    config.cluster.redisUrl = redisUrl;
    config.cluster.streams = { checkEveryMs: 300, gapWaitMs: 100 };
    config.cluster.heartbeat = { beatMs: 200, ttlMs: 1_000 };
  };
  const a = await startServerOn(storage, configure);
  opened.push(a);
  const b = await startServerOn(storage, configure);
  opened.push(b);
  const { token } = await signIn(a.url, 'alice');
  const projectId = (await apiClient(a.url, token)('POST', '/api/projects', { name: `cluster-${Date.now()}` })).body.id;
  return { a, b, token, projectId };
}

async function connect(server: TestServer, cluster: Cluster, token = cluster.token): Promise<LiveTestClient> {
  const client = await LiveTestClient.connect(server.url, cluster.projectId, token);
  clients.push(client);
  return client;
}

const textOf = (client: LiveTestClient) => client.doc(DOC).getText('content').toString();

function type(client: LiveTestClient, text: string): void {
  const ytext = client.doc(DOC).getText('content');
  ytext.insert(ytext.length, text);
}

describe('two instances on Redis Streams', () => {
  it('relay edits both ways, each acknowledged by its own instance', async () => {
    const cluster = await startCluster(MACHINE_REDIS_URL);
    const onA = await connect(cluster.a, cluster);
    const onB = await connect(cluster.b, cluster);
    onA.subscribe(DOC);
    onB.subscribe(DOC);
    await onA.untilPersisted(DOC).catch(() => undefined);
    type(onA, 'from a;');
    await onB.until(() => textOf(onB) === 'from a;');
    type(onB, 'from b;');
    await onA.until(() => textOf(onA) === 'from a;from b;');
    await onB.untilPersisted(DOC);
    const health = await (await fetch(`${cluster.a.url}/healthz`)).json();
    expect(health).toMatchObject({ status: 'ok', fanout: { kind: 'redis', ok: true } });
  });

  it('carry presence across, with the name the token gives, not the one a client claims', async () => {
    const cluster = await startCluster(MACHINE_REDIS_URL);
    const mallory = await signIn(cluster.a.url, 'mallory');
    await cluster.a.app.db.insertInto('project_members').values({ project_id: cluster.projectId, user_id: mallory.user.id, role: 'editor' }).execute();
    const onB = await connect(cluster.b, cluster);
    const onA = await connect(cluster.a, cluster, mallory.token);
    const awareness = new Awareness(new Y.Doc());
    awareness.setLocalState({ user: { name: 'alice', id: 'someone-else' }, file: 'src/app.ts', branch: 'main' });
    onA.send(encodeAwareness(INDEX_DOC, encodeAwarenessUpdate(awareness, [awareness.clientID])));
    const seen = () =>
      onB.awareness
        .flatMap((update) => readAwarenessUpdate(update))
        .find((entry) => entry.clientId === awareness.clientID && entry.state !== null);
    await onB.until(() => seen() !== undefined);
    expect(seen()!.state).toMatchObject({ user: { name: 'mallory', id: mallory.user.id }, file: 'src/app.ts', branch: 'main' });
    awareness.destroy();
  });

  it('catch up from PostgreSQL what never reached the stream (an instance killed between its commit and its XADD)', async () => {
    const cluster = await startCluster(MACHINE_REDIS_URL);
    const onA = await connect(cluster.a, cluster);
    const onB = await connect(cluster.b, cluster);
    onA.subscribe(DOC);
    onB.subscribe(DOC);
    type(onA, 'first;');
    await onB.until(() => textOf(onB) === 'first;');
    // A stops announcing what it stores: B hears nothing of these edits through Redis.
    const fanout = cluster.a.app.live.fanout;
    const publish = fanout.publish.bind(fanout);
    fanout.publish = (message) => {
      if (message.kind !== 'committed') publish(message);
    };
    type(onA, 'lost in redis;');
    await onA.untilPersisted(DOC);
    await onB.until(() => textOf(onB) === 'first;lost in redis;', 5_000);
  });

  it('keep serving their own clients while Redis is down, and catch up when it is back', async () => {
    const redis = await startOwnRedis();
    const cluster = await startCluster(redis.url);
    const onA = await connect(cluster.a, cluster);
    const onB = await connect(cluster.b, cluster);
    onA.subscribe(DOC);
    onB.subscribe(DOC);
    type(onA, 'before;');
    await onB.until(() => textOf(onB) === 'before;');
    await redis.kill();
    await eventually(async () => {
      const health = await (await fetch(`${cluster.b.url}/healthz`)).json();
      expect(health).toMatchObject({ status: 'degraded', fanout: { kind: 'redis', ok: false } });
    });
    // Each instance still relays and stores for its own clients...
    const second = await connect(cluster.a, cluster);
    second.subscribe(DOC);
    type(onA, 'while down;');
    await second.until(() => textOf(second) === 'before;while down;');
    await onA.untilPersisted(DOC);
    await redis.restart();
    await eventually(async () => {
      const health = await (await fetch(`${cluster.b.url}/healthz`)).json();
      expect(health).toMatchObject({ status: 'ok' });
    }, 10_000);
    // ...and the other instance's clients have what was stored meanwhile, and what comes next.
    await onB.until(() => textOf(onB) === 'before;while down;', 10_000);
    type(onB, 'after;');
    await onA.until(() => textOf(onA) === 'before;while down;after;', 5_000);
  });

  it('materialise each change once, on the instance that owns the project, and hand it over when that one stops', async () => {
    const cluster = await startCluster(MACHINE_REDIS_URL);
    const onA = apiClient(cluster.a.url, cluster.token);
    const onB = apiClient(cluster.b.url, cluster.token);
    const put = (api: typeof onA, text: string) =>
      fetch(`${api === onA ? cluster.a.url : cluster.b.url}/api/projects/${cluster.projectId}/files/content?path=notes.txt`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(text),
      }).then((res) => expect(res.status).toBe(200));
    const read = async (api: typeof onA) => {
      const res = await fetch(`${api === onA ? cluster.a.url : cluster.b.url}/api/projects/${cluster.projectId}/files/content?path=notes.txt`, {
        headers: { authorization: `Bearer ${cluster.token}` },
      });
      return res.status === 200 ? res.text() : null;
    };
    const actions = async () => (await onA('GET', `/api/projects/${cluster.projectId}/activity`)).body.items.map((item: any) => item.action).reverse();
    await put(onA, 'one\n');
    await eventually(async () => expect(await read(onB)).toBe('one\n'));
    await put(onB, 'one\ntwo\n');
    await eventually(async () => expect(await read(onA)).toBe('one\ntwo\n'));
    // Both instances heard both changes; each is recorded once.
    await cluster.a.app.live.materializer.flushAll();
    await cluster.b.app.live.materializer.flushAll();
    expect(await actions()).toEqual(['created', 'edited']);
    // The owner stops: the other instance materialises from its next change on.
    await opened.shift()!.close();
    await put(onB, 'one\ntwo\nthree\n');
    await eventually(async () => expect(await read(onB)).toBe('one\ntwo\nthree\n'));
    expect((await onB('GET', `/api/projects/${cluster.projectId}/activity`)).body.items.map((item: any) => item.action)).toEqual(['edited', 'edited', 'created']);
  });

  it("close a removed member's sockets on every instance, not only the one that removed them", async () => {
    const cluster = await startCluster(MACHINE_REDIS_URL);
    const bob = await signIn(cluster.a.url, 'bob');
    const owner = apiClient(cluster.a.url, cluster.token);
    expect((await owner('POST', `/api/projects/${cluster.projectId}/members`, { username: 'bob', role: 'editor' })).status).toBe(201);
    const bobOnB = await connect(cluster.b, cluster, bob.token);
    bobOnB.subscribe(DOC);
    const aliceOnB = await connect(cluster.b, cluster);
    aliceOnB.subscribe(DOC);
    expect((await owner('DELETE', `/api/projects/${cluster.projectId}/members/bob`)).status).toBe(204);
    await bobOnB.until(() => bobOnB.closeCode !== null);
    expect(bobOnB.closeCode).toBe(4409);
    // Only bob's access changed.
    type(aliceOnB, 'still here;');
    await aliceOnB.untilPersisted(DOC);
    expect(aliceOnB.closeCode).toBeNull();
  });
});
