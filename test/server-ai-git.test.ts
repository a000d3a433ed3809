import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAiMessage } from '../server/repos/ai.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { STORAGE_KINDS } from './helpers/storage.js';
import { caller, collectPages, createProject, fetchRaw, projectUrl } from './helpers/projects.js';

const sha = (n: number) => n.toString(16).padStart(40, '0');

describe.each(STORAGE_KINDS)('AI chat sessions [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lets any member start a session and list them, and nobody else', async () => {
    const owner = await caller(server, 'ai-owner');
    const viewer = await caller(server, 'ai-viewer');
    const passerby = await caller(server, 'ai-passerby');
    const project = await createProject(server, owner, 'chatty', { visibility: 'public', members: [[viewer, 'viewer']] });
    const sessions = projectUrl(project.fullName, '/ai/sessions');

    const titled = await owner.api('POST', sessions, { title: 'How does sync work?' });
    expect(titled.status).toBe(201);
    expect(titled.body).toEqual({
      id: expect.any(String),
      title: 'How does sync work?',
      createdBy: 'ai-owner',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const untitled = await viewer.api('POST', sessions, {});
    expect(untitled.status).toBe(201);
    expect(untitled.body).toMatchObject({ title: 'New chat', createdBy: 'ai-viewer' });

    // A public project is readable by anyone signed in, but its conversations are the members'.
    for (const [method, body] of [['POST', {}], ['GET', undefined]] as const) {
      const res = await passerby.api(method, sessions, body);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('CS_ERR_FORBIDDEN');
    }

    const list = await viewer.api('GET', sessions);
    expect(list.status).toBe(200);
    expect(list.body.items.map((s: any) => s.id)).toEqual([untitled.body.id, titled.body.id]);
  });

  it('is invisible on a private project to non-members', async () => {
    const owner = await caller(server, 'ai-priv-owner');
    const stranger = await caller(server, 'ai-priv-stranger');
    const project = await createProject(server, owner, 'private-chat');
    const session = await owner.api('POST', projectUrl(project.id, '/ai/sessions'), { title: 't' });
    for (const path of ['/ai/sessions', `/ai/sessions/${session.body.id}/messages`]) {
      const res = await stranger.api('GET', projectUrl(project.id, path));
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('CS_ERR_PROJECT_NOT_FOUND');
    }
    expect((await stranger.api('POST', projectUrl(project.id, '/ai/sessions'), {})).status).toBe(404);
  });

  it('lists a session\'s messages oldest first, page by page', async () => {
    const owner = await caller(server, 'ai-msg-owner');
    const project = await createProject(server, owner, 'messages');
    const created = await owner.api('POST', projectUrl(project.id, '/ai/sessions'), {});
    const sessionId = created.body.id as string;
    const db = server.app.db;
    await db.updateTable('ai_chat_sessions').set({ updated_at: '2020-01-01T00:00:00Z' }).where('id', '=', sessionId).execute();
    await addAiMessage(db, { sessionId, role: 'user', content: 'What is the index doc?', userId: owner.user.id, status: 'complete' });
    await addAiMessage(db, {
      sessionId,
      role: 'assistant',
      content: 'A Y.Map of paths.',
      model: 'gpt-test',
      filesUsed: ['DESIGN.md', 'server/rooms/room.ts'],
      promptTokens: 120,
      completionTokens: 8,
      status: 'complete',
    });
    for (let i = 0; i < 5; i++) {
      await db
        .insertInto('ai_messages')
        .values({ session_id: sessionId, role: 'user', content: `q${i}`, files_used: '[]', status: 'interrupted' })
        .execute();
    }

    const first = await owner.api('GET', projectUrl(project.fullName, `/ai/sessions/${sessionId}/messages?limit=2`));
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([
      {
        id: expect.any(Number),
        role: 'user',
        content: 'What is the index doc?',
        user: 'ai-msg-owner',
        model: null,
        filesUsed: [],
        promptTokens: null,
        completionTokens: null,
        status: 'complete',
        createdAt: expect.any(String),
      },
      {
        id: expect.any(Number),
        role: 'assistant',
        content: 'A Y.Map of paths.',
        user: null,
        model: 'gpt-test',
        filesUsed: ['DESIGN.md', 'server/rooms/room.ts'],
        promptTokens: 120,
        completionTokens: 8,
        status: 'complete',
        createdAt: expect.any(String),
      },
    ]);
    const all = await collectPages(owner.api, projectUrl(project.id, `/ai/sessions/${sessionId}/messages`), 3);
    expect(all.items.map((m: any) => m.content)).toEqual([
      'What is the index doc?',
      'A Y.Map of paths.',
      'q0',
      'q1',
      'q2',
      'q3',
      'q4',
    ]);
    // Appending a message marks the session as active.
    const sessions = await owner.api('GET', projectUrl(project.id, '/ai/sessions'));
    expect(sessions.body.items[0].updatedAt > '2021').toBe(true);
  });

  it('answers 404 for an unknown session or another project\'s', async () => {
    const owner = await caller(server, 'ai-404-owner');
    const mine = await createProject(server, owner, 'mine');
    const theirs = await createProject(server, owner, 'theirs');
    const other = await owner.api('POST', projectUrl(theirs.id, '/ai/sessions'), {});
    for (const sid of [other.body.id, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await owner.api('GET', projectUrl(mine.id, `/ai/sessions/${sid}/messages`));
      expect(res.status, sid).toBe(404);
      expect(res.body.error.code).toBe('CS_ERR_AI_SESSION_NOT_FOUND');
    }
  });

  it('pages through sessions exactly once', async () => {
    const owner = await caller(server, 'ai-page-owner');
    const project = await createProject(server, owner, 'many-chats');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await owner.api('POST', projectUrl(project.id, '/ai/sessions'), { title: `t${i}` })).body.id);
    const { items } = await collectPages(owner.api, projectUrl(project.id, '/ai/sessions'), 2);
    expect(items.map((s: any) => s.id)).toEqual(ids.reverse());
  });

  it('rejects bad input with the error shape and creates nothing', async () => {
    const owner = await caller(server, 'ai-bad-owner');
    const project = await createProject(server, owner, 'bad-chat');
    const url = projectUrl(project.id, '/ai/sessions');
    for (const body of [{ title: { text: 'x' } }, { title: '' }, { title: 'x'.repeat(201) }, { title: 't', extra: true }]) {
      const res = await owner.api('POST', url, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('CS_ERR_VALIDATION');
    }
    const invalid = await fetchRaw(server, owner.token, 'POST', url, { data: '{"title": ', contentType: 'application/json' });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.code).toBe('CS_ERR_INVALID_JSON');
    expect((await owner.api('GET', url)).body.items).toEqual([]);
  });
});

