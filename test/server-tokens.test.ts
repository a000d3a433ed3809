import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_KINDS } from './helpers/storage.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';

const TOKEN_KEYS = ['createdAt', 'expiresAt', 'id', 'kind', 'lastUsedAt', 'name', 'project', 'projectId', 'revokedAt', 'role'];
const DAY_MS = 24 * 60 * 60 * 1000;

/** A request whose body is sent exactly as given, to test what JSON.stringify cannot produce. */
async function sendRaw(baseUrl: string, token: string, method: string, path: string, body: string) {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe.each(STORAGE_KINDS)('API tokens [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** A signed-in user with a client, plus a project of theirs when asked. */
  async function user(name: string) {
    const session = await signIn(server.url, name);
    return { ...session, api: apiClient(server.url, session.token) };
  }

  async function projectOf(api: ReturnType<typeof apiClient>, name: string, visibility = 'private') {
    const res = await api('POST', '/api/projects', { name, visibility });
    expect(res.status).toBe(201);
    return res.body as { id: string; fullName: string };
  }

  it('creates an account token that works once and is listed without its secret', async () => {
    const alice = await user('tok-alice');
    const created = await alice.api('POST', '/api/tokens', { name: 'laptop script' });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^cs_/);
    expect(Object.keys(created.body.apiToken).sort()).toEqual(TOKEN_KEYS);
    expect(created.body.apiToken).toMatchObject({
      name: 'laptop script',
      kind: 'api',
      projectId: null,
      project: null,
      role: null,
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });

    const me = await apiClient(server.url, created.body.token)('GET', '/api/me');
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(alice.user.id);
    expect(me.body.token).toMatchObject({ id: created.body.apiToken.id, kind: 'api' });

    const list = await alice.api('GET', '/api/tokens');
    expect(list.status).toBe(200);
    expect(list.body.nextCursor).toBeNull();
    // The sign-in session and the new token; the session is a token of the account too.
    expect(list.body.items.map((t: any) => t.kind).sort()).toEqual(['api', 'session']);
    const listed = list.body.items.find((t: any) => t.id === created.body.apiToken.id);
    expect(Object.keys(listed).sort()).toEqual(TOKEN_KEYS);
    expect(listed.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    expect(JSON.stringify(list.body)).not.toMatch(/hash/i);
  });

  it('limits a project token to its project and role', async () => {
    const bob = await user('tok-bob');
    const app = await projectOf(bob.api, 'app');
    const other = await projectOf(bob.api, 'other');

    const byName = await bob.api('POST', '/api/tokens', { name: 'ci', projectId: 'TOK-BOB/App', role: 'viewer' });
    expect(byName.status).toBe(201);
    expect(byName.body.apiToken).toMatchObject({ projectId: app.id, project: 'tok-bob/app', role: 'viewer' });
    const byId = await bob.api('POST', '/api/tokens', { name: 'deploy', projectId: app.id });
    expect(byId.status).toBe(201);
    expect(byId.body.apiToken).toMatchObject({ projectId: app.id, project: 'tok-bob/app', role: null });

    const ci = apiClient(server.url, byName.body.token);
    const seen = await ci('GET', `/api/projects/${app.id}`);
    expect(seen.status).toBe(200);
    expect(seen.body.role).toBe('viewer');
    expect((await ci('GET', `/api/projects/${other.id}`)).status).toBe(404);
    const listed = await ci('GET', '/api/projects');
    expect(listed.body.items.map((p: any) => p.id)).toEqual([app.id]);
    expect((await ci('PATCH', `/api/projects/${app.id}`, { visibility: 'public' })).status).toBe(403);

    // Neither can a project token mint or see tokens: that would escape its limits.
    const mint = await ci('POST', '/api/tokens', { name: 'escape' });
    expect(mint.status).toBe(403);
    expect(mint.body.error.code).toBe('CS_ERR_TOKEN_SCOPE');
    expect((await ci('GET', '/api/tokens')).body.error.code).toBe('CS_ERR_TOKEN_SCOPE');
  });

  it('refuses a token role above the caller\'s own, a role without a project, and projects the caller is not in', async () => {
    const carol = await user('tok-carol');
    const dave = await user('tok-dave');
    const priv = await projectOf(carol.api, 'secret');
    const pub = await projectOf(carol.api, 'open', 'public');
    expect((await carol.api('POST', `/api/projects/${pub.id}/members`, { username: 'tok-dave', role: 'editor' })).status).toBe(201);
    const before = (await dave.api('GET', '/api/tokens')).body.items.length;

    const above = await dave.api('POST', '/api/tokens', { name: 'x', projectId: pub.id, role: 'owner' });
    expect(above.status).toBe(403);
    expect(above.body.error.code).toBe('CS_ERR_FORBIDDEN');
    expect(above.body.error.message).toContain('editor');
    const equal = await dave.api('POST', '/api/tokens', { name: 'x', projectId: pub.id, role: 'editor' });
    expect(equal.status).toBe(201);

    const noProject = await dave.api('POST', '/api/tokens', { name: 'x', role: 'viewer' });
    expect(noProject.status).toBe(400);
    expect(noProject.body.error.code).toBe('CS_ERR_BAD_REQUEST');

    const hidden = await dave.api('POST', '/api/tokens', { name: 'x', projectId: priv.id });
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('CS_ERR_PROJECT_NOT_FOUND');
    const unknown = await dave.api('POST', '/api/tokens', { name: 'x', projectId: 'nobody/nothing' });
    expect(unknown.status).toBe(404);

    const stranger = await user('tok-erin');
    const notMember = await stranger.api('POST', '/api/tokens', { name: 'x', projectId: pub.fullName });
    expect(notMember.status).toBe(403);
    expect(notMember.body.error.code).toBe('CS_ERR_FORBIDDEN');

    expect((await dave.api('GET', '/api/tokens')).body.items.length).toBe(before + 1);
  });

  it('sets an expiry from days or a date, and refuses a past or doubled one', async () => {
    const frank = await user('tok-frank');
    const days = await frank.api('POST', '/api/tokens', { name: 'week', expiresInDays: 7 });
    expect(days.status).toBe(201);
    const expires = Date.parse(days.body.apiToken.expiresAt);
    expect(Math.abs(expires - (Date.now() + 7 * DAY_MS))).toBeLessThan(60_000);

    const at = new Date(Date.now() + 2 * DAY_MS).toISOString();
    const dated = await frank.api('POST', '/api/tokens', { name: 'dated', expiresAt: at });
    expect(dated.status).toBe(201);
    expect(dated.body.apiToken.expiresAt).toBe(at);

    const count = (await frank.api('GET', '/api/tokens')).body.items.length;
    const past = await frank.api('POST', '/api/tokens', { name: 'past', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.body.error.message).toContain('past');
    const both = await frank.api('POST', '/api/tokens', { name: 'both', expiresInDays: 1, expiresAt: at });
    expect(both.status).toBe(400);
    const zero = await frank.api('POST', '/api/tokens', { name: 'zero', expiresInDays: 0 });
    expect(zero.status).toBe(400);
    expect(zero.body.error.code).toBe('CS_ERR_VALIDATION');
    expect((await frank.api('GET', '/api/tokens')).body.items.length).toBe(count);
  });

  it('refuses an expired token on every route', async () => {
    const gina = await user('tok-gina');
    const created = await gina.api('POST', '/api/tokens', { name: 'short', expiresInDays: 1 });
    const token = apiClient(server.url, created.body.token);
    expect((await token('GET', '/api/me')).status).toBe(200);

    await server.app.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', created.body.apiToken.id)
      .execute();
    for (const [method, path] of [['GET', '/api/me'], ['GET', '/api/projects'], ['GET', '/api/tokens']] as const) {
      const res = await token(method, path);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('CS_ERR_INVALID_TOKEN');
    }
  });

  it('revokes a token: 204, then 401 everywhere, listed with revokedAt', async () => {
    const hank = await user('tok-hank');
    const project = await projectOf(hank.api, 'site');
    const created = await hank.api('POST', '/api/tokens', { name: 'to revoke' });
    const token = apiClient(server.url, created.body.token);
    expect((await token('GET', `/api/projects/${project.id}`)).status).toBe(200);

    const revoked = await hank.api('DELETE', `/api/tokens/${created.body.apiToken.id}`);
    expect(revoked.status).toBe(204);
    expect(revoked.body).toBeNull();
    for (const [method, path, body] of [
      ['GET', '/api/me'],
      ['GET', `/api/projects/${project.id}`],
      ['POST', '/api/projects', { name: 'after' }],
      ['POST', '/api/tokens', { name: 'after' }],
      ['DELETE', `/api/tokens/${created.body.apiToken.id}`],
    ] as const) {
      const res = await token(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe('CS_ERR_INVALID_TOKEN');
    }

    const listed = (await hank.api('GET', '/api/tokens')).body.items.find((t: any) => t.id === created.body.apiToken.id);
    expect(listed.revokedAt).not.toBeNull();
    // Revoking again is harmless and keeps the first time.
    expect((await hank.api('DELETE', `/api/tokens/${created.body.apiToken.id}`)).status).toBe(204);
    const again = (await hank.api('GET', '/api/tokens')).body.items.find((t: any) => t.id === created.body.apiToken.id);
    expect(again.revokedAt).toBe(listed.revokedAt);
  });

  it('revokes only the caller\'s own tokens', async () => {
    const ida = await user('tok-ida');
    const jon = await user('tok-jon');
    const idaToken = await ida.api('POST', '/api/tokens', { name: 'ida' });

    const foreign = await jon.api('DELETE', `/api/tokens/${idaToken.body.apiToken.id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('CS_ERR_TOKEN_NOT_FOUND');
    expect((await apiClient(server.url, idaToken.body.token)('GET', '/api/me')).status).toBe(200);

    const missing = await jon.api('DELETE', '/api/tokens/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    const malformed = await jon.api('DELETE', '/api/tokens/not-a-uuid');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('CS_ERR_VALIDATION');
    const urn = await jon.api('DELETE', `/api/tokens/urn:uuid:${idaToken.body.apiToken.id}`);
    expect(urn.status).toBe(400);
  });

  it('lets a project token revoke itself but no other token', async () => {
    const kim = await user('tok-kim');
    const project = await projectOf(kim.api, 'pipeline');
    const ci = await kim.api('POST', '/api/tokens', { name: 'ci', projectId: project.id });
    const other = await kim.api('POST', '/api/tokens', { name: 'other' });
    const ciApi = apiClient(server.url, ci.body.token);

    const notItself = await ciApi('DELETE', `/api/tokens/${other.body.apiToken.id}`);
    expect(notItself.status).toBe(403);
    expect(notItself.body.error.code).toBe('CS_ERR_TOKEN_SCOPE');
    expect((await ciApi('DELETE', `/api/tokens/${ci.body.apiToken.id}`)).status).toBe(204);
    expect((await ciApi('GET', `/api/projects/${project.id}`)).status).toBe(401);
    expect((await apiClient(server.url, other.body.token)('GET', '/api/me')).status).toBe(200);
  });

  it('pages through tokens with a cursor, each token once', async () => {
    const lee = await user('tok-lee');
    for (let i = 0; i < 6; i++) {
      expect((await lee.api('POST', '/api/tokens', { name: `t${i}` })).status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: any } = await lee.api('GET', `/api/tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((t: any) => t.name));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    // 6 api tokens and the sign-in session, oldest first.
    expect(seen).toEqual(['open sign-in', 't0', 't1', 't2', 't3', 't4', 't5']);
    expect(pages).toBe(4);

    for (const bad of ['garbage', Buffer.from('["x","y"]').toString('base64url'), Buffer.from('[1,"y"]').toString('base64url')]) {
      const res = await lee.api('GET', `/api/tokens?cursor=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe('CS_ERR_BAD_REQUEST');
    }
    expect((await lee.api('GET', '/api/tokens?limit=0')).status).toBe(400);
    expect((await lee.api('GET', '/api/tokens?limit=1000')).status).toBe(400);
  });

  it('answers bad input with 400 and the error shape, creating nothing', async () => {
    const max = await user('tok-max');
    const project = await projectOf(max.api, 'input');
    const before = (await max.api('GET', '/api/tokens')).body.items.length;
    const bodies: unknown[] = [
      {},
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(101) },
      { name: { nested: true } },
      { name: 'x', unknown: 1 },
      { name: 'x', projectId: project.id, role: 'admin' },
      { name: 'x', projectId: { id: 'x' } },
      { name: 'x', expiresInDays: 'soon' },
      { name: 'x', expiresInDays: 1.5 },
      { name: 'x', expiresAt: 'tomorrow' },
      [{ name: 'x' }, { name: 'y' }],
    ];
    for (const body of bodies) {
      const res = await max.api('POST', '/api/tokens', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toEqual({ code: expect.stringMatching(/^CS_ERR_/), message: expect.any(String) });
    }
    for (const raw of ['{"name": "x"', 'not json', '']) {
      const res = await sendRaw(server.url, max.token, 'POST', '/api/tokens', raw);
      expect(res.status, raw).toBe(400);
      expect(res.body.error.code).toBe('CS_ERR_INVALID_JSON');
    }
    expect((await max.api('GET', '/api/tokens')).body.items.length).toBe(before);
  });

  it('answers 401 without a token', async () => {
    const anonymous = apiClient(server.url);
    expect((await anonymous('GET', '/api/tokens')).status).toBe(401);
    expect((await anonymous('POST', '/api/tokens', { name: 'x' })).status).toBe(401);
    expect((await anonymous('DELETE', '/api/tokens/00000000-0000-4000-8000-000000000000')).status).toBe(401);
  });
});
