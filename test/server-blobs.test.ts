import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { STORAGE_KINDS } from './helpers/storage.js';
import { caller, createProject, fetchRaw, projectUrl } from './helpers/projects.js';

const BLOB_LIMIT = 64 * 1024;
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const OCTET = 'application/octet-stream';

describe.each(STORAGE_KINDS)('blobs [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind, (config) => {
      config.limits.blobBytes = BLOB_LIMIT;
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  const blobUrl = (projectRef: string, hash: string) => projectUrl(projectRef, `/blobs/${hash}`);
  const put = (token: string, projectRef: string, hash: string, data: Uint8Array | string, contentType = OCTET) =>
    fetchRaw(server, token, 'PUT', blobUrl(projectRef, hash), { data, contentType });
  const storedCount = async (projectId: string) =>
    (await server.app.db.selectFrom('blobs').select('sha256').where('project_id', '=', projectId).execute()).length;

  it('stores a blob once and serves back the same bytes', async () => {
    const owner = await caller(server, 'blob-owner');
    const editor = await caller(server, 'blob-editor');
    const project = await createProject(server, owner, 'assets', { members: [[editor, 'editor']] });
    // Every byte value, and more than one read chunk, to catch any text decoding on the way.
    const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(40_000)]);
    const hash = sha256(data);

    const created = await put(editor.token, project.fullName, hash, data);
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ sha256: hash, size: data.length });
    const again = await put(owner.token, project.id, hash, data);
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ sha256: hash, size: data.length });
    expect(await storedCount(project.id)).toBe(1);

    const got = await fetchRaw(server, owner.token, 'GET', blobUrl(project.id, hash));
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe(OCTET);
    expect(got.bytes.equals(data)).toBe(true);

    const head = await fetchRaw(server, owner.token, 'HEAD', blobUrl(project.id, hash));
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    expect(head.bytes.length).toBe(0);

    const empty = await put(owner.token, project.id, sha256(''), new Uint8Array(0));
    expect(empty.status).toBe(201);
    expect(empty.json).toEqual({ sha256: sha256(''), size: 0 });
    const gotEmpty = await fetchRaw(server, owner.token, 'GET', blobUrl(project.id, sha256('')));
    expect(gotEmpty.status).toBe(200);
    expect(gotEmpty.bytes.length).toBe(0);
  });

  it('answers 404 for a blob the project does not have, even if another project has it', async () => {
    const owner = await caller(server, 'blob-404-owner');
    const a = await createProject(server, owner, 'a');
    const b = await createProject(server, owner, 'b');
    const data = Buffer.from('only in a');
    expect((await put(owner.token, a.id, sha256(data), data)).status).toBe(201);
    for (const method of ['GET', 'HEAD']) {
      const res = await fetchRaw(server, owner.token, method, blobUrl(b.id, sha256(data)));
      expect(res.status, method).toBe(404);
      if (method === 'GET') expect(res.json.error.code).toBe('CS_ERR_BLOB_NOT_FOUND');
    }
  });

  it('refuses a body whose hash is not the address, and stores nothing', async () => {
    const owner = await caller(server, 'blob-hash-owner');
    const project = await createProject(server, owner, 'hashes');
    const data = Buffer.from('the real content');
    const claimed = sha256('something else');
    const res = await put(owner.token, project.id, claimed, data);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('CS_ERR_HASH_MISMATCH');
    expect(res.json.error.message).toContain(sha256(data));
    expect(await storedCount(project.id)).toBe(0);
    expect((await fetchRaw(server, owner.token, 'GET', blobUrl(project.id, claimed))).status).toBe(404);
  });

  it('refuses malformed addresses, other media types and bodies over the limit', async () => {
    const owner = await caller(server, 'blob-bad-owner');
    const project = await createProject(server, owner, 'bad');
    const data = Buffer.from('x');
    for (const hash of ['abc', sha256(data).toUpperCase(), `${sha256(data)}0`, 'g'.repeat(64)]) {
      const res = await put(owner.token, project.id, hash, data);
      expect(res.status, hash).toBe(400);
      expect(res.json.error.code).toBe('CS_ERR_VALIDATION');
    }
    const asJson = await put(owner.token, project.id, sha256('{}'), '{}', 'application/json');
    expect(asJson.status).toBe(415);
    expect(asJson.json.error.code).toBe('CS_ERR_MEDIA_TYPE');
    const asImage = await put(owner.token, project.id, sha256(data), data, 'image/png');
    expect(asImage.status).toBe(415);

    const big = randomBytes(BLOB_LIMIT + 1);
    const tooLarge = await put(owner.token, project.id, sha256(big), big);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json.error.code).toBe('CS_ERR_TOO_LARGE');
    expect(await storedCount(project.id)).toBe(0);

    // The limit is the blob limit, not the (smaller) JSON body limit elsewhere.
    const justFits = randomBytes(BLOB_LIMIT);
    expect((await put(owner.token, project.id, sha256(justFits), justFits)).status).toBe(201);
  });

  it('lets readers download, only editors upload, and hides private projects', async () => {
    const owner = await caller(server, 'blob-role-owner');
    const viewer = await caller(server, 'blob-role-viewer');
    const stranger = await caller(server, 'blob-role-stranger');
    const secret = await createProject(server, owner, 'secret', { members: [[viewer, 'viewer']] });
    const open = await createProject(server, owner, 'open', { visibility: 'public' });
    const data = Buffer.from('blob bytes');
    const hash = sha256(data);
    expect((await put(owner.token, secret.id, hash, data)).status).toBe(201);
    expect((await put(owner.token, open.id, hash, data)).status).toBe(201);

    const viewerPut = await put(viewer.token, secret.id, sha256('v'), 'v');
    expect(viewerPut.status).toBe(403);
    expect(viewerPut.json.error.code).toBe('CS_ERR_FORBIDDEN');
    expect((await fetchRaw(server, viewer.token, 'GET', blobUrl(secret.id, hash))).bytes.equals(data)).toBe(true);
    // The role is checked before the body is read: refused as a viewer, not as too large.
    const big = randomBytes(BLOB_LIMIT + 1);
    expect((await put(viewer.token, secret.id, sha256(big), big)).status).toBe(403);

    for (const res of [
      await put(stranger.token, secret.id, sha256('s'), 's'),
      await fetchRaw(server, stranger.token, 'GET', blobUrl(secret.id, hash)),
    ]) {
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe('CS_ERR_PROJECT_NOT_FOUND');
    }
    expect((await fetchRaw(server, stranger.token, 'HEAD', blobUrl(secret.id, hash))).status).toBe(404);

    expect((await fetchRaw(server, stranger.token, 'GET', blobUrl(open.fullName, hash))).bytes.equals(data)).toBe(true);
    expect((await put(stranger.token, open.id, sha256('s'), 's')).status).toBe(403);
    expect((await fetchRaw(server, undefined, 'GET', blobUrl(open.id, hash))).status).toBe(401);
    expect(await storedCount(secret.id)).toBe(1);
    expect(await storedCount(open.id)).toBe(1);
  });
});
