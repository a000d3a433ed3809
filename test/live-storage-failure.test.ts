// When the update log cannot be written: nothing is acknowledged that was not stored, live
// clients are dropped to resync, and the server keeps serving once storage is back. When a doc
// cannot be loaded: its subscription is refused, never answered with a blank doc.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { IndexEntry } from '../common/index-entry.js';
import { eventually } from './helpers/eventually.js';
import { LiveTestClient } from './helpers/live-client.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';

describe('live rooms when the update log is unavailable', () => {
  let server: TestServer;
  let alice: { token: string };
  let projectId: string;

  beforeAll(async () => {
    // Storage plays no part here (the storage suites cover both); PostgreSQL starts fastest.
    server = await startTestServer('postgres');
    alice = await signIn(server.url, 'alice');
    projectId = (await apiClient(server.url, alice.token)('POST', '/api/projects', { name: 'outage' })).body.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('acknowledges nothing unstored: a PUT fails, live clients are dropped with 1011, and they resync once storage is back', async () => {
    const client = await LiveTestClient.connect(server.url, projectId, alice.token);
    const index = client.subscribe('index').getMap<IndexEntry>('files');
    const text = client.subscribe('file:s1').getText('content');
    text.insert(0, 'stored\n');
    index.set('notes.txt', { id: 's1', kind: 'text', mode: 0o644, size: 7 });
    await client.untilPersisted('file:s1');
    await client.untilPersisted('index');

    await sql`alter table doc_updates rename to doc_updates_unavailable`.execute(server.app.db);
    let restored = false;
    const restore = async () => {
      if (restored) return;
      restored = true;
      await sql`alter table doc_updates_unavailable rename to doc_updates`.execute(server.app.db);
    };
    try {
      const put = await fetch(`${server.url}/api/projects/${projectId}/files/content?path=notes.txt`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'text/plain' },
        body: 'written during the outage\n',
      });
      expect(put.status).toBe(500);
      // The live client saw the change relayed, then was dropped so it resyncs.
      await client.until(() => client.closeCode !== null, 10_000);
      expect(client.closeCode).toBe(1011);
    } finally {
      await restore();
    }

    // Back: a client that reconnects with what it holds gets it stored by state vector.
    const again = await LiveTestClient.connect(server.url, projectId, alice.token);
    const resynced = again.doc('file:s1');
    // Held before subscribing, as a daemon's local store would (the client as origin: not sent as an edit).
    Y.applyUpdate(resynced, Y.encodeStateAsUpdate(client.doc('file:s1')), again);
    again.subscribe('file:s1');
    await again.until(() => again.persisted.has('file:s1'));
    const fresh = await LiveTestClient.connect(server.url, projectId, alice.token);
    const freshText = fresh.subscribe('file:s1').getText('content');
    await fresh.until(() => freshText.toString() === resynced.getText('content').toString());
    expect(freshText.toString()).toBe('written during the outage\n');
    await Promise.all([client.close(), again.close(), fresh.close()]);
  });
});

describe('live rooms when a doc cannot be loaded', () => {
  let server: TestServer;
  let alice: { token: string };
  let projectId: string;

  beforeAll(async () => {
    server = await startTestServer('postgres', (c) => {
      c.rooms.idleUnloadMs = 50;
    });
    alice = await signIn(server.url, 'alice');
    projectId = (await apiClient(server.url, alice.token)('POST', '/api/projects', { name: 'unloadable' })).body.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses the subscription rather than serve a blank doc, forgets the room, and loads it in full once storage is back', async () => {
    const writer = await LiveTestClient.connect(server.url, projectId, alice.token);
    writer.subscribe('file:l1').getText('content').insert(0, 'kept\n');
    await writer.untilPersisted('file:l1');
    await writer.close();
    // The materialiser's run for that edit loads the index: done before storage goes away, so
    // no load of its own races the outage below.
    await server.app.live.materializer.flushAll();
    await eventually(() => expect(server.app.live.registry.loaded(projectId, 'file:l1')).toBeNull());

    await sql`alter table doc_snapshots rename to doc_snapshots_unavailable`.execute(server.app.db);
    const loadedBefore = server.app.live.registry.loadedCount;
    let restored = false;
    const restore = async () => {
      if (restored) return;
      restored = true;
      await sql`alter table doc_snapshots_unavailable rename to doc_snapshots`.execute(server.app.db);
    };
    const reader = await LiveTestClient.connect(server.url, projectId, alice.token);
    try {
      const text = reader.subscribe('file:l1').getText('content');
      await reader.until(() => reader.denied.some((d) => d.docName === 'file:l1'));
      expect(text.toString()).toBe('');
      // The room that could not load is forgotten, not kept as a blank doc.
      // (Not more rooms than before: the index the materialiser loaded may unload meanwhile.)
      expect(server.app.live.registry.loadedCount).toBeLessThanOrEqual(loadedBefore);
      expect(server.app.live.registry.loaded(projectId, 'file:l1')).toBeNull();
      expect(reader.closeCode).toBeNull();
    } finally {
      await restore();
    }

    const text = reader.subscribe('file:l1').getText('content');
    await reader.until(() => text.toString() === 'kept\n');
    await reader.close();
  });
});
