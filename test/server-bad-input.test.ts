// Invariant 5 (DESIGN.md): bad input gets a clear error and changes no state; the process
// keeps serving. Every bad request here is followed by a look at everything it could have
// written. The server of this suite logs (at debug) into a buffer, and the last test checks
// that no token sent anywhere in the suite ever reached a log line.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverLoggerOptions } from '../server/main.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';
import { STORAGE_KINDS } from './helpers/storage.js';
import { createProject, fetchRaw, projectUrl, type Caller, type TestProject } from './helpers/projects.js';
import { PROTOCOL_VERSION } from '../common/protocol.js';

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

interface BadRequest {
  label: string;
  method: string;
  path: string;
  /** A value to send as JSON, or exact bytes with their content type. */
  json?: unknown;
  raw?: { data: string | Uint8Array; contentType: string };
  status: number;
  code: string;
}

/** A JSON body the route's schema refuses. */
const v = (label: string, method: string, path: string, json: unknown): BadRequest => ({
  label,
  method,
  path,
  json,
  status: 400,
  code: 'CS_ERR_VALIDATION',
});

describe.each(STORAGE_KINDS)('bad input [%s]', (kind) => {
  let server: TestServer;
  const log: string[] = [];
  /** Every secret token this suite sent, to look for in the log at the end. */
  const secrets = new Set<string>();
  let owner: Caller;
  let project: TestProject;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        log.push(String(chunk));
        done();
      },
    });
    // The real server's logger options (redaction included), at a level that logs everything.
    server = await startTestServer(kind, () => {}, { logger: serverLoggerOptions('trace', sink) });
    owner = await user('bad-owner');
    const editor = await user('bad-editor');
    project = await createProject(server, owner, 'target', { members: [[editor, 'editor']] });
    expect((await owner.api('PUT', projectUrl(project.id, '/git'), { defaultBranch: 'main' })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
  });

  async function user(name: string): Promise<Caller> {
    const session = await signIn(server.url, name);
    secrets.add(session.token);
    return { ...session, api: apiClient(server.url, session.token) };
  }

  /** Everything a bad request could have changed, as the API and the database show it. */
  async function snapshot() {
    const get = async (path: string) => {
      const res = await owner.api('GET', path);
      expect(res.status, path).toBe(200);
      return res.body;
    };
    const count = async (table: 'users' | 'projects' | 'project_members' | 'api_tokens' | 'blobs' | 'ai_chat_sessions' | 'git_commits') =>
      Number((await server.app.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return {
      mine: await get('/api/projects?filter=mine&limit=200'),
      project: await get(projectUrl(project.id)),
      members: await get(projectUrl(project.id, '/members')),
      tokens: (await get('/api/tokens?limit=200')).items.map((t: any) => [t.id, t.revokedAt]),
      git: await get(projectUrl(project.id, '/git')),
      commits: await get(projectUrl(project.id, '/git/commits')),
      ai: await get(projectUrl(project.id, '/ai/sessions')),
      counts: {
        users: await count('users'),
        projects: await count('projects'),
        members: await count('project_members'),
        tokens: await count('api_tokens'),
        blobs: await count('blobs'),
        ai: await count('ai_chat_sessions'),
        commits: await count('git_commits'),
      },
    };
  }

  async function send(who: Caller | null, req: BadRequest) {
    const body =
      req.raw ?? (req.json === undefined ? undefined : { data: JSON.stringify(req.json), contentType: 'application/json' });
    return fetchRaw(server, who?.token, req.method, req.path, body);
  }

  /** Sends each request, checks its status and error shape, then that nothing changed. */
  async function expectRefusedAndNothingWritten(requests: BadRequest[], who: Caller | null = owner) {
    const before = await snapshot();
    const mismatches: string[] = [];
    for (const req of requests) {
      const res = await send(who, req);
      const shapeOk =
        res.json !== undefined &&
        Object.keys(res.json).join() === 'error' &&
        Object.keys(res.json.error).sort().join() === 'code,message' &&
        typeof res.json.error.message === 'string' &&
        res.json.error.message.length > 0;
      if (res.status !== req.status || res.json?.error?.code !== req.code || !shapeOk) {
        mismatches.push(`${req.label}: expected ${req.status} ${req.code}, got ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(await snapshot()).toEqual(before);
  }

  const projects = '/api/projects';
  const at = (rest = '') => projectUrl(project.id, rest);

  it('refuses malformed JSON with 400 CS_ERR_INVALID_JSON on every kind of write', async () => {
    const writes: [string, string][] = [
      ['POST', projects],
      ['PATCH', at()],
      ['POST', at('/members')],
      ['PATCH', at('/members/bad-editor')],
      ['POST', '/api/tokens'],
      ['POST', at('/ai/sessions')],
      ['PUT', at('/git')],
      ['POST', at('/git/commits')],
    ];
    const requests: BadRequest[] = [];
    for (const [method, path] of writes) {
      for (const data of ['{"name": "x"', 'not json', "{'name': 'x'}", '{"name": "x"} trailing', '']) {
        requests.push({
          label: `${method} ${path} ${JSON.stringify(data)}`,
          method,
          path,
          raw: { data, contentType: 'application/json' },
          status: 400,
          code: 'CS_ERR_INVALID_JSON',
        });
      }
    }
    await expectRefusedAndNothingWritten(requests);

    // Sign-in is public but parses the same way, and creates no user.
    await expectRefusedAndNothingWritten(
      [{ label: 'open sign-in', method: 'POST', path: '/api/auth/open', raw: { data: '{"username":', contentType: 'application/json' }, status: 400, code: 'CS_ERR_INVALID_JSON' }],
      null,
    );
  });

  it('refuses wrong types, missing fields and unknown fields with 400 CS_ERR_VALIDATION', async () => {
    await expectRefusedAndNothingWritten([
      // Not coerced: the number 123 is not the name "123".
      v('name as a number', 'POST', projects, { name: 123 }),
      v('name as an array', 'POST', projects, { name: ['x'] }),
      v('name as null', 'POST', projects, { name: null }),
      v('no name', 'POST', projects, {}),
      v('a JSON array', 'POST', projects, [{ name: 'x' }]),
      v('a JSON string', 'POST', projects, 'x'),
      v('visibility not known', 'POST', projects, { name: 'x', visibility: 'secret' }),
      v('unknown field', 'POST', projects, { name: 'x', color: 'red' }),
      v('patch: visibility as boolean', 'PATCH', at(), { visibility: true }),
      v('patch: unknown field', 'PATCH', at(), { name: 'y', owner: 'bad-editor' }),
      v('patch: nothing to change', 'PATCH', at(), {}),
      v('member: role not known', 'POST', at('/members'), { username: 'bad-editor', role: 'admin' }),
      v('member: unknown field', 'POST', at('/members'), { username: 'bad-owner', role: 'viewer', admin: true }),
      v('member patch: no role', 'PATCH', at('/members/bad-editor'), {}),
      v('member patch: role as number', 'PATCH', at('/members/bad-editor'), { role: 2 }),
      v('token: unknown field', 'POST', '/api/tokens', { name: 'x', scope: 'all' }),
      v('token: days as text', 'POST', '/api/tokens', { name: 'x', expiresInDays: '3' }),
      v('ai: title as number', 'POST', at('/ai/sessions'), { title: 5 }),
      v('ai: unknown field', 'POST', at('/ai/sessions'), { title: 'x', model: 'gpt' }),
      v('git: sha not hex', 'PUT', at('/git'), { headSha: 'xyz' }),
      v('git: unknown field', 'PUT', at('/git'), { branch: 'main' }),
      v('commits: not a list', 'POST', at('/git/commits'), { commits: 'abc' }),
      v('commits: bad date', 'POST', at('/git/commits'), {
        commits: [{ sha: 'a'.repeat(40), message: 'm', authorName: 'A', committedAt: 'yesterday' }],
      }),
      v('commits: too many', 'POST', at('/git/commits'), {
        commits: Array.from({ length: 501 }, (_, i) => ({
          sha: i.toString(16).padStart(40, '0'),
          message: 'm',
          authorName: 'A',
          committedAt: '2026-01-01T00:00:00Z',
        })),
      }),
      v('paging: limit 0', 'GET', `${projects}?limit=0`, undefined),
      v('paging: limit not a number', 'GET', `${at('/members')}?limit=ten`, undefined),
    ]);
  });

  it('refuses invalid project names and usernames with 400', async () => {
    await expectRefusedAndNothingWritten([
      v('slash', 'POST', projects, { name: 'a/b' }),
      v('backslash', 'POST', projects, { name: 'a\\b' }),
      v('space', 'POST', projects, { name: 'my app' }),
      v('leading space', 'POST', projects, { name: ' app' }),
      v('empty', 'POST', projects, { name: '' }),
      v('too long', 'POST', projects, { name: 'x'.repeat(101) }),
      v('dot', 'POST', projects, { name: '.' }),
      v('dot dot', 'POST', projects, { name: '..' }),
      v('newline', 'POST', projects, { name: 'app\n' }),
      v('non-ASCII', 'POST', projects, { name: 'café' }),
      v('rename with a slash', 'PATCH', at(), { name: 'bad-owner/x' }),
      v('rename to dot dot', 'PATCH', at(), { name: '..' }),
      v('member with a space', 'POST', at('/members'), { username: 'bad editor', role: 'viewer' }),
      v('member with a slash', 'POST', at('/members'), { username: 'bad/editor', role: 'viewer' }),
    ]);
    await expectRefusedAndNothingWritten(
      ['two words', ' lead', 'trail ', 'a/b', '-dash', 'dash-', 'a--b', 'x'.repeat(40), ''].map((username) =>
        v(`username ${JSON.stringify(username)}`, 'POST', '/api/auth/open', { username }),
      ),
      null,
    );
    // Names that are fine stay fine (and are the only thing written here).
    for (const name of ['a', 'A.b_c-1', '...', '.hidden', 'x'.repeat(100)]) {
      expect((await owner.api('POST', projects, { name })).status, name).toBe(201);
    }
  });

  it('answers 413 with the error shape to a body over the limit, and keeps serving', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(MiB + 10) });
    await expectRefusedAndNothingWritten([
      { label: 'create', method: 'POST', path: projects, raw: { data: big, contentType: 'application/json' }, status: 413, code: 'CS_ERR_TOO_LARGE' },
      { label: 'token', method: 'POST', path: '/api/tokens', raw: { data: big, contentType: 'application/json' }, status: 413, code: 'CS_ERR_TOO_LARGE' },
      {
        label: 'commits',
        method: 'POST',
        path: at('/git/commits'),
        json: { commits: [{ sha: 'a'.repeat(40), message: 'm'.repeat(MiB), authorName: 'A', committedAt: '2026-01-01T00:00:00Z' }] },
        status: 413,
        code: 'CS_ERR_TOO_LARGE',
      },
      {
        label: 'text file over its limit',
        method: 'PUT',
        path: at('/files/content?path=big.txt'),
        raw: { data: 'y'.repeat(2 * MiB), contentType: 'text/plain' },
        status: 413,
        code: 'CS_ERR_TOO_LARGE',
      },
    ]);
    // Sent in chunks with no content-length, so the limit is counted as the bytes arrive.
    const encoder = new TextEncoder();
    const chunks = [encoder.encode('{"name":"'), ...Array.from({ length: 20 }, () => encoder.encode('z'.repeat(64 * 1024))), encoder.encode('"}')];
    const before = await snapshot();
    const streamed = await fetch(server.url + projects, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
      body: new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toEqual({ error: { code: 'CS_ERR_TOO_LARGE', message: expect.any(String) } });
    expect(await snapshot()).toEqual(before);
    expect((await owner.api('GET', '/api/me')).status).toBe(200);
  });

  it('refuses other bodies the route does not take: media type, bad hashes, unsafe paths', async () => {
    const data = Buffer.from('some bytes');
    await expectRefusedAndNothingWritten([
      { label: 'form body', method: 'POST', path: projects, raw: { data: 'name=x', contentType: 'application/x-www-form-urlencoded' }, status: 415, code: 'CS_ERR_MEDIA_TYPE' },
      // Fastify parses text/plain for every route (the text file PUT needs it), so a JSON route
      // sees a string and answers "body must be object": a clear 400 rather than a 415.
      { label: 'text body', method: 'POST', path: projects, raw: { data: '{"name":"x"}', contentType: 'text/plain' }, status: 400, code: 'CS_ERR_VALIDATION' },
      { label: 'blob: wrong hash', method: 'PUT', path: at(`/blobs/${sha256('other')}`), raw: { data, contentType: 'application/octet-stream' }, status: 400, code: 'CS_ERR_HASH_MISMATCH' },
      { label: 'blob: not a hash', method: 'PUT', path: at('/blobs/abc'), raw: { data, contentType: 'application/octet-stream' }, status: 400, code: 'CS_ERR_VALIDATION' },
      { label: 'blob: JSON body', method: 'PUT', path: at(`/blobs/${sha256(data)}`), json: { data: 'x' }, status: 415, code: 'CS_ERR_MEDIA_TYPE' },
      { label: 'file: parent path', method: 'PUT', path: at('/files/content?path=../x.txt'), raw: { data: 'x', contentType: 'text/plain' }, status: 400, code: 'CS_ERR_BAD_REQUEST' },
      { label: 'file: absolute path', method: 'PUT', path: at('/files/content?path=%2Fetc%2Fpasswd'), raw: { data: 'x', contentType: 'text/plain' }, status: 400, code: 'CS_ERR_BAD_REQUEST' },
      { label: 'file: into .git', method: 'PUT', path: at('/files/content?path=.git%2Fconfig'), raw: { data: 'x', contentType: 'text/plain' }, status: 400, code: 'CS_ERR_BAD_REQUEST' },
      { label: 'file: no path', method: 'PUT', path: at('/files/content'), raw: { data: 'x', contentType: 'text/plain' }, status: 400, code: 'CS_ERR_VALIDATION' },
    ]);
    const files = await owner.api('GET', at('/files'));
    expect(files.body.items).toEqual([]);
  });

  it('answers bad ids: 404 for a project ref that names nothing, 400 for a malformed token id', async () => {
    const notFound = (label: string, method: string, path: string, json?: unknown): BadRequest => ({
      label,
      method,
      path,
      json,
      status: 404,
      code: 'CS_ERR_PROJECT_NOT_FOUND',
    });
    await expectRefusedAndNothingWritten([
      notFound('get not-a-uuid', 'GET', '/api/projects/not-a-uuid'),
      notFound('patch not-a-uuid', 'PATCH', '/api/projects/not-a-uuid', { visibility: 'public' }),
      notFound('delete not-a-uuid', 'DELETE', '/api/projects/not-a-uuid'),
      notFound('members of not-a-uuid', 'GET', '/api/projects/not-a-uuid/members'),
      notFound('unknown uuid', 'DELETE', '/api/projects/00000000-0000-4000-8000-000000000000'),
      notFound('too many slashes', 'GET', projectUrl('bad-owner/target/x')),
      notFound('empty owner', 'GET', projectUrl('/target')),
      notFound('empty name', 'DELETE', projectUrl('bad-owner/')),
      { label: 'token id xyz', method: 'DELETE', path: '/api/tokens/xyz', status: 400, code: 'CS_ERR_VALIDATION' },
      { label: 'token id urn', method: 'DELETE', path: `/api/tokens/urn:uuid:${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, status: 400, code: 'CS_ERR_VALIDATION' },
      {
        label: 'unknown token',
        method: 'DELETE',
        path: '/api/tokens/00000000-0000-4000-8000-000000000000',
        status: 404,
        code: 'CS_ERR_TOKEN_NOT_FOUND',
      },
      { label: 'unknown ai session', method: 'GET', path: at('/ai/sessions/xyz/messages'), status: 404, code: 'CS_ERR_AI_SESSION_NOT_FOUND' },
      { label: 'unknown route', method: 'POST', path: '/api/nothing', json: {}, status: 404, code: 'CS_ERR_ROUTE_NOT_FOUND' },
    ]);
  });

  it('answers /healthz without a token', async () => {
    const res = await fetchRaw(server, undefined, 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok', instance: expect.any(String), database: { kind, ok: true }, fanout: { kind: 'in-process', ok: true } });
  });

  it('never writes a token to the log, from a header or a ?token= query', async () => {
    const session = await user('bad-logged');
    const created = await apiClient(server.url, session.token)('POST', '/api/tokens', { name: 'ci' });
    expect(created.status).toBe(201);
    const apiToken: string = created.body.token;
    secrets.add(apiToken);
    const bogus = `cs_${'Q'.repeat(43)}`;
    secrets.add(bogus);
    const own = await createProject(server, { ...session, api: apiClient(server.url, session.token) }, 'logged');

    const startedAt = log.length;
    for (const token of [session.token, apiToken, bogus]) {
      const q = encodeURIComponent(token);
      const expected = token === bogus ? 401 : 200;
      // Header and query forms, on ordinary, failing and unknown routes.
      expect((await fetchRaw(server, token, 'GET', '/api/me')).status).toBe(expected);
      expect((await fetch(`${server.url}/api/me?token=${q}`)).status).toBe(expected);
      expect((await fetch(`${server.url}/api/projects?limit=1&token=${q}&filter=mine`)).status).toBe(expected);
      expect((await fetch(`${server.url}/api/projects?TOKEN=${q}`)).status).toBe(401);
      // The query parser decodes keys, so a percent-encoded name is still the token.
      expect((await fetch(`${server.url}/api/me?%74oken=${q}`)).status).toBe(expected);
      expect((await fetch(`${server.url}/api/me?a=1&t%6Fken=${q}#frag`)).status).toBe(expected);
      // Two tokens are none: 401, and neither is logged.
      expect((await fetch(`${server.url}/api/me?token=${q}&token=${q}`)).status).toBe(401);
      expect((await fetch(`${server.url}/api/projects?limit=zero&token=${q}`)).status).toBe(expected === 200 ? 400 : 401);
      expect((await fetch(`${server.url}/api/nowhere?token=${q}`)).status).toBe(404);
      expect((await fetchRaw(server, token, 'POST', '/api/projects', { data: '{', contentType: 'application/json' })).status).toBe(
        expected === 200 ? 400 : 401,
      );
      // The WebSocket: the query form is what browsers use.
      const status = await new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/projects/${own.id}/ws?protocol=${PROTOCOL_VERSION}&token=${q}`);
        socket.on('error', reject);
        socket.once('open', () => {
          socket.once('close', () => resolve(101));
          socket.close();
        });
        socket.once('unexpected-response', (req, res) => {
          res.resume();
          res.on('end', () => {
            req.destroy();
            resolve(res.statusCode ?? 0);
          });
        });
      });
      expect(status).toBe(expected === 200 ? 101 : 401);
    }

    const text = log.join('');
    // The log did record these requests (with the query redacted), so its silence means something.
    const recent = log.slice(startedAt).join('');
    expect(recent).toContain('/api/me?token=[redacted]');
    expect(recent).toContain(`/api/projects/${own.id}/ws?protocol=${PROTOCOL_VERSION}&token=[redacted]`);
    expect(recent).toContain('CS_ERR_INVALID_TOKEN');
    const leaked = [...secrets].filter((secret) => text.includes(secret) || text.includes(secret.slice(3)));
    expect(leaked).toEqual([]);
  });
});
