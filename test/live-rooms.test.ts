import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { IndexEntry } from '../common/index-entry.js';
import { STORAGE_KINDS } from './helpers/storage.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';
import { LiveTestClient } from './helpers/live-client.js';
import { encodeUpdate } from '../common/protocol.js';

const textOf = (doc: Y.Doc) => doc.getText('content').toString();
const filesOf = (doc: Y.Doc) => doc.getMap<IndexEntry>('files');

/** Subscribes to the index and, like a daemon, to the file doc of every entry it lists. */
function followProject(client: LiveTestClient): Y.Doc {
  const index = client.subscribe('index');
  const follow = () => {
    for (const entry of filesOf(index).values()) {
      const docName = `file:${entry.id}`;
      if (!client.docs.has(docName)) client.subscribe(docName);
    }
  };
  filesOf(index).observe(follow);
  follow();
  return index;
}

/** Index entries and file texts as a user's folder would show them. */
function folderOf(client: LiveTestClient): Record<string, string> {
  const folder: Record<string, string> = {};
  // Sorted: a Y.Map's iteration order depends on the order updates arrived in.
  for (const [path, entry] of [...filesOf(client.doc('index')).entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const fileDoc = client.docs.get(`file:${entry.id}`);
    folder[path] = fileDoc ? textOf(fileDoc) : '<not subscribed>';
  }
  return folder;
}

const sorted = (folder: Record<string, string>) => Object.fromEntries(Object.entries(folder).sort(([a], [b]) => a.localeCompare(b)));

describe.each(STORAGE_KINDS)('live rooms [%s]', (kind) => {
  let server: TestServer;
  let alice: { token: string };
  let bob: { token: string; user: { id: string } };
  let carol: { token: string; user: { id: string } };
  let projectId: string;
  const clients: LiveTestClient[] = [];

  /** A fresh project per test, so one test's files never show in another's folder. */
  const newProject = async (name: string) => {
    const created = await apiClient(server.url, alice.token)('POST', '/api/projects', { name });
    projectId = created.body.id;
    await server.app.db
      .insertInto('project_members')
      .values([
        { project_id: projectId, user_id: bob.user.id, role: 'editor' },
        { project_id: projectId, user_id: carol.user.id, role: 'editor' },
      ])
      .execute();
  };

  const connect = async (token: string) => {
    const client = await LiveTestClient.connect(server.url, projectId, token);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startTestServer(kind, (c) => {
      c.rooms.materializeDebounceMs = 50;
    });
    alice = await signIn(server.url, 'alice');
    bob = await signIn(server.url, 'bob');
    carol = await signIn(server.url, 'carol');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
  });

  it('two clients converge on the index doc and a file doc, and edits are persisted', async () => {
    await newProject('live');
    const a = await connect(alice.token);
    const b = await connect(bob.token);
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

  it('two clients converge on the index and several file docs, and a late subscriber gets the full state', async () => {
    await newProject('several-files');
    const a = await connect(alice.token);
    const b = await connect(bob.token);
    const aIndex = followProject(a);
    const bIndex = followProject(b);

    // Each side adds files the other has never seen, then edits one of the other's files.
    const created = (client: LiveTestClient, index: Y.Doc, path: string, id: string, text: string) => {
      filesOf(index).set(path, { id, kind: 'text', mode: 0o644, size: Buffer.byteLength(text) });
      client.doc(`file:${id}`).getText('content').insert(0, text);
    };
    created(a, aIndex, 'src/main.ts', 'm1', 'export const main = 1;\n');
    created(a, aIndex, 'src/util.ts', 'u1', 'export const util = 2;\n');
    created(a, aIndex, 'docs/guide.md', 'g1', '# Guide\n');
    created(b, bIndex, 'package.json', 'p1', '{ "name": "demo" }\n');
    created(b, bIndex, 'src/extra.ts', 'x1', 'export {};\n');

    const expected = {
      'src/main.ts': 'export const main = 1;\n',
      'src/util.ts': 'export const util = 2;\n',
      'docs/guide.md': '# Guide\n## Written by bob\n',
      'package.json': '{ "name": "demo", "private": true }\n',
      'src/extra.ts': 'export {};\n',
    };
    await b.until(() => folderOf(b)['docs/guide.md'] === '# Guide\n');
    b.doc('file:g1').getText('content').insert(8, '## Written by bob\n');
    await a.until(() => folderOf(a)['package.json'] === '{ "name": "demo" }\n');
    a.doc('file:p1').getText('content').insert(16, ', "private": true');

    await a.until(() => JSON.stringify(folderOf(a)) === JSON.stringify(folderOf(b)) && folderOf(a)['docs/guide.md'] === expected['docs/guide.md']);
    await b.until(() => folderOf(b)['package.json'] === expected['package.json']);
    expect(folderOf(a)).toEqual(expected);
    expect(folderOf(b)).toEqual(expected);
    // `persisted` acknowledges a sender's own edits: each waits for the docs it wrote last.
    for (const docName of ['file:m1', 'file:u1', 'file:p1']) await a.untilPersisted(docName);
    for (const docName of ['file:g1', 'file:x1']) await b.untilPersisted(docName);

    const c = await connect(carol.token);
    followProject(c);
    await c.until(() => JSON.stringify(folderOf(c)) === JSON.stringify(sorted(expected)));
    expect(folderOf(c)).toEqual(expected);
    for (const [docName, doc] of a.docs) {
      expect(Y.encodeStateVector(c.doc(docName)), docName).toEqual(Y.encodeStateVector(doc));
    }
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('concurrent edits of the same text from two clients converge with both edits present', async () => {
    await newProject('concurrent');
    const a = await connect(alice.token);
    const b = await connect(bob.token);
    const aText = a.subscribe('file:c1').getText('content');
    const bText = b.subscribe('file:c1').getText('content');
    aText.insert(0, 'line one\nline two\n');
    await b.until(() => bText.toString() === 'line one\nline two\n');

    // Both edit the same base in the same tick: neither has seen the other's change.
    aText.insert(0, 'A: ');
    aText.insert(aText.length, 'added by alice\n');
    bText.insert(9, 'B: ');
    bText.delete(bText.length - 4, 3);
    bText.insert(bText.length, 'added by bob\n');

    await a.until(() => aText.toString() === bText.toString() && aText.toString().includes('added by bob'));
    await b.until(() => bText.toString().includes('added by alice'));
    const merged = aText.toString();
    expect(bText.toString()).toBe(merged);
    expect(merged.startsWith('A: line one\nB: line \n')).toBe(true);
    expect(merged).toContain('added by alice\n');
    expect(merged).toContain('added by bob\n');
    expect(merged.length).toBe('A: line one\nB: line \n'.length + 'added by alice\n'.length + 'added by bob\n'.length);
    await a.untilPersisted('file:c1');
    await b.untilPersisted('file:c1');

    // The server holds the merged text too: a newcomer sees exactly it.
    const c = await connect(carol.token);
    const cText = c.subscribe('file:c1').getText('content');
    await c.until(() => cText.toString() === merged);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('answers an update that holds nothing with "persisted", and stores nothing', async () => {
    await newProject('empty-update');
    const a = await connect(alice.token);
    const doc = a.subscribe('file:e1');
    // The subscription's answer (after its sync steps, so our reply to them is already sent).
    await a.until(() => a.persisted.has('file:e1'));
    doc.getText('content').insert(0, 'kept');
    await a.untilPersisted('file:e1');
    const rowsBefore = await server.app.db.selectFrom('doc_updates').where('project_id', '=', projectId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    a.persisted.delete('file:e1');
    // A sender waits for an answer to every update: an empty one must not leave it waiting.
    a.send(encodeUpdate('file:e1', Y.encodeStateAsUpdate(new Y.Doc())));
    await a.until(() => a.persisted.has('file:e1'));
    expect(Y.decodeStateVector(a.persisted.get('file:e1')!).size).toBe(0);
    const rowsAfter = await server.app.db.selectFrom('doc_updates').where('project_id', '=', projectId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(rowsAfter.n)).toBe(Number(rowsBefore.n));
    expect(a.denied).toEqual([]);
    await a.close();
  });
});
