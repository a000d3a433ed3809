// What the live docs look like to REST: materialised files and their history, text written
// over HTTP reaching live clients, and who is online.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { IndexEntry } from '../common/index-entry.js';
import { encodeAwareness } from '../common/protocol.js';
import { eventually } from './helpers/eventually.js';
import { LiveTestClient } from './helpers/live-client.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const entry = (id: string, text: string): IndexEntry => ({ id, kind: 'text', mode: 0o644, size: Buffer.byteLength(text) });
/** The materialiser promises files within a second of the last edit. */
const WITHIN_A_SECOND = 1000;

describe('materialised files, REST writes and presence', () => {
  let server: TestServer;
  let alice: { token: string; user: { id: string } };
  let bob: { token: string; user: { id: string } };
  let vic: { token: string; user: { id: string } };
  const clients: LiveTestClient[] = [];

  const newProject = async (name: string) => {
    const created = await apiClient(server.url, alice.token)('POST', '/api/projects', { name });
    const projectId = created.body.id as string;
    await server.app.db
      .insertInto('project_members')
      .values([
        { project_id: projectId, user_id: bob.user.id, role: 'editor' },
        { project_id: projectId, user_id: vic.user.id, role: 'viewer' },
      ])
      .execute();
    return projectId;
  };
  const connect = async (projectId: string, token: string) => {
    const client = await LiveTestClient.connect(server.url, projectId, token);
    clients.push(client);
    return client;
  };
  const fetchText = async (token: string, method: string, path: string, body?: string) => {
    const response = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'text/plain; charset=utf-8' }) },
      body,
    });
    const text = await response.text();
    return { status: response.status, text, json: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null };
  };

  beforeAll(async () => {
    // Storage plays no part here (the storage suites cover both); PostgreSQL starts fastest.
    server = await startTestServer('postgres');
    alice = await signIn(server.url, 'alice');
    bob = await signIn(server.url, 'bob');
    vic = await signIn(server.url, 'vic');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
  });

  it('shows each text file, its size and hash within a second, and records who created, edited, renamed and deleted it', async () => {
    const projectId = await newProject('materialized');
    const aliceApi = apiClient(server.url, alice.token);
    const files = async () => (await aliceApi('GET', `/api/projects/${projectId}/files`)).body.items as any[];
    const content = (path: string) => fetchText(alice.token, 'GET', `/api/projects/${projectId}/files/content?path=${encodeURIComponent(path)}`);

    const a = await connect(projectId, alice.token);
    const index = a.subscribe('index').getMap<IndexEntry>('files');
    const app = 'export const app = 1;\n';
    const readme = '# Demo\n\nA project.\n';
    a.subscribe('file:app1').getText('content').insert(0, app);
    a.subscribe('file:rd1').getText('content').insert(0, readme);
    await a.untilPersisted('file:app1');
    await a.untilPersisted('file:rd1');
    index.set('src/app.ts', entry('app1', app));
    index.set('README.md', entry('rd1', readme));
    await a.untilPersisted('index');
    await eventually(async () => {
      expect(await files()).toEqual([
        expect.objectContaining({ path: 'README.md', fileId: 'rd1', kind: 'text', size: Buffer.byteLength(readme), sha256: sha256(readme), updatedBy: 'alice' }),
        expect.objectContaining({ path: 'src/app.ts', fileId: 'app1', kind: 'text', size: Buffer.byteLength(app), sha256: sha256(app), updatedBy: 'alice' }),
      ]);
    }, WITHIN_A_SECOND);
    expect(await content('src/app.ts')).toMatchObject({ status: 200, text: app });
    expect(await content('README.md')).toMatchObject({ status: 200, text: readme });

    // bob edits a file's text: content, size and hash follow.
    const b = await connect(projectId, bob.token);
    const bobText = b.subscribe('file:app1').getText('content');
    await b.until(() => bobText.toString() === app);
    bobText.insert(bobText.length, 'export const édition = "bob";\n');
    const edited = bobText.toString();
    await b.untilPersisted('file:app1');
    await eventually(async () => {
      expect(await content('src/app.ts')).toMatchObject({ status: 200, text: edited });
      expect((await files()).find((f) => f.fileId === 'app1')).toMatchObject({
        size: Buffer.byteLength(edited),
        sha256: sha256(edited),
        updatedBy: 'bob',
      });
    }, WITHIN_A_SECOND);

    // alice renames README.md (a new key for the same id), then deletes src/app.ts.
    a.doc('index').transact(() => {
      index.delete('README.md');
      index.set('docs/README.md', entry('rd1', readme));
    });
    await a.untilPersisted('index');
    await eventually(async () => {
      expect((await files()).map((f) => [f.path, f.fileId])).toEqual([
        ['docs/README.md', 'rd1'],
        ['src/app.ts', 'app1'],
      ]);
    }, WITHIN_A_SECOND);
    expect(await content('docs/README.md')).toMatchObject({ status: 200, text: readme });
    expect((await content('README.md')).status).toBe(404);

    index.delete('src/app.ts');
    await a.untilPersisted('index');
    await eventually(async () => {
      expect((await files()).map((f) => f.path)).toEqual(['docs/README.md']);
    }, WITHIN_A_SECOND);
    expect((await content('src/app.ts')).status).toBe(404);

    const activity = (await aliceApi('GET', `/api/projects/${projectId}/activity`)).body.items as any[];
    const history = activity
      .sort((x, y) => x.id - y.id)
      .map(({ action, path, oldPath, fileId, user }) => ({ action, path, oldPath, fileId, user }));
    // Both files were created in one materialisation, in no particular order.
    expect(history).toHaveLength(5);
    expect(history.slice(0, 2)).toEqual(
      expect.arrayContaining([
        { action: 'created', path: 'README.md', oldPath: null, fileId: 'rd1', user: 'alice' },
        { action: 'created', path: 'src/app.ts', oldPath: null, fileId: 'app1', user: 'alice' },
      ]),
    );
    expect(history.slice(2)).toEqual([
      { action: 'edited', path: 'src/app.ts', oldPath: null, fileId: 'app1', user: 'bob' },
      { action: 'renamed', path: 'docs/README.md', oldPath: 'README.md', fileId: 'rd1', user: 'alice' },
      { action: 'deleted', path: 'src/app.ts', oldPath: null, fileId: 'app1', user: 'alice' },
    ]);
  });

  it('counts lines per edit from the text in memory or read back, and writes a file whose text came before its entry', async () => {
    const projectId = await newProject('lines');
    const a = await connect(projectId, alice.token);
    const index = a.subscribe('index').getMap<IndexEntry>('files');
    const materialize = () => server.app.live.materializer.flushAll();
    const content = (path: string) => fetchText(alice.token, 'GET', `/api/projects/${projectId}/files/content?path=${encodeURIComponent(path)}`);
    const lastEdit = async () => {
      const items = (await apiClient(server.url, alice.token)('GET', `/api/projects/${projectId}/activity`)).body.items as any[];
      const edit = items.sort((x, y) => y.id - x.id).find((item) => item.action === 'edited');
      return edit && [edit.linesAdded, edit.linesRemoved];
    };

    // The text is stored in one run, its index entry arrives in a later one.
    const late = a.subscribe('file:late1').getText('content');
    late.insert(0, 'one\ntwo\n');
    await a.untilPersisted('file:late1');
    await materialize();
    index.set('late.txt', entry('late1', 'one\ntwo\n'));
    await a.untilPersisted('index');
    await materialize();
    expect(await content('late.txt')).toMatchObject({ status: 200, text: 'one\ntwo\n' });

    const lines = Array.from({ length: 2000 }, (_, n) => `line ${n}\n`);
    const text = a.subscribe('file:big1').getText('content');
    text.insert(0, lines.join(''));
    index.set('big.txt', entry('big1', text.toString()));
    await a.untilPersisted('file:big1');
    await a.untilPersisted('index');
    await materialize();

    // Previous text from memory: one line replaced, two inserted further down.
    a.doc('file:big1').transact(() => {
      const at = (n: number) => lines.slice(0, n).join('').length;
      text.insert(at(1500), 'new a\nnew b\n');
      text.delete(at(1000), lines[1000]!.length);
      text.insert(at(1000), 'changed\n');
    });
    await a.untilPersisted('file:big1');
    await materialize();
    expect(await lastEdit()).toEqual([3, 1]);

    // Previous text forgotten (as after the room unloaded): read back from project_files.
    await server.app.live.registry.withRoom(projectId, 'file:big1', (room) => {
      room.forgetMaterialized();
    });
    const before = text.toString();
    text.delete(0, lines[0]!.length + lines[1]!.length);
    // A deletion leaves the state vector as it was: untilPersisted cannot tell when it landed.
    await eventually(async () => {
      await materialize();
      expect(await lastEdit()).toEqual([0, 2]);
    }, WITHIN_A_SECOND);
    expect(await content('big.txt')).toMatchObject({ status: 200, text: before.slice(lines[0]!.length + lines[1]!.length) });
  });

  it('writes text over PUT into the live doc, creates a new path, and refuses a viewer', async () => {
    const projectId = await newProject('put-text');
    const a = await connect(projectId, alice.token);
    const index = a.subscribe('index').getMap<IndexEntry>('files');
    const live = a.subscribe('file:w1').getText('content');
    live.insert(0, 'old line\nkept line\n');
    await a.untilPersisted('file:w1');
    index.set('notes.txt', entry('w1', live.toString()));
    await a.untilPersisted('index');
    const put = (token: string, path: string, body: string) =>
      fetchText(token, 'PUT', `/api/projects/${projectId}/files/content?path=${encodeURIComponent(path)}`, body);

    // An editor's PUT reaches the live client as an edit of the doc it follows.
    const replaced = 'new line\nkept line\n';
    const written = await put(bob.token, 'notes.txt', replaced);
    expect(written).toMatchObject({ status: 200, json: { path: 'notes.txt', fileId: 'w1', created: false, size: Buffer.byteLength(replaced) } });
    await a.until(() => live.toString() === replaced);

    // A new path gets a new index entry, which the live client sees with its id.
    const fresh = 'created over HTTP\n';
    const createdFile = await put(bob.token, 'docs/new.md', fresh);
    expect(createdFile).toMatchObject({ status: 200, json: { path: 'docs/new.md', created: true, size: Buffer.byteLength(fresh) } });
    const newId = createdFile.json.fileId as string;
    await a.until(() => index.get('docs/new.md')?.id === newId);
    expect(index.get('docs/new.md')).toMatchObject({ id: newId, kind: 'text', size: Buffer.byteLength(fresh) });
    const newText = a.subscribe(`file:${newId}`).getText('content');
    await a.until(() => newText.toString() === fresh);
    await eventually(async () => {
      const res = await fetchText(alice.token, 'GET', `/api/projects/${projectId}/files/content?path=docs%2Fnew.md`);
      expect(res).toMatchObject({ status: 200, text: fresh });
    }, WITHIN_A_SECOND);

    // A viewer may read but not write: 403, and nothing changes.
    const refused = await put(vic.token, 'notes.txt', 'viewer text\n');
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toEqual(expect.any(String));
    const refusedNew = await put(vic.token, 'viewer.txt', 'viewer text\n');
    expect(refusedNew.status).toBe(403);
    const check = await connect(projectId, alice.token);
    const checkText = check.subscribe('file:w1').getText('content');
    const checkIndex = check.subscribe('index').getMap<IndexEntry>('files');
    await check.until(() => checkText.toString() === replaced && checkIndex.size === 2);
    expect([...checkIndex.keys()].sort()).toEqual(['docs/new.md', 'notes.txt']);
    expect(live.toString()).toBe(replaced);
  });

  it('shows presence to each other, removes a leaver, and records the session', async () => {
    const projectId = await newProject('presence');
    const a = await connect(projectId, alice.token);
    const b = await connect(projectId, bob.token);
    const local = [a, b].map((client, i) => {
      const awareness = new Awareness(new Y.Doc());
      awareness.setLocalState({ user: { name: ['alice', 'bob'][i] }, file: 'src/app.ts' });
      client.send(encodeAwareness('index', encodeAwarenessUpdate(awareness, [awareness.clientID])));
      return awareness;
    });
    const [aliceAwareness, bobAwareness] = local as [Awareness, Awareness];
    /** Who `client` sees online: its received awareness frames, applied in order. */
    const seenBy = (client: LiveTestClient) => {
      const view = new Awareness(new Y.Doc());
      view.setLocalState(null);
      for (const update of client.awareness) applyAwarenessUpdate(view, update, 'server');
      const states = new Map(view.getStates());
      view.destroy();
      return states;
    };
    try {
      await a.until(() => seenBy(a).get(bobAwareness.clientID)?.user?.name === 'bob');
      await b.until(() => seenBy(b).get(aliceAwareness.clientID)?.user?.name === 'alice');
      // The server writes who the state belongs to, from the connection's token.
      expect(seenBy(a).get(bobAwareness.clientID)).toEqual({ user: { name: 'bob', id: expect.any(String) }, file: 'src/app.ts' });

      await b.close();
      await a.until(() => !seenBy(a).has(bobAwareness.clientID));

      await eventually(async () => {
        const sessions = (await apiClient(server.url, alice.token)('GET', `/api/projects/${projectId}/sessions`)).body.items as any[];
        expect(sessions).toHaveLength(1);
        expect(sessions[0].endedAt).toBeNull();
        const byName = Object.fromEntries(sessions[0].participants.map((p: any) => [p.username, p]));
        expect(Object.keys(byName).sort()).toEqual(['alice', 'bob']);
        expect(byName.alice.leftAt).toBeNull();
        expect(byName.bob.leftAt).toEqual(expect.any(String));
      });
    } finally {
      aliceAwareness.destroy();
      bobAwareness.destroy();
    }
  });
});
