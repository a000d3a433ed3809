import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { STORAGE_KINDS } from './helpers/storage.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';
import { LiveTestClient } from './helpers/live-client.js';

describe.each(STORAGE_KINDS)('live rooms [%s]', (kind) => {
  let server: TestServer;
  let alice: { token: string };
  let bob: { token: string };
  let projectId: string;

  beforeAll(async () => {
    server = await startTestServer(kind, (c) => {
      c.rooms.materializeDebounceMs = 50;
    });
    alice = await signIn(server.url, 'alice');
    bob = await signIn(server.url, 'bob');
    const created = await apiClient(server.url, alice.token)('POST', '/api/projects', { name: 'live' });
    projectId = created.body.id;
    await apiClient(server.url, alice.token)('POST', `/api/projects/${projectId}/members`, { username: 'bob', role: 'editor' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('two clients converge on the index doc and a file doc, and edits are persisted', async () => {
    const a = await LiveTestClient.connect(server.url, projectId, alice.token);
    const b = await LiveTestClient.connect(server.url, projectId, bob.token);
    const aIndex = a.subscribe('index');
    const bIndex = b.subscribe('index');
    const aFile = a.subscribe('file:f1');
    const bFile = b.subscribe('file:f1');
    aIndex.getMap('files').set('README.md', { id: 'f1', kind: 'text', mode: 0o644, size: 5 });
    aFile.getText('content').insert(0, 'hello');
    await b.until(() => bFile.getText('content').toString() === 'hello' && bIndex.getMap('files').has('README.md'));
    bFile.getText('content').insert(5, ' world');
    await a.until(() => aFile.getText('content').toString() === 'hello world');
    await a.untilPersisted('file:f1');
    await b.untilPersisted('file:f1');
    await a.close();
    await b.close();
  });
});
