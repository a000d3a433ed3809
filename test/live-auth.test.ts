// Who may open a live socket, and what a viewer's writes come to: nothing, anywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { LiveTestClient } from './helpers/live-client.js';
import { apiClient, signIn, type TestServer } from './helpers/server.js';
import { startServerOn } from './helpers/server-on-storage.js';
import { STORAGE_KINDS, createTestStorage, type TestStorage } from './helpers/storage.js';
import { PROTOCOL_VERSION } from '../common/protocol.js';

interface UpgradeOutcome {
  status: number;
  body: any;
  /** Frames received: a refused upgrade must not deliver any. */
  frames: number;
}

/** Tries a WebSocket upgrade and reports the HTTP answer instead of failing on it. */
function tryUpgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    let frames = 0;
    socket.on('message', () => frames++);
    socket.on('error', () => {});
    socket.once('open', () => {
      socket.close();
      resolve({ status: 101, body: null, frames });
    });
    socket.once('unexpected-response', (request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : null, frames });
        request.destroy();
      });
      response.on('error', reject);
    });
  });
}

/** Every stored update of a project, decoded: who wrote it and which Yjs clients it holds. */
async function storedUpdates(db: Kysely<Database>, projectId: string) {
  const rows = await db.selectFrom('doc_updates').select(['doc_name', 'update', 'user_id']).where('project_id', '=', projectId).execute();
  const snapshots = await db.selectFrom('doc_snapshots').select(['doc_name', 'state']).where('project_id', '=', projectId).execute();
  const clientsOf = (update: Uint8Array) => new Set(Y.decodeUpdate(update).structs.map((s) => s.id.client));
  return {
    userIds: new Set(rows.map((r) => r.user_id)),
    yjsClients: new Set([...rows, ...snapshots.map((s) => ({ update: s.state }))].flatMap((r) => [...clientsOf(r.update)])),
    count: rows.length,
  };
}

const wsBase = (server: TestServer) => server.url.replace(/^http/, 'ws');

