// A materialiser run over more index entries than one slice (a share's first run) stores them
// a slice at a time: every file arrives whole, and renames, deletions and edits made in the same
// run are recorded once each. The slice is 3 entries here; the server's is 2,000.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { IndexEntry } from '../common/index-entry.js';
import { LiveTestClient } from './helpers/live-client.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';

const entry = (id: string, text: string): IndexEntry => ({ id, kind: 'text', mode: 0o644, size: Buffer.byteLength(text) });

let server: TestServer;
let token: string;
let client: LiveTestClient | null = null;

beforeAll(async () => {
  server = await startTestServer('postgres', (config) => {
    config.rooms.materializeSliceEntries = 3;
    // Runs only when the test flushes, so each run holds what the test says.
    config.rooms.materializeDebounceMs = 600_000;
    config.rooms.materializeMaxDelayMs = 600_000;
  });
  token = (await signIn(server.url, 'alice')).token;
});
afterAll(async () => {
  await client?.close();
  await server?.close();
});

it('stores a run of 7 files in slices of 3, then a rename, a deletion, an edit and 2 new files in one run', async () => {
  const api = apiClient(server.url, token);
  const projectId = (await api('POST', '/api/projects', { name: 'sliced' })).body.id as string;
  client = await LiveTestClient.connect(server.url, projectId, token);
  const a = client;
  const index = a.subscribe('index').getMap<IndexEntry>('files');
  const files = async () =>
    ((await api('GET', `/api/projects/${projectId}/files`)).body.items as { path: string; fileId: string }[]).map((f) => [f.path, f.fileId]);
  const content = async (path: string) =>
    (await fetch(`${server.url}/api/projects/${projectId}/files/content?path=${encodeURIComponent(path)}`, { headers: { authorization: `Bearer ${token}` } })).text();
  const write = async (id: string, text: string) => {
    const doc = a.subscribe(`file:${id}`).getText('content');
    doc.delete(0, doc.length);
    doc.insert(0, text);
    await a.untilPersisted(`file:${id}`);
  };

  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  for (const name of names) await write(`id${name}`, `file ${name}\n`);
  a.doc('index').transact(() => {
    for (const name of names) index.set(`src/${name}.txt`, entry(`id${name}`, `file ${name}\n`));
  });
  await a.untilPersisted('index');
  await server.app.live.materializer.flushAll();
  expect(await files()).toEqual(names.map((name) => [`src/${name}.txt`, `id${name}`]));
  for (const name of names) expect(await content(`src/${name}.txt`)).toBe(`file ${name}\n`);

  await write('idd', 'file d, edited\n');
  await write('idh', 'file h\n');
  await write('idi', 'file i\n');
  a.doc('index').transact(() => {
    index.delete('src/a.txt');
    index.set('docs/a.txt', entry('ida', 'file a\n'));
    index.delete('src/g.txt');
    index.set('src/d.txt', entry('idd', 'file d, edited\n'));
    index.set('src/h.txt', entry('idh', 'file h\n'));
    index.set('src/i.txt', entry('idi', 'file i\n'));
  });
  await a.untilPersisted('index');
  await server.app.live.materializer.flushAll();

  expect(await files()).toEqual([
    ['docs/a.txt', 'ida'],
    ...['b', 'c', 'd', 'e', 'f', 'h', 'i'].map((name) => [`src/${name}.txt`, `id${name}`]),
  ]);
  expect(await content('src/d.txt')).toBe('file d, edited\n');
  expect(await content('src/i.txt')).toBe('file i\n');
  const activity = (await api('GET', `/api/projects/${projectId}/activity`)).body.items as { action: string; path: string }[];
  const count = (action: string) => activity.filter((item) => item.action === action).map((item) => item.path).sort();
  expect(count('created')).toEqual([...names, 'h', 'i'].map((name) => `src/${name}.txt`));
  expect(count('renamed')).toEqual(['docs/a.txt']);
  expect(count('deleted')).toEqual(['src/g.txt']);
  expect(count('edited')).toEqual(['src/d.txt']);
});
