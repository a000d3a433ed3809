// POST /api/projects/:id/updates: many docs' updates in one body (share's upload). Stored
// without loading rooms, delivered to the project feed and to a room that is loaded, and a
// body that is malformed anywhere changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { encodeDocUpdates, type DocUpdate } from '../common/doc-updates.js';
import { contentText } from '../common/index-entry.js';
import { encodeFeedSubscribe } from '../common/protocol.js';
import { LiveTestClient } from './helpers/live-client.js';
import { caller, createProject, fetchRaw, projectUrl } from './helpers/projects.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { STORAGE_KINDS } from './helpers/storage.js';

const OCTET = 'application/octet-stream';

/** A file doc holding `text`, as share makes it, and its update. */
function fileUpdate(id: string, text: string): DocUpdate {
  const doc = new Y.Doc();
  contentText(doc).insert(0, text);
  return { docName: `file:${id}`, update: Y.encodeStateAsUpdate(doc) };
}

describe.each(STORAGE_KINDS)('doc updates upload [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  const post = (token: string, projectRef: string, data: Uint8Array, contentType = OCTET) =>
    fetchRaw(server, token, 'POST', projectUrl(projectRef, '/updates'), { data, contentType });
  const storedRows = async (projectId: string) =>
    (await server.app.db.selectFrom('doc_updates').select('doc_name').where('project_id', '=', projectId).execute()).length;

  it('stores every doc of a body, for a new subscriber, the feed and a room already loaded', async () => {
    const owner = await caller(server, 'updates-owner');
    const project = await createProject(server, owner, 'uploads');
    // One room loaded before the upload: its subscriber sees the new text arrive.
    const watcher = await LiveTestClient.connect(server.url, project.id, owner.token);
    const watched = watcher.subscribe('file:w');
    await watcher.until(() => watcher.persisted.has('file:w'));
    const follower = await LiveTestClient.connect(server.url, project.id, owner.token);
    follower.send(encodeFeedSubscribe(0));

    const records = [fileUpdate('a', 'alpha\n'), fileUpdate('b', 'beta\n'), fileUpdate('w', 'watched\n')];
    const answer = await post(owner.token, project.id, encodeDocUpdates(records));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ stored: 3, position: 3 });
    expect(server.app.live.registry.loadedCount).toBe(1);

    await watcher.until(() => contentText(watched).toString() === 'watched\n');
    await follower.until(() => ['a', 'b', 'w'].every((id) => contentText(follower.doc(`file:${id}`)).length > 0));
    expect(contentText(follower.doc('file:b')).toString()).toBe('beta\n');
    const reader = await LiveTestClient.connect(server.url, project.id, owner.token);
    const a = reader.subscribe('file:a');
    await reader.until(() => contentText(a).toString() === 'alpha\n');
    await Promise.all([watcher.close(), follower.close(), reader.close()]);
  });

  it('refuses a body malformed anywhere, and stores none of it', async () => {
    const owner = await caller(server, 'updates-refused');
    const project = await createProject(server, owner, 'uploads');
    const good = encodeDocUpdates([fileUpdate('ok', 'fine\n')]);
    const cases: [string, Uint8Array, RegExp][] = [
      ['cut short', good.subarray(0, good.byteLength - 3), /record 1 is cut short/],
      ['a doc name of no project', Buffer.concat([good, encodeDocUpdates([{ docName: '../etc', update: fileUpdate('x', 'x').update }])]), /Record 2 names no doc/],
      ['not a Yjs update', Buffer.concat([good, encodeDocUpdates([{ docName: 'file:bad', update: Uint8Array.from([9, 9, 9, 9]) }])]), /Record 2 \(file:bad\) is not a valid Yjs update/],
    ];
    for (const [what, body, message] of cases) {
      const answer = await post(owner.token, project.id, body);
      expect(answer.status, what).toBe(400);
      expect(answer.json.error.message, what).toMatch(message);
    }
    expect((await post(owner.token, project.id, good, 'text/plain')).status).toBe(415);
    expect(await storedRows(project.id)).toBe(0);
    // An empty body, and empty updates, store nothing and are no error.
    const empty = await post(owner.token, project.id, encodeDocUpdates([{ docName: 'file:e', update: Y.encodeStateAsUpdate(new Y.Doc()) }]));
    expect(empty.json).toEqual({ stored: 0, position: 0 });
    expect(await storedRows(project.id)).toBe(0);
    // The server goes on: a good body after all that is stored.
    expect((await post(owner.token, project.id, good)).json).toEqual({ stored: 1, position: 1 });
    expect(await storedRows(project.id)).toBe(1);
  });

  it('takes uploads from editors only, and only for their projects', async () => {
    const owner = await caller(server, 'updates-access');
    const viewer = await caller(server, 'updates-viewer');
    const outsider = await caller(server, 'updates-outsider');
    const project = await createProject(server, owner, 'access', { members: [[viewer, 'viewer']] });
    const body = encodeDocUpdates([fileUpdate('v', 'viewer was here\n')]);
    expect((await post(viewer.token, project.id, body)).status).toBe(403);
    expect((await post(outsider.token, project.id, body)).status).toBe(404);
    expect(await storedRows(project.id)).toBe(0);
  });
});
