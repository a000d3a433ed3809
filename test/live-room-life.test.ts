// A room's life after its users leave: idle docs unload and come back identical; the update
// log folds into a snapshot without changing what the doc holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { eventually } from './helpers/eventually.js';
import { LiveTestClient } from './helpers/live-client.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';
import { STORAGE_KINDS } from './helpers/storage.js';

const COMPACT_AFTER = 10;

describe.each(STORAGE_KINDS)('room life [%s]', (kind) => {
  let server: TestServer;
  let alice: { token: string };
  let projectId: string;

  beforeAll(async () => {
    server = await startTestServer(kind, (c) => {
      c.rooms.idleUnloadMs = 50;
      c.rooms.compactAfterUpdates = COMPACT_AFTER;
      c.rooms.compactOnUnloadAfterUpdates = 1;
      c.rooms.materializeDebounceMs = 20;
    });
    alice = await signIn(server.url, 'alice');
    projectId = (await apiClient(server.url, alice.token)('POST', '/api/projects', { name: 'rooms' })).body.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  const allUnloaded = () =>
    eventually(() => {
      expect(server.app.live.registry.loadedCount).toBe(0);
    });

  /** A new client's view of a doc, loaded from storage by the server. */
  async function reload(docName: string, expectedText: string): Promise<Y.Doc> {
    const client = await LiveTestClient.connect(server.url, projectId, alice.token);
    const doc = client.subscribe(docName);
    await client.until(() => client.persisted.has(docName) && doc.getText('content').toString() === expectedText);
    await client.close();
    return doc;
  }

  const logRows = (docName: string) =>
    server.app.db
      .selectFrom('doc_updates')
      .select(['seq', 'update'])
      .where('project_id', '=', projectId)
      .where('doc_name', '=', docName)
      .orderBy('seq')
      .execute();
  const snapshotOf = (docName: string) =>
    server.app.db
      .selectFrom('doc_snapshots')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('doc_name', '=', docName)
      .executeTakeFirst();

  it('unloads an idle doc and loads it back with the same content', async () => {
    const client = await LiveTestClient.connect(server.url, projectId, alice.token);
    const doc = client.subscribe('file:idle');
    await client.until(() => client.persisted.has('file:idle'));
    const text = doc.getText('content');
    for (const word of ['one ', 'two ', 'three ']) {
      text.insert(text.length, word);
      await new Promise((resolve) => setImmediate(resolve));
    }
    text.delete(0, 4);
    await client.untilPersisted('file:idle');
    expect(server.app.live.registry.loadedCount).toBeGreaterThan(0);
    await client.close();

    await allUnloaded();
    const reloaded = await reload('file:idle', 'two three ');
    expect(Y.encodeStateVector(reloaded)).toEqual(Y.encodeStateVector(doc));
    expect(Y.encodeStateAsUpdate(reloaded)).toEqual(Y.encodeStateAsUpdate(doc));
  });

  it('folds the update log into a snapshot and loads the same doc from it', async () => {
    const client = await LiveTestClient.connect(server.url, projectId, alice.token);
    const doc = client.subscribe('file:compact');
    await client.until(() => client.persisted.has('file:compact'));
    const text = doc.getText('content');
    const edits = COMPACT_AFTER * 2 + 5;
    for (let n = 0; n < edits; n++) {
      text.insert(text.length, `edit ${n}\n`);
      if (n % 3 === 2) text.delete(0, 1);
      await client.untilPersisted('file:compact');
    }

    // Past the threshold the log was folded: a snapshot, and no row it covers left behind.
    const snapshot = await eventually(async () => {
      const found = await snapshotOf('file:compact');
      expect(found).toBeDefined();
      const rows = await logRows('file:compact');
      expect(rows.filter((r) => r.seq <= found!.upto_seq)).toEqual([]);
      expect(rows.length).toBeLessThan(COMPACT_AFTER);
      return { found: found!, rows };
    });
    expect(Uint8Array.from(snapshot.found.state_vector)).toEqual(Y.encodeStateVectorFromUpdate(snapshot.found.state));
    // Snapshot plus the rest of the log is exactly the client's doc.
    const stored = new Y.Doc();
    Y.applyUpdate(stored, snapshot.found.state);
    for (const row of snapshot.rows) Y.applyUpdate(stored, row.update);
    expect(stored.getText('content').toString()).toBe(text.toString());
    expect(Y.encodeStateVector(stored)).toEqual(Y.encodeStateVector(doc));
    await client.close();

    // Unloading folds the rest; the doc comes back identical from the snapshot alone.
    await allUnloaded();
    expect(await logRows('file:compact')).toEqual([]);
    const reloaded = await reload('file:compact', text.toString());
    expect(Y.encodeStateVector(reloaded)).toEqual(Y.encodeStateVector(doc));
    expect(Y.encodeStateAsUpdate(reloaded)).toEqual(Y.encodeStateAsUpdate(doc));
  });
});
