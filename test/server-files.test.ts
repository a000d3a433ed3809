import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileKind } from '../db/schema.js';
import { apiClient, startTestServer, type TestServer } from './helpers/server.js';
import { STORAGE_KINDS } from './helpers/storage.js';
import { caller, collectPages, createProject, fetchRaw, projectUrl, type Caller } from './helpers/projects.js';

interface FileSpec {
  path: string;
  kind?: FileKind;
  content?: string | null;
  sha256?: string | null;
  target?: string | null;
  size?: number;
  updatedBy?: Caller | null;
}

const SHA = 'ab'.repeat(32);

describe.each(STORAGE_KINDS)('project files [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** What the live rooms will write; here inserted directly. */
  async function insertFiles(projectId: string, files: FileSpec[]) {
    await server.app.db
      .insertInto('project_files')
      .values(
        files.map((f, i) => ({
          project_id: projectId,
          file_id: `f${i}-${f.path}`,
          path: f.path,
          kind: f.kind ?? 'text',
          mode: f.kind === 'symlink' ? 0o120777 : 0o100644,
          size: f.size ?? Buffer.byteLength(f.content ?? ''),
          sha256: f.sha256 ?? null,
          target: f.target ?? null,
          content: f.content === undefined ? (f.kind ?? 'text') === 'text' ? '' : null : f.content,
          updated_by: f.updatedBy?.user.id ?? null,
        })),
      )
      .execute();
  }

  it('lists files in path order with their metadata and who last changed them', async () => {
    const owner = await caller(server, 'files-list-owner');
    const project = await createProject(server, owner, 'tree');
    await insertFiles(project.id, [
      { path: 'src/main.ts', content: 'export {};\n', updatedBy: owner },
      { path: 'README.md', content: '# hi\n' },
      { path: 'assets/logo.png', kind: 'binary', content: null, sha256: SHA, size: 1234 },
      { path: 'link', kind: 'symlink', content: null, target: 'src/main.ts', size: 11 },
    ]);

    const res = await owner.api('GET', projectUrl(project.fullName, '/files'));
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.items.map((f: any) => f.path)).toEqual(['README.md', 'assets/logo.png', 'link', 'src/main.ts']);
    const [, logo, link, main] = res.body.items;
    expect(logo).toEqual({
      path: 'assets/logo.png',
      fileId: 'f2-assets/logo.png',
      kind: 'binary',
      mode: 0o100644,
      size: 1234,
      sha256: SHA,
      target: null,
      updatedAt: expect.any(String),
      updatedBy: null,
    });
    expect(link).toMatchObject({ kind: 'symlink', target: 'src/main.ts', mode: 0o120777 });
    expect(main).toMatchObject({ updatedBy: 'files-list-owner', size: 11 });
    expect(main).not.toHaveProperty('content');
  });

  it('filters by prefix literally and pages through every file exactly once', async () => {
    const owner = await caller(server, 'files-page-owner');
    const project = await createProject(server, owner, 'paged');
    const paths = Array.from({ length: 23 }, (_, i) => `dir/file-${String(i).padStart(2, '0')}.txt`);
    await insertFiles(project.id, [
      ...paths.map((path) => ({ path, content: path })),
      { path: 'other/a.txt', content: 'x' },
      { path: 'di%/wild.txt', content: 'x' },
      { path: 'di_/wild.txt', content: 'x' },
    ]);

    const { items, pages } = await collectPages(owner.api, projectUrl(project.id, '/files?prefix=dir%2F'), 5);
    expect(pages).toBe(5);
    expect(items.map((f: any) => f.path)).toEqual(paths);

    const wild = await owner.api('GET', projectUrl(project.id, `/files?prefix=${encodeURIComponent('di%')}`));
    expect(wild.body.items.map((f: any) => f.path)).toEqual(['di%/wild.txt']);

    const all = await collectPages(owner.api, projectUrl(project.id, '/files'), 7);
    expect(all.items).toHaveLength(26);
    expect(new Set(all.items.map((f: any) => f.path)).size).toBe(26);
  });

  it('serves a text file raw as text/plain and refuses what is not text', async () => {
    const owner = await caller(server, 'files-content-owner');
    const project = await createProject(server, owner, 'content');
    const text = 'héllo, wörld ✓\n{"not": "json"}\n';
    await insertFiles(project.id, [
      { path: 'notes/ünï.md', content: text },
      { path: 'empty.txt', content: '' },
      { path: 'img.png', kind: 'binary', content: null, sha256: SHA, size: 10 },
      { path: 'big.log', kind: 'text', content: null, sha256: 'cd'.repeat(32), size: 10_000_000 },
      { path: 'ln', kind: 'symlink', content: null, target: 'notes', size: 5 },
    ]);
    const content = (path: string) =>
      fetchRaw(server, owner.token, 'GET', projectUrl(project.id, `/files/content?path=${encodeURIComponent(path)}`));

    const ok = await content('notes/ünï.md');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(ok.text).toBe(text);

    const empty = await content('empty.txt');
    expect(empty.status).toBe(200);
    expect(empty.text).toBe('');

    const binary = await content('img.png');
    expect(binary.status).toBe(409);
    expect(binary.json.error.code).toBe('CS_ERR_NOT_TEXT');
    expect(binary.json.error.message).toContain(`/blobs/${SHA}`);

    const large = await content('big.log');
    expect(large.status).toBe(409);
    expect(large.json.error.message).toContain(`/blobs/${'cd'.repeat(32)}`);

    const symlink = await content('ln');
    expect(symlink.status).toBe(409);
    expect(symlink.json.error.code).toBe('CS_ERR_NOT_TEXT');

    const missing = await content('nope.txt');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('CS_ERR_FILE_NOT_FOUND');

    const noPath = await owner.api('GET', projectUrl(project.id, '/files/content'));
    expect(noPath.status).toBe(400);
    expect(noPath.body.error.code).toBe('CS_ERR_VALIDATION');
  });

  it('hides a private project from non-members and shows a public one to anyone signed in', async () => {
    const owner = await caller(server, 'files-vis-owner');
    const viewer = await caller(server, 'files-vis-viewer');
    const stranger = await caller(server, 'files-vis-stranger');
    const secret = await createProject(server, owner, 'secret', { members: [[viewer, 'viewer']] });
    const open = await createProject(server, owner, 'open', { visibility: 'public' });
    await insertFiles(secret.id, [{ path: 'a.txt', content: 'secret' }]);
    await insertFiles(open.id, [{ path: 'a.txt', content: 'open' }]);

    for (const path of ['/files', '/files/content?path=a.txt']) {
      const hidden = await stranger.api('GET', projectUrl(secret.id, path));
      expect(hidden.status).toBe(404);
      expect(hidden.body.error.code).toBe('CS_ERR_PROJECT_NOT_FOUND');
      expect((await apiClient(server.url)('GET', projectUrl(secret.id, path))).status).toBe(401);
    }
    const asViewer = await fetchRaw(server, viewer.token, 'GET', projectUrl(secret.fullName, '/files/content?path=a.txt'));
    expect(asViewer.text).toBe('secret');
    const asStranger = await fetchRaw(server, stranger.token, 'GET', projectUrl(open.fullName, '/files/content?path=a.txt'));
    expect(asStranger.status).toBe(200);
    expect(asStranger.text).toBe('open');
    expect((await stranger.api('GET', projectUrl(open.id, '/files'))).body.items).toHaveLength(1);
  });

  it('rejects bad paging input with the error shape', async () => {
    const owner = await caller(server, 'files-bad-owner');
    const project = await createProject(server, owner, 'bad');
    for (const query of ['limit=0', 'limit=abc', 'limit=201', 'cursor=%%%', `cursor=${Buffer.from('[1]').toString('base64url')}`]) {
      const res = await owner.api('GET', projectUrl(project.id, `/files?${query}`));
      expect(res.status, query).toBe(400);
      expect(res.body.error).toEqual({ code: expect.stringMatching(/^CS_ERR_/), message: expect.any(String) });
    }
  });
});
