// Any Yjs editor binding joins a file through the stock y-websocket provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { LiveTestClient } from './helpers/live-client.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';

describe('the y-websocket endpoint', () => {
  let server: TestServer;
  let alice: { token: string };
  let projectId: string;

  beforeAll(async () => {
    // Storage plays no part here (the storage suites cover both); PostgreSQL starts fastest.
    server = await startTestServer('postgres');
    alice = await signIn(server.url, 'alice');
    const created = await apiClient(server.url, alice.token)('POST', '/api/projects', { name: 'editor-binding' });
    projectId = created.body.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  it("lets the y-websocket provider edit a file doc together with a multiplexed client", async () => {
    const client = await LiveTestClient.connect(server.url, projectId, alice.token);
    const doc = new Y.Doc();
    // y-websocket joins `serverUrl + '/' + roomname`: /yjs/<project>/file:<id>?token=...
    const provider = new WebsocketProvider(`${server.url.replace(/^http/, 'ws')}/yjs/${projectId}`, 'file:ed1', doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      params: { token: alice.token },
      disableBc: true,
    });
    try {
      const clientText = client.subscribe('file:ed1').getText('content');
      clientText.insert(0, 'from the daemon\n');
      await client.untilPersisted('file:ed1');

      await new Promise<void>((resolve) => {
        if (provider.synced) resolve();
        else provider.once('sync', (synced: boolean) => synced && resolve());
      });
      const editorText = doc.getText('content');
      await client.until(() => editorText.toString() === 'from the daemon\n');

      // Both edit at once; each sees the other's edit.
      editorText.insert(editorText.length, 'from the editor\n');
      clientText.insert(0, '// header\n');
      const expected = '// header\nfrom the daemon\nfrom the editor\n';
      await client.until(() => clientText.toString() === expected && editorText.toString() === expected);
      expect(editorText.toString()).toBe(expected);
      expect(clientText.toString()).toBe(expected);

      // The server holds the editor's edit: a newcomer gets it.
      const late = await LiveTestClient.connect(server.url, projectId, alice.token);
      const lateText = late.subscribe('file:ed1').getText('content');
      await late.until(() => lateText.toString() === expected);
      await late.close();
    } finally {
      provider.destroy();
      doc.destroy();
      await client.close();
    }
  });
});
