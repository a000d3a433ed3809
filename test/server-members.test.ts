import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_KINDS } from './helpers/storage.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';

type Api = ReturnType<typeof apiClient>;

/** A request whose body is sent exactly as given, to test what JSON.stringify cannot produce. */
async function sendRaw(baseUrl: string, token: string, method: string, path: string, body: string) {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe.each(STORAGE_KINDS)('project members [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  async function user(name: string) {
    const session = await signIn(server.url, name);
    return { ...session, api: apiClient(server.url, session.token) };
  }

  async function projectOf(api: Api, name: string, visibility = 'private') {
    const res = await api('POST', '/api/projects', { name, visibility });
    expect(res.status).toBe(201);
    return res.body as { id: string; fullName: string };
  }

  async function roles(api: Api, projectId: string): Promise<Record<string, string>> {
    const res = await api('GET', `/api/projects/${projectId}/members`);
    expect(res.status).toBe(200);
    return Object.fromEntries(res.body.items.map((m: any) => [m.username, m.role]));
  }

  const members = (projectId: string, username = '') =>
    `/api/projects/${encodeURIComponent(projectId)}/members${username ? `/${username}` : ''}`;

  it('adds members, lists them by username, and lets them in', async () => {
    const owner = await user('mem-zoe');
    const ann = await user('mem-ann');
    await user('mem-bo');
    const project = await projectOf(owner.api, 'team');
    expect((await ann.api('GET', `/api/projects/${project.id}`)).status).toBe(404);

    const added = await owner.api('POST', members(project.id), { username: 'MEM-ANN', role: 'editor' });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ username: 'mem-ann', userId: ann.user.id, role: 'editor', addedAt: expect.any(String) });
    expect(Number.isNaN(Date.parse(added.body.addedAt))).toBe(false);
    expect((await owner.api('POST', members(project.fullName), { username: 'mem-bo', role: 'viewer' })).status).toBe(201);

    const list = await ann.api('GET', members(project.fullName));
    expect(list.status).toBe(200);
    expect(list.body.items.map((m: any) => [m.username, m.role])).toEqual([
      ['mem-ann', 'editor'],
      ['mem-bo', 'viewer'],
      ['mem-zoe', 'owner'],
    ]);
    expect(list.body.nextCursor).toBeNull();
    const seen = await ann.api('GET', `/api/projects/${project.id}`);
    expect(seen.status).toBe(200);
    expect(seen.body.role).toBe('editor');
  });

  it('refuses an unknown user and an existing member', async () => {
    const owner = await user('mem-yan');
    const cat = await user('mem-cat');
    const project = await projectOf(owner.api, 'dupes');
    expect((await owner.api('POST', members(project.id), { username: 'mem-cat', role: 'viewer' })).status).toBe(201);

    const unknown = await owner.api('POST', members(project.id), { username: 'mem-nobody', role: 'viewer' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('CS_ERR_USER_NOT_FOUND');
    const twice = await owner.api('POST', members(project.id), { username: 'MEM-CAT', role: 'editor' });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('CS_ERR_ALREADY_MEMBER');
    const self = await owner.api('POST', members(project.id), { username: 'mem-yan', role: 'viewer' });
    expect(self.status).toBe(409);
    expect(await roles(cat.api, project.id)).toEqual({ 'mem-cat': 'viewer', 'mem-yan': 'owner' });
  });

  it('changes a role, and refuses an unknown member', async () => {
    const owner = await user('mem-xia');
    const dan = await user('mem-dan');
    const project = await projectOf(owner.api, 'roles');
    await owner.api('POST', members(project.id), { username: 'mem-dan', role: 'viewer' });

    const promoted = await owner.api('PATCH', members(project.id, 'Mem-Dan'), { role: 'editor' });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ username: 'mem-dan', userId: dan.user.id, role: 'editor' });
    expect((await dan.api('GET', `/api/projects/${project.id}`)).body.role).toBe('editor');
    const same = await owner.api('PATCH', members(project.id, 'mem-dan'), { role: 'editor' });
    expect(same.status).toBe(200);

    const missing = await owner.api('PATCH', members(project.id, 'mem-nobody'), { role: 'viewer' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('CS_ERR_MEMBER_NOT_FOUND');
    await user('mem-outsider');
    const outsider = await owner.api('DELETE', members(project.id, 'mem-outsider'));
    expect(outsider.status).toBe(404);
    expect(outsider.body.error.code).toBe('CS_ERR_MEMBER_NOT_FOUND');
  });

  it('always keeps an owner', async () => {
    const owner = await user('mem-wes');
    const eve = await user('mem-eve');
    const project = await projectOf(owner.api, 'keep');

    const demote = await owner.api('PATCH', members(project.id, 'mem-wes'), { role: 'editor' });
    expect(demote.status).toBe(409);
    expect(demote.body.error.code).toBe('CS_ERR_LAST_OWNER');
    expect(demote.body.error.message).toMatch(/at least one owner/);
    const leave = await owner.api('DELETE', members(project.id, 'mem-wes'));
    expect(leave.status).toBe(409);
    expect(leave.body.error.code).toBe('CS_ERR_LAST_OWNER');
    expect(await roles(owner.api, project.id)).toEqual({ 'mem-wes': 'owner' });

    // With a second owner, the first may step down, and then the second is the last one.
    expect((await owner.api('POST', members(project.id), { username: 'mem-eve', role: 'owner' })).status).toBe(201);
    expect((await owner.api('PATCH', members(project.id, 'mem-wes'), { role: 'editor' })).status).toBe(200);
    expect((await owner.api('PATCH', members(project.id, 'mem-eve'), { role: 'viewer' })).status).toBe(403);
    expect((await eve.api('DELETE', members(project.id, 'mem-eve'))).status).toBe(409);
    expect((await eve.api('DELETE', members(project.id, 'mem-wes'))).status).toBe(204);
    expect(await roles(eve.api, project.id)).toEqual({ 'mem-eve': 'owner' });
  });

  it('keeps an owner when two owners demote each other at once', async () => {
    const fay = await user('mem-fay');
    const gus = await user('mem-gus');
    // Several races at once, so the two transactions of at least one truly overlap.
    const projects = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => projectOf(fay.api, `race-${i}`)));
    for (const project of projects) await fay.api('POST', members(project.id), { username: 'mem-gus', role: 'owner' });

    const results = await Promise.all(
      projects.map((project) =>
        Promise.all([
          fay.api('PATCH', members(project.id, 'mem-gus'), { role: 'editor' }),
          gus.api('PATCH', members(project.id, 'mem-fay'), { role: 'editor' }),
        ]),
      ),
    );
    for (const [i, [a, b]] of results.entries()) {
      const statuses = [a.status, b.status].sort();
      // The loser finds either that it is no longer an owner (403) or that the other is the last one (409).
      expect(statuses[0]).toBe(200);
      expect([403, 409]).toContain(statuses[1]);
      expect(Object.values(await roles(fay.api, projects[i]!.id)).sort()).toEqual(['editor', 'owner']);
    }
  });

  it('lets any member leave but only owners remove others', async () => {
    const owner = await user('mem-vic');
    const hal = await user('mem-hal');
    const ivy = await user('mem-ivy');
    const project = await projectOf(owner.api, 'leave');
    await owner.api('POST', members(project.id), { username: 'mem-hal', role: 'editor' });
    await owner.api('POST', members(project.id), { username: 'mem-ivy', role: 'viewer' });

    const notOwner = await hal.api('DELETE', members(project.id, 'mem-ivy'));
    expect(notOwner.status).toBe(403);
    expect(notOwner.body.error.code).toBe('CS_ERR_FORBIDDEN');
    const left = await ivy.api('DELETE', members(project.id, 'MEM-IVY'));
    expect(left.status).toBe(204);
    expect(left.body).toBeNull();
    // A private project vanishes for whoever leaves it.
    expect((await ivy.api('GET', `/api/projects/${project.id}`)).status).toBe(404);
    expect((await ivy.api('GET', members(project.id))).status).toBe(404);

    expect((await owner.api('DELETE', members(project.id, 'mem-hal'))).status).toBe(204);
    expect(await roles(owner.api, project.id)).toEqual({ 'mem-vic': 'owner' });
  });

  it('hides a private project from non-members and refuses writes to viewers and editors', async () => {
    const owner = await user('mem-uma');
    const jay = await user('mem-jay');
    const ken = await user('mem-ken');
    const stranger = await user('mem-lou');
    const priv = await projectOf(owner.api, 'private');
    const pub = await projectOf(owner.api, 'public', 'public');
    await owner.api('POST', members(priv.id), { username: 'mem-jay', role: 'viewer' });
    await owner.api('POST', members(priv.id), { username: 'mem-ken', role: 'editor' });

    for (const [method, path, body] of [
      ['GET', members(priv.id)],
      ['POST', members(priv.id), { username: 'mem-lou', role: 'owner' }],
      ['PATCH', members(priv.id, 'mem-jay'), { role: 'owner' }],
      ['DELETE', members(priv.id, 'mem-jay')],
    ] as const) {
      const res = await stranger.api(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('CS_ERR_PROJECT_NOT_FOUND');
    }
    for (const member of [jay, ken]) {
      for (const [method, path, body] of [
        ['POST', members(priv.id), { username: 'mem-lou', role: 'viewer' }],
        ['PATCH', members(priv.id, 'mem-jay'), { role: 'owner' }],
        ['PATCH', members(priv.id, 'mem-ken'), { role: 'owner' }],
      ] as const) {
        const res = await member.api(method, path, body);
        expect(res.status, `${member.user.username} ${method} ${path}`).toBe(403);
        expect(res.body.error.code).toBe('CS_ERR_FORBIDDEN');
      }
    }
    expect(await roles(owner.api, priv.id)).toEqual({ 'mem-jay': 'viewer', 'mem-ken': 'editor', 'mem-uma': 'owner' });

    // Anyone may read a public project's members, but not change them.
    expect(await roles(stranger.api, pub.id)).toEqual({ 'mem-uma': 'owner' });
    const join = await stranger.api('POST', members(pub.id), { username: 'mem-lou', role: 'owner' });
    expect(join.status).toBe(403);
    expect((await stranger.api('DELETE', members(pub.id, 'mem-lou'))).status).toBe(404);
    expect(await roles(stranger.api, pub.id)).toEqual({ 'mem-uma': 'owner' });
  });

  it('holds an owner to the role of the token they use', async () => {
    const owner = await user('mem-tia');
    await user('mem-max');
    const project = await projectOf(owner.api, 'scoped');
    const created = await owner.api('POST', '/api/tokens', { name: 'ci', projectId: project.id, role: 'viewer' });
    expect(created.status).toBe(201);
    const ci = apiClient(server.url, created.body.token);

    expect((await ci('GET', members(project.id))).status).toBe(200);
    const add = await ci('POST', members(project.id), { username: 'mem-max', role: 'viewer' });
    expect(add.status).toBe(403);
    expect(add.body.error.code).toBe('CS_ERR_FORBIDDEN');
    expect(await roles(owner.api, project.id)).toEqual({ 'mem-tia': 'owner' });
  });

  it('pages through members with a cursor', async () => {
    const owner = await user('mem-page');
    const project = await projectOf(owner.api, 'many');
    const names = ['mem-p-e', 'mem-p-a', 'mem-p-d', 'mem-p-b', 'mem-p-c'];
    for (const name of names) {
      await user(name);
      expect((await owner.api('POST', members(project.id), { username: name, role: 'viewer' })).status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: any } = await owner.api(
        'GET',
        `${members(project.id)}?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((m: any) => m.username));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(['mem-p-a', 'mem-p-b', 'mem-p-c', 'mem-p-d', 'mem-p-e', 'mem-page']);
    expect(pages).toBe(3);

    for (const bad of ['garbage', Buffer.from('[1]').toString('base64url'), Buffer.from('["a","b"]').toString('base64url')]) {
      const res = await owner.api('GET', `${members(project.id)}?cursor=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe('CS_ERR_BAD_REQUEST');
    }
  });

  it('answers bad input with 400 and the error shape, changing nothing', async () => {
    const owner = await user('mem-sam');
    await user('mem-ned');
    const project = await projectOf(owner.api, 'input');
    await owner.api('POST', members(project.id), { username: 'mem-ned', role: 'viewer' });
    const before = await roles(owner.api, project.id);

    const cases: [string, string, unknown][] = [
      ['POST', members(project.id), {}],
      ['POST', members(project.id), { username: 'mem-ned' }],
      ['POST', members(project.id), { username: 'mem-ned', role: 'admin' }],
      ['POST', members(project.id), { username: 'mem-ned', role: 'viewer', extra: true }],
      ['POST', members(project.id), { username: { name: 'mem-ned' }, role: 'viewer' }],
      ['POST', members(project.id), { username: 'bad name!', role: 'viewer' }],
      ['PATCH', members(project.id, 'mem-ned'), {}],
      ['PATCH', members(project.id, 'mem-ned'), { role: 'root' }],
      ['PATCH', members(project.id, 'mem-ned'), { role: 'editor', username: 'mem-sam' }],
      ['PATCH', members(project.id, 'mem-ned'), { role: ['editor', 'owner'] }],
    ];
    for (const [method, path, body] of cases) {
      const res = await owner.api(method, path, body);
      expect(res.status, `${method} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error).toEqual({ code: 'CS_ERR_VALIDATION', message: expect.any(String) });
    }
    for (const [method, path] of [
      ['POST', members(project.id)],
      ['PATCH', members(project.id, 'mem-ned')],
    ] as const) {
      for (const raw of ['{"role": "owner"', "{'role': 'owner'}", '']) {
        const res = await sendRaw(server.url, owner.token, method, path, raw);
        expect(res.status, `${method} ${raw}`).toBe(400);
        expect(res.body.error.code).toBe('CS_ERR_INVALID_JSON');
      }
    }
    expect((await owner.api('GET', `${members(project.id)}?limit=abc`)).status).toBe(400);
    expect(await roles(owner.api, project.id)).toEqual(before);
  });
});
