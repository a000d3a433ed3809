// What a real server process keeps when it dies: a kill -9 loses nothing it acknowledged with
// `persisted`; a SIGTERM stores everything it applied, then exits 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CloseCode } from '../common/protocol.js';
import { LiveTestClient } from './helpers/live-client.js';
import { apiClient, signIn } from './helpers/server.js';
import { startServerProcess } from './helpers/server-process.js';
import { STORAGE_KINDS, createTestStorage, type TestStorage } from './helpers/storage.js';

async function projectOn(url: string, name: string) {
  const alice = await signIn(url, 'alice');
  const created = await apiClient(url, alice.token)('POST', '/api/projects', { name });
  expect(created.status).toBe(201);
  return { token: alice.token, projectId: created.body.id as string };
}

/** Everything a fresh client gets for `docNames` from the server at `url`. */
async function loadFresh(url: string, projectId: string, token: string, docNames: string[], ready: (docs: Map<string, Y.Doc>) => boolean) {
  const client = await LiveTestClient.connect(url, projectId, token);
  for (const docName of docNames) client.subscribe(docName);
  await client.until(() => docNames.every((d) => client.persisted.has(d)) && ready(client.docs));
  await client.close();
  return client.docs;
}

// Each test starts two server processes; PGlite replays its WAL after a kill -9.
const PROCESS_TEST_TIMEOUT = 90_000;

describe.each(STORAGE_KINDS)('live persistence across server processes [%s]', (kind) => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await createTestStorage(kind);
  });
  afterAll(async () => {
    await storage?.dispose();
  });

  it('keeps every acknowledged edit through a kill -9', { timeout: PROCESS_TEST_TIMEOUT }, async () => {
    const first = await startServerProcess(storage);
    const { token, projectId } = await projectOn(first.url, 'killed');
    const client = await LiveTestClient.connect(first.url, projectId, token);
    const index = client.subscribe('index');
    const files = ['file:k1', 'file:k2', 'file:k3'];
    for (const [i, docName] of files.entries()) {
      index.getMap('files').set(`src/f${i}.ts`, { id: docName.slice(5), kind: 'text', mode: 0o644, size: 0 });
      const text = client.subscribe(docName).getText('content');
      // Many small edits over several turns of the event loop: several log batches.
      for (let n = 0; n < 20; n++) {
        text.insert(text.length, `line ${n} of ${docName}\n`);
        if (n % 5 === 4) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    for (const docName of ['index', ...files]) await client.untilPersisted(docName);

    const exit = await first.kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    await client.until(() => client.closeCode !== null);

    const second = await startServerProcess(storage);
    const reloaded = await loadFresh(second.url, projectId, token, ['index', ...files], (docs) =>
      files.every((d) => docs.get(d)!.getText('content').length > 0),
    );
    for (const docName of ['index', ...files]) {
      expect(Y.encodeStateVector(reloaded.get(docName)!), docName).toEqual(Y.encodeStateVector(client.doc(docName)));
    }
    for (const docName of files) {
      expect(reloaded.get(docName)!.getText('content').toString()).toBe(client.doc(docName).getText('content').toString());
    }
    expect(reloaded.get('index')!.getMap('files').toJSON()).toEqual(index.getMap('files').toJSON());
    await client.close();
  });

  it('stores everything it applied when stopped with SIGTERM, and exits 0', { timeout: PROCESS_TEST_TIMEOUT }, async () => {
    const server = await startServerProcess(storage);
    const { token, projectId } = await projectOn(server.url, 'terminated');
    const writer = await LiveTestClient.connect(server.url, projectId, token);
    const watcher = await LiveTestClient.connect(server.url, projectId, token);
    const watched = watcher.subscribe('file:t1').getText('content');
    const text = writer.subscribe('file:t1').getText('content');
    await writer.until(() => writer.persisted.has('file:t1'));
    const lines = Array.from({ length: 200 }, (_, n) => `edit ${n}\n`);
    for (const line of lines) text.insert(text.length, line);
    // The server has applied them all (it relayed them), not necessarily stored them yet.
    await watcher.until(() => watched.length === text.length);

    const exit = await server.kill('SIGTERM');
    expect(exit, server.log()).toEqual({ exitCode: 0, signal: undefined });
    await writer.until(() => writer.closeCode !== null);
    expect(writer.closeCode).toBe(CloseCode.ShuttingDown.code);

    const restarted = await startServerProcess(storage);
    const reloaded = await loadFresh(restarted.url, projectId, token, ['file:t1'], (docs) => docs.get('file:t1')!.getText('content').length > 0);
    expect(reloaded.get('file:t1')!.getText('content').toString()).toBe(lines.join(''));
    await Promise.all([writer.close(), watcher.close()]);
  });
});