describe.each(STORAGE_KINDS)('live access [%s]', (kind) => {
  let storage: TestStorage;
  let server: TestServer;
  let alice: { token: string; user: { id: string } };
  let vic: { token: string; user: { id: string } };
  let mallory: { token: string };
  let projectId: string;

  beforeAll(async () => {
    storage = await createTestStorage(kind);
    server = await startServerOn(storage);
    alice = await signIn(server.url, 'alice');
    vic = await signIn(server.url, 'vic');
    mallory = await signIn(server.url, 'mallory');
    const created = await apiClient(server.url, alice.token)('POST', '/api/projects', { name: 'secret', visibility: 'private' });
    projectId = created.body.id;
    await server.app.db.insertInto('project_members').values({ project_id: projectId, user_id: vic.user.id, role: 'viewer' }).execute();
  });
  afterAll(async () => {
    await server?.close();
    await storage?.dispose();
  });

  it('refuses the upgrade with HTTP 401, before any frame, without a token or with a wrong one', async () => {
    const multiplexed = `${wsBase(server)}/api/projects/${projectId}/ws?protocol=${PROTOCOL_VERSION}`;
    const plain = `${wsBase(server)}/yjs/${projectId}/index`;
    for (const url of [multiplexed, plain]) {
      const none = await tryUpgrade(url);
      expect(none).toMatchObject({ status: 401, frames: 0, body: { error: { code: 'CS_ERR_UNAUTHORIZED' } } });
      const wrongHeader = await tryUpgrade(url, { authorization: 'Bearer cs_not-a-real-token' });
      expect(wrongHeader).toMatchObject({ status: 401, frames: 0, body: { error: { code: 'CS_ERR_INVALID_TOKEN' } } });
      const wrongQuery = await tryUpgrade(`${url}${url.includes('?') ? '&' : '?'}token=cs_not-a-real-token`);
      expect(wrongQuery).toMatchObject({ status: 401, frames: 0, body: { error: { code: 'CS_ERR_INVALID_TOKEN' } } });
    }
    // The right token in either form opens both.
    expect((await tryUpgrade(multiplexed, { authorization: `Bearer ${alice.token}` })).status).toBe(101);
    expect((await tryUpgrade(`${plain}?token=${alice.token}`)).status).toBe(101);
  });

  it('answers 404 to a non-member of a private project, as if it did not exist', async () => {
    for (const url of [`${wsBase(server)}/api/projects/${projectId}/ws?protocol=${PROTOCOL_VERSION}`, `${wsBase(server)}/yjs/${projectId}/index`]) {
      const outsider = await tryUpgrade(url, { authorization: `Bearer ${mallory.token}` });
      expect(outsider).toMatchObject({ status: 404, frames: 0, body: { error: { code: 'CS_ERR_PROJECT_NOT_FOUND' } } });
    }
    const missing = await tryUpgrade(`${wsBase(server)}/api/projects/00000000-0000-4000-8000-000000000000/ws`, {
      authorization: `Bearer ${mallory.token}`,
    });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'CS_ERR_PROJECT_NOT_FOUND' } } });
  });

  it("lets a viewer follow edits but denies its own: not relayed, not stored, not there after a restart", async () => {
    const a = await LiveTestClient.connect(server.url, projectId, alice.token);
    const v = await LiveTestClient.connect(server.url, projectId, vic.token);
    const aText = a.subscribe('file:v1').getText('content');
    aText.insert(0, 'written by the owner\n');
    await a.untilPersisted('file:v1');
    const vDoc = v.subscribe('file:v1');
    const vText = vDoc.getText('content');
    await v.until(() => vText.toString() === 'written by the owner\n');

    vText.insert(0, 'VIEWER WAS HERE\n');
    await v.until(() => v.denied.length > 0);
    expect(v.denied).toEqual([{ docName: 'file:v1', reason: expect.stringContaining('read-only') }]);

    // The viewer stays connected and keeps receiving; the owner never sees the viewer's text
    // (a relay would have reached the owner before the acknowledgement of a later edit).
    aText.insert(aText.length, 'second line\n');
    await a.untilPersisted('file:v1');
    await v.until(() => vText.toString().includes('second line'));
    expect(v.closeCode).toBeNull();
    expect(aText.toString()).toBe('written by the owner\nsecond line\n');

    const stored = await storedUpdates(server.app.db, projectId);
    expect(stored.count).toBeGreaterThan(0);
    expect(stored.userIds.has(vic.user.id)).toBe(false);
    expect(stored.yjsClients.has(vDoc.clientID)).toBe(false);
    await Promise.all([a.close(), v.close()]);

    // A restart on the same storage loads only what the owner wrote.
    await server.close();
    server = await startServerOn(storage);
    const late = await LiveTestClient.connect(server.url, projectId, alice.token);
    const lateDoc = late.subscribe('file:v1');
    await late.until(() => lateDoc.getText('content').length > 0);
    expect(lateDoc.getText('content').toString()).toBe('written by the owner\nsecond line\n');
    expect(Y.decodeStateVector(Y.encodeStateVector(lateDoc)).has(vDoc.clientID)).toBe(false);
    await late.close();
  });

  it('applies nothing more from a socket closed because its access changed, even before the client read the close', async () => {
    const eve = await signIn(server.url, 'eve');
    await server.app.db.insertInto('project_members').values({ project_id: projectId, user_id: eve.user.id, role: 'editor' }).execute();
    const owner = await LiveTestClient.connect(server.url, projectId, alice.token);
    const ownerText = owner.subscribe('file:v3').getText('content');
    ownerText.insert(0, 'owner text\n');
    await owner.untilPersisted('file:v3');
    const demoted = await LiveTestClient.connect(server.url, projectId, eve.token);
    const eveDoc = demoted.subscribe('file:v3');
    await demoted.until(() => eveDoc.getText('content').toString() === 'owner text\n');

    // Eve's client stops reading, so it keeps sending as if nothing happened.
    (demoted.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const demote = await apiClient(server.url, alice.token)('PATCH', `/api/projects/${projectId}/members/eve`, { role: 'viewer' });
    expect(demote.status).toBe(200);
    eveDoc.getText('content').insert(0, 'EDIT AFTER DEMOTION\n');
    (demoted.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.resume();
    // Eve's close answer follows her edit on the wire: once closed, the server has seen both.
    await demoted.until(() => demoted.closeCode !== null);
    expect(demoted.closeCode).toBe(4409);

    ownerText.insert(ownerText.length, 'owner again\n');
    await owner.untilPersisted('file:v3');
    expect(ownerText.toString()).toBe('owner text\nowner again\n');
    const stored = await storedUpdates(server.app.db, projectId);
    expect(stored.yjsClients.has(eveDoc.clientID)).toBe(false);
    await Promise.all([owner.close(), demoted.close()]);
  });

  it("drops a viewer's updates on the y-websocket endpoint", async () => {
    const a = await LiveTestClient.connect(server.url, projectId, alice.token);
    const aText = a.subscribe('file:v2').getText('content');
    aText.insert(0, 'shared text\n');
    await a.untilPersisted('file:v2');

    const open = (token: string) => {
      const doc = new Y.Doc();
      const provider = new WebsocketProvider(`${wsBase(server)}/yjs/${projectId}`, 'file:v2', doc, {
        WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
        params: { token },
        disableBc: true,
      });
      return { doc, provider, text: doc.getText('content') };
    };
    const viewer = open(vic.token);
    const owner = open(alice.token);
    try {
      await a.until(() => viewer.text.toString() === 'shared text\n' && owner.text.toString() === 'shared text\n');
      viewer.text.insert(0, 'VIEWER WAS HERE\n');
      // Sent after the update on the same socket: once the owner's editor sees this presence,
      // the server has handled (and dropped) the update before it.
      viewer.provider.awareness.setLocalStateField('user', { name: 'vic' });
      await a.until(() => [...owner.provider.awareness.getStates().values()].some((s) => s.user?.name === 'vic'));

      aText.insert(aText.length, 'owner again\n');
      await a.untilPersisted('file:v2');
      await a.until(() => viewer.text.toString().includes('owner again') && owner.text.toString().includes('owner again'));
      expect(aText.toString()).toBe('shared text\nowner again\n');
      expect(owner.text.toString()).toBe('shared text\nowner again\n');

      const stored = await storedUpdates(server.app.db, projectId);
      expect(stored.userIds.has(vic.user.id)).toBe(false);
      expect(stored.yjsClients.has(viewer.doc.clientID)).toBe(false);
      const late = await LiveTestClient.connect(server.url, projectId, alice.token);
      const lateText = late.subscribe('file:v2').getText('content');
      await late.until(() => lateText.toString() === 'shared text\nowner again\n');
      await late.close();
    } finally {
      viewer.provider.destroy();
      owner.provider.destroy();
      await a.close();
    }
  });
});
