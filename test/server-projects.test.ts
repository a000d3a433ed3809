// Projects and users over REST: create, list (filters, project tokens, paging), get by id or
// owner/name, rename and change visibility, delete; /api/me and /api/users/:username.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startTestServer, type TestServer } from './helpers/server.js';
import { STORAGE_KINDS } from './helpers/storage.js';
import { caller, collectPages, createProject, projectUrl, type Caller } from './helpers/projects.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe.each(STORAGE_KINDS)('projects and users [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** fullNames of what `who` sees at GET /api/projects<query>, every page, sorted. */
  async function listed(who: Caller, query = ''): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const separator = query ? '&' : '?';
      const res: { status: number; body: any } = await who.api(
        'GET',
        `/api/projects${query}${cursor ? `${separator}cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      names.push(...res.body.items.map((p: any) => p.fullName));
      cursor = res.body.nextCursor;
    } while (cursor);
    return names.sort();
  }

  it('creates a project: 201, the caller owns it, private unless asked', async () => {
    const ann = await caller(server, 'prj-ann');
    const res = await ann.api('POST', '/api/projects', { name: 'Website' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      name: 'Website',
      fullName: 'prj-ann/Website',
      owner: 'prj-ann',
      visibility: 'private',
      role: 'owner',
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    const open = await ann.api('POST', '/api/projects', { name: 'docs.site_v2-beta', visibility: 'public' });
    expect(open.status).toBe(201);
    expect(open.body).toMatchObject({ visibility: 'public', role: 'owner', fullName: 'prj-ann/docs.site_v2-beta' });

    const members = await ann.api('GET', projectUrl(res.body.id, '/members'));
    expect(members.body.items.map((m: any) => [m.username, m.role])).toEqual([['prj-ann', 'owner']]);
  });

  it('refuses a second project of the same name for the same owner, in any case, but not for another owner', async () => {
    const bea = await caller(server, 'prj-bea');
    const cal = await caller(server, 'prj-cal');
    expect((await bea.api('POST', '/api/projects', { name: 'app' })).status).toBe(201);
    for (const name of ['app', 'APP', 'App']) {
      const again = await bea.api('POST', '/api/projects', { name, visibility: 'public' });
      expect(again.status).toBe(409);
      expect(again.body.error).toEqual({ code: 'CS_ERR_CONFLICT', message: expect.stringContaining(name) });
    }
    expect(await listed(bea, '?filter=mine')).toEqual(['prj-bea/app']);

    const other = await cal.api('POST', '/api/projects', { name: 'App' });
    expect(other.status).toBe(201);
    expect(other.body.fullName).toBe('prj-cal/App');
  });

  it('lists the caller\'s projects and public ones, filtered by mine, public or all', async () => {
    const dan = await caller(server, 'prj-dan');
    const eve = await caller(server, 'prj-eve');
    const fay = await caller(server, 'prj-fay');
    await createProject(server, dan, 'dan-private');
    await createProject(server, dan, 'dan-public', { visibility: 'public' });
    await createProject(server, eve, 'eve-private');
    await createProject(server, eve, 'eve-shared', { members: [[dan, 'viewer']] });
    await createProject(server, eve, 'eve-public', { visibility: 'public' });

    const mine = await listed(dan, '?filter=mine');
    expect(mine).toEqual(['prj-dan/dan-private', 'prj-dan/dan-public', 'prj-eve/eve-shared']);

    const all = await listed(dan);
    expect(await listed(dan, '?filter=all')).toEqual(all);
    // Other suites' public projects share this server: check ours, and that nothing private leaks.
    expect(all).toEqual(expect.arrayContaining([...mine, 'prj-eve/eve-public']));
    expect(all).not.toContain('prj-eve/eve-private');

    const pub = await dan.api('GET', '/api/projects?filter=public&limit=200');
    expect(pub.status).toBe(200);
    expect(pub.body.items.every((p: any) => p.visibility === 'public')).toBe(true);
    const pubNames = pub.body.items.map((p: any) => p.fullName);
    expect(pubNames).toEqual(expect.arrayContaining(['prj-dan/dan-public', 'prj-eve/eve-public']));
    expect(pubNames).not.toContain('prj-eve/eve-shared');
    // Each item says the caller's role: theirs where they are a member, null elsewhere.
    const roles = Object.fromEntries(
      (await dan.api('GET', '/api/projects?limit=200')).body.items.map((p: any) => [p.fullName, p.role]),
    );
    expect(roles).toMatchObject({ 'prj-dan/dan-public': 'owner', 'prj-eve/eve-shared': 'viewer', 'prj-eve/eve-public': null });

    // Someone with no projects of their own still sees the public ones, and nothing as "mine".
    expect(await listed(fay, '?filter=mine')).toEqual([]);
    expect(await listed(fay)).toEqual(expect.arrayContaining(['prj-dan/dan-public', 'prj-eve/eve-public']));
    expect(await listed(fay)).not.toContain('prj-dan/dan-private');

    const bad = await dan.api('GET', '/api/projects?filter=everything');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('CS_ERR_VALIDATION');
  });

  it('lists only its own project for a project token, with the token\'s role', async () => {
    const gus = await caller(server, 'prj-gus');
    const kept = await createProject(server, gus, 'kept');
    await createProject(server, gus, 'other');
    await createProject(server, gus, 'other-public', { visibility: 'public' });
    const created = await gus.api('POST', '/api/tokens', { name: 'ci', projectId: kept.id, role: 'viewer' });
    expect(created.status).toBe(201);
    const ci = apiClient(server.url, created.body.token);

    for (const filter of ['', '?filter=all', '?filter=mine']) {
      const res = await ci('GET', `/api/projects${filter}`);
      expect(res.status).toBe(200);
      expect(res.body.items.map((p: any) => [p.fullName, p.role])).toEqual([['prj-gus/kept', 'viewer']]);
    }
    const pub = await ci('GET', '/api/projects?filter=public');
    expect(pub.body.items).toEqual([]);
  });

  it('pages through projects with limit and cursor, each exactly once', async () => {
    const hal = await caller(server, 'prj-hal');
    const names = Array.from({ length: 7 }, (_, i) => `paged-${i}`);
    // Created at once, so several may share a timestamp.
    const created = await Promise.all(names.map((name) => createProject(server, hal, name)));
    const expected = created.map((p) => p.id).sort();

    const first = await collectPages(hal.api, '/api/projects?filter=mine', 2);
    expect(first.pages).toBe(4);
    expect(first.items.map((p: any) => p.id).sort()).toEqual(expected);

    // Exact ties on created_at must still page by id, neither repeating nor skipping.
    await server.app.db
      .updateTable('projects')
      .set({ created_at: new Date('2030-01-01T00:00:00.123Z') })
      .where('id', 'in', expected.slice(0, 5))
      .execute();
    for (const limit of [1, 2, 3]) {
      const paged = await collectPages(hal.api, '/api/projects?filter=mine', limit);
      const ids = paged.items.map((p: any) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(expected);
      expect(paged.pages).toBe(Math.ceil(7 / limit));
    }

    const last = await hal.api('GET', '/api/projects?filter=mine&limit=7');
    expect(last.body.items).toHaveLength(7);
    expect(last.body.nextCursor).toBeNull();
  });

  it('gets a project by id and by owner/name in any case, and hides private ones from others', async () => {
    const ivy = await caller(server, 'prj-ivy');
    const joe = await caller(server, 'prj-joe');
    const project = await createProject(server, ivy, 'Tools');
    const open = await createProject(server, ivy, 'Open', { visibility: 'public' });

    for (const ref of [project.id, project.id.toUpperCase(), 'prj-ivy/Tools', 'PRJ-IVY/tools']) {
      const res = await ivy.api('GET', projectUrl(ref));
      expect(res.status, ref).toBe(200);
      expect(res.body).toMatchObject({ id: project.id, fullName: 'prj-ivy/Tools', role: 'owner', visibility: 'private' });
    }
    expect((await ivy.api('GET', '/api/projects/prj-ivy%2Ftools')).body.id).toBe(project.id);

    for (const ref of [project.id, 'prj-ivy/Tools', 'prj-ivy/nothing', 'nobody/Tools', '00000000-0000-4000-8000-000000000000']) {
      const res = await joe.api('GET', projectUrl(ref));
      expect(res.status, ref).toBe(404);
      expect(res.body.error).toEqual({ code: 'CS_ERR_PROJECT_NOT_FOUND', message: 'Project not found' });
    }
    const seen = await joe.api('GET', projectUrl('prj-ivy/open'));
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ id: open.id, role: null, visibility: 'public' });
  });

  it('lets the owner rename a project and change its visibility, and nobody else', async () => {
    const kim = await caller(server, 'prj-kim');
    const lee = await caller(server, 'prj-lee');
    const max = await caller(server, 'prj-max');
    const project = await createProject(server, kim, 'draft', { members: [[lee, 'editor']] });
    await createProject(server, kim, 'taken');

    const renamed = await kim.api('PATCH', projectUrl('prj-kim/draft'), { name: 'final' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: project.id, name: 'final', fullName: 'prj-kim/final', visibility: 'private' });
    expect(Date.parse(renamed.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(renamed.body.createdAt));
    expect((await kim.api('GET', projectUrl('prj-kim/draft'))).status).toBe(404);
    expect((await kim.api('GET', projectUrl('prj-kim/final'))).body.id).toBe(project.id);
    // A new case of its own name is a rename too.
    expect((await kim.api('PATCH', projectUrl(project.id), { name: 'Final' })).body.fullName).toBe('prj-kim/Final');

    const clash = await kim.api('PATCH', projectUrl(project.id), { name: 'TAKEN' });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe('CS_ERR_CONFLICT');

    // Visibility: a non-member sees the project only while it is public.
    expect((await max.api('GET', projectUrl(project.id))).status).toBe(404);
    const published = await kim.api('PATCH', projectUrl(project.id), { visibility: 'public' });
    expect(published.status).toBe(200);
    expect(published.body.visibility).toBe('public');
    expect((await max.api('GET', projectUrl(project.id))).status).toBe(200);
    expect(await listed(max, '?filter=public')).toContain('prj-kim/Final');
    expect((await kim.api('PATCH', projectUrl(project.id), { visibility: 'private' })).status).toBe(200);
    expect((await max.api('GET', projectUrl(project.id))).status).toBe(404);

    const byEditor = await lee.api('PATCH', projectUrl(project.id), { name: 'mine-now' });
    expect(byEditor.status).toBe(403);
    expect(byEditor.body.error.code).toBe('CS_ERR_FORBIDDEN');
    const byStranger = await max.api('PATCH', projectUrl(project.id), { visibility: 'public' });
    expect(byStranger.status).toBe(404);
    expect((await kim.api('GET', projectUrl(project.id))).body).toMatchObject({ name: 'Final', visibility: 'private' });

    const empty = await kim.api('PATCH', projectUrl(project.id), {});
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('CS_ERR_VALIDATION');
  });

  it('deletes a project for its owner only: 204, then gone for every member', async () => {
    const ned = await caller(server, 'prj-ned');
    const ora = await caller(server, 'prj-ora');
    const project = await createProject(server, ned, 'doomed', { members: [[ora, 'editor']] });
    await createProject(server, ned, 'survivor', { members: [[ora, 'viewer']] });
    expect(await listed(ora, '?filter=mine')).toEqual(['prj-ned/doomed', 'prj-ned/survivor']);

    const byEditor = await ora.api('DELETE', projectUrl(project.id));
    expect(byEditor.status).toBe(403);
    expect((await ned.api('GET', projectUrl(project.id))).status).toBe(200);

    const deleted = await ned.api('DELETE', projectUrl('prj-ned/doomed'));
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeNull();
    for (const who of [ned, ora]) {
      expect((await who.api('GET', projectUrl(project.id))).status).toBe(404);
      expect((await who.api('GET', projectUrl(project.id, '/members'))).status).toBe(404);
    }
    expect(await listed(ned, '?filter=mine')).toEqual(['prj-ned/survivor']);
    expect(await listed(ora, '?filter=mine')).toEqual(['prj-ned/survivor']);
    expect((await ned.api('DELETE', projectUrl(project.id))).status).toBe(404);
    // The name is free again.
    expect((await ned.api('POST', '/api/projects', { name: 'doomed' })).status).toBe(201);
  });

  it('answers /api/me with the caller and the token they use', async () => {
    const pia = await caller(server, 'prj-pia');
    const me = await pia.api('GET', '/api/me');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      user: { id: pia.user.id, username: 'prj-pia', displayName: null, avatarUrl: null, createdAt: expect.stringMatching(ISO) },
      token: { id: expect.any(String), kind: 'session', projectId: null, role: null, expiresAt: null },
    });

    const project = await createProject(server, pia, 'ci');
    const created = await pia.api('POST', '/api/tokens', { name: 'ci', projectId: project.id, role: 'editor', expiresInDays: 3 });
    const viaToken = await apiClient(server.url, created.body.token)('GET', '/api/me');
    expect(viaToken.status).toBe(200);
    expect(viaToken.body.user.id).toBe(pia.user.id);
    expect(viaToken.body.token).toEqual({
      id: created.body.apiToken.id,
      kind: 'api',
      projectId: project.id,
      role: 'editor',
      expiresAt: expect.stringMatching(ISO),
    });

    expect((await apiClient(server.url)('GET', '/api/me')).status).toBe(401);
  });

  it('looks a user up by name in any case, and answers 404 for an unknown one', async () => {
    const quin = await caller(server, 'prj-Quin');
    const ray = await caller(server, 'prj-ray');
    for (const name of ['prj-Quin', 'PRJ-QUIN', 'prj-quin']) {
      const res = await ray.api('GET', `/api/users/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.body).toEqual({
        id: quin.user.id,
        username: 'prj-Quin',
        displayName: null,
        avatarUrl: null,
        createdAt: expect.stringMatching(ISO),
      });
    }
    const unknown = await ray.api('GET', '/api/users/prj-nobody');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toEqual({ code: 'CS_ERR_USER_NOT_FOUND', message: 'No user named prj-nobody' });
    expect((await apiClient(server.url)('GET', '/api/users/prj-ray')).status).toBe(401);
  });
});