describe.each(STORAGE_KINDS)('git state [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('records the repository for editors and shows it to readers', async () => {
    const owner = await caller(server, 'git-owner');
    const editor = await caller(server, 'git-editor');
    const viewer = await caller(server, 'git-viewer');
    const project = await createProject(server, owner, 'repo', { members: [[editor, 'editor'], [viewer, 'viewer']] });
    const git = projectUrl(project.fullName, '/git');

    const none = await viewer.api('GET', git);
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('CS_ERR_GIT_NOT_FOUND');

    const put = await editor.api('PUT', git, {
      remoteUrl: 'https://git-editor:ghp_secret@github.com/acme/repo.git',
      defaultBranch: 'main',
      headSha: sha(1),
    });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({
      remoteUrl: 'https://github.com/acme/repo.git',
      defaultBranch: 'main',
      headSha: sha(1),
      updatedAt: expect.any(String),
    });
    expect((await viewer.api('GET', git)).body).toEqual(put.body);

    // PUT replaces: what is left out is cleared.
    const replaced = await owner.api('PUT', git, { remoteUrl: 'git@github.com:acme/repo.git', defaultBranch: 'dev' });
    expect(replaced.body).toMatchObject({ remoteUrl: 'git@github.com:acme/repo.git', defaultBranch: 'dev', headSha: null });

    const refused = await viewer.api('PUT', git, { defaultBranch: 'evil' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('CS_ERR_FORBIDDEN');
    for (const body of [{ headSha: 'abc' }, { headSha: 'ab'.repeat(20).toUpperCase() }, { defaultBranch: {} }, { branch: 'main' }]) {
      const res = await editor.api('PUT', git, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('CS_ERR_VALIDATION');
    }
    expect((await viewer.api('GET', git)).body).toEqual(replaced.body);
  });

  it('records commits once, lists them newest first by branch, and pages through them', async () => {
    const owner = await caller(server, 'git-commits-owner');
    const project = await createProject(server, owner, 'commits');
    const commits = projectUrl(project.id, '/git/commits');
    const commit = (n: number, branch: string | null = 'main') => ({
      sha: sha(n),
      message: `commit ${n}\n\nbody`,
      authorName: 'Ann',
      authorEmail: 'ann@example.com',
      branch,
      committedAt: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    });

    const first = await owner.api('POST', commits, { commits: [commit(1), commit(2), commit(3, 'dev')] });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ recorded: 3 });
    const again = await owner.api('POST', commits, { commits: [commit(2), commit(3, 'dev'), commit(4), commit(4)] });
    expect(again.body).toEqual({ recorded: 1 });
    expect((await owner.api('POST', commits, { commits: [] })).body).toEqual({ recorded: 0 });

    const list = await owner.api('GET', commits);
    expect(list.body.items.map((c: any) => c.sha)).toEqual([sha(4), sha(3), sha(2), sha(1)]);
    expect(list.body.items[1]).toEqual({
      sha: sha(3),
      message: 'commit 3\n\nbody',
      authorName: 'Ann',
      authorEmail: 'ann@example.com',
      branch: 'dev',
      committedAt: '2026-01-01T00:03:00.000Z',
      recordedBy: 'git-commits-owner',
    });
    const main = await owner.api('GET', `${commits}?branch=main`);
    expect(main.body.items.map((c: any) => c.sha)).toEqual([sha(4), sha(2), sha(1)]);

    // Many commits at the same second, as a rebase produces.
    const batch = Array.from({ length: 30 }, (_, i) => ({ ...commit(100 + i), committedAt: '2026-02-01T10:00:00+02:00' }));
    expect((await owner.api('POST', commits, { commits: batch })).body).toEqual({ recorded: 30 });
    const { items } = await collectPages(owner.api, commits, 4);
    expect(items).toHaveLength(34);
    expect(new Set(items.map((c: any) => c.sha)).size).toBe(34);
    expect(items[0].committedAt).toBe('2026-02-01T08:00:00.000Z');
  });

  it('refuses bad batches whole, viewers and outsiders', async () => {
    const owner = await caller(server, 'git-bad-owner');
    const viewer = await caller(server, 'git-bad-viewer');
    const passerby = await caller(server, 'git-bad-passerby');
    const project = await createProject(server, owner, 'strict', { visibility: 'public', members: [[viewer, 'viewer']] });
    const commits = projectUrl(project.id, '/git/commits');
    const good = { sha: sha(9), message: 'm', authorName: 'A', committedAt: '2026-01-01T00:00:00Z' };

    const bad = [
      { commits: [good, { ...good, sha: 'xyz' }] },
      { commits: [good, { ...good, sha: sha(10), committedAt: 'yesterday' }] },
      { commits: [{ ...good, authorName: { first: 'A' } }] },
      { commits: [{ ...good, extra: 1 }] },
      { commits: 'not a list' },
      { commits: Array.from({ length: 501 }, (_, i) => ({ ...good, sha: sha(1000 + i) })) },
    ];
    for (const body of bad) {
      const res = await owner.api('POST', commits, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('CS_ERR_VALIDATION');
    }
    const invalid = await fetchRaw(server, owner.token, 'POST', commits, { data: '{"commits": [', contentType: 'application/json' });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.code).toBe('CS_ERR_INVALID_JSON');

    const asViewer = await viewer.api('POST', commits, { commits: [good] });
    expect(asViewer.status).toBe(403);
    const asPasserby = await passerby.api('POST', commits, { commits: [good] });
    expect(asPasserby.status).toBe(403);
    expect((await passerby.api('PUT', projectUrl(project.id, '/git'), { defaultBranch: 'x' })).status).toBe(403);

    // Readers of a public project see its (empty) history; nothing above was written.
    const list = await passerby.api('GET', commits);
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [], nextCursor: null });
    const max = Array.from({ length: 500 }, (_, i) => ({ ...good, sha: sha(2000 + i) }));
    expect((await owner.api('POST', commits, { commits: max })).body).toEqual({ recorded: 500 });
  });

  it('hides a private project\'s git state from non-members', async () => {
    const owner = await caller(server, 'git-vis-owner');
    const stranger = await caller(server, 'git-vis-stranger');
    const project = await createProject(server, owner, 'hidden-repo');
    await owner.api('PUT', projectUrl(project.id, '/git'), { defaultBranch: 'main' });
    for (const [method, path, body] of [
      ['GET', '/git', undefined],
      ['PUT', '/git', { defaultBranch: 'x' }],
      ['GET', '/git/commits', undefined],
      ['POST', '/git/commits', { commits: [] }],
    ] as const) {
      const res = await stranger.api(method, projectUrl(project.id, path), body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('CS_ERR_PROJECT_NOT_FOUND');
    }
  });
});
