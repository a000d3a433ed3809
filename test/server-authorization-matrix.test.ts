// The whole role x route matrix of the REST API (and the WebSocket upgrades), on a private
// and a public project, asserted cell by cell. A failure prints the full table with every
// wrong cell marked `expected→actual`, so one run shows the whole shape of a regression.
//
// Invariant 4 (DESIGN.md): a non-member learns nothing about a private project (404, exactly
// as for a project that does not exist), and a viewer changes nothing.
import { createHash, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { STORAGE_KINDS } from './helpers/storage.js';
import { caller, createProject, projectUrl, type Caller, type TestProject } from './helpers/projects.js';
import { PROTOCOL_VERSION } from '../common/protocol.js';

/**
 * Who calls. Tokens limited to a project are always limited to the project under test,
 * except otherToken, which is the owner's own token limited to the *other* project.
 */
const CALLERS = [
  'owner',
  'editor',
  'viewer',
  'outsider', // signed in, not a member
  'viewerTok', // the viewer's API token: projectId = this project, role viewer
  'editorTok', // the editor's API token limited to role viewer: must act as a viewer
  'otherTok', // the owner's API token limited to the other project
  'revoked', // the owner's account API token, revoked
  'anon', // no token at all
] as const;
type CallerName = (typeof CALLERS)[number];
const SHORT: Record<CallerName, string> = {
  owner: 'own',
  editor: 'edt',
  viewer: 'vwr',
  outsider: 'out',
  viewerTok: 'vTk',
  editorTok: 'eTk',
  otherTok: 'oTk',
  revoked: 'rvk',
  anon: 'anon',
};

type Visibility = 'private' | 'public';

interface Outcome {
  status: number;
  /** error.code of a JSON error body; undefined when the body is not the error shape. */
  code?: string;
  /** A HEAD answer: a status and headers, no body to check. */
  bodyless?: boolean;
  /** Something wrong beyond the status, e.g. a refused upgrade whose socket stayed open. */
  note?: string;
}

interface Cell {
  project: TestProject;
  visibility: Visibility;
  caller: CallerName;
  token: string | undefined;
  /** A request to the project under test: `rest` is appended to /api/projects/<id>. */
  http(method: string, rest: string, body?: { json?: unknown; text?: string; bytes?: Uint8Array }): Promise<Outcome>;
  ws(path: string): Promise<Outcome>;
  /** Per-project fixtures made by the owner before the matrix runs. */
  fixture: Fixture;
}

interface Fixture {
  aiSessionId: string;
  blobSha: string;
  /** Users made for this cell: not a member (to add), and members to re-role and to remove. */
  targets: Record<CallerName, { add: string; patch: string; remove: string }>;
}

interface Route {
  name: string;
  /**
   * Expected statuses in CALLERS order:  own edt vwr out vTk eTk oTk rvk anon
   * 101 is a successful WebSocket upgrade.
   */
  private: string;
  public: string;
  run(cell: Cell): Promise<Outcome>;
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const blobOf = (cell: Pick<Cell, 'visibility' | 'caller'>) => Buffer.from(`blob of ${cell.caller} in ${cell.visibility}\n`);
const COMMIT = { sha: 'c0ffee'.padEnd(40, '0'), message: 'init', authorName: 'Ann', committedAt: '2026-01-02T03:04:05.000Z' };

// Reads: any member, and anyone signed in on a public project. Writes of content: editors.
// Project settings and membership: owners. AI chat history: members only (a conversation
// quotes what a member asked), so a passer-by on a public project gets 403 there.
// A token limited to another project sees nothing else, not even public projects: 404, as
// the code decides in projectAccess (the token is confined, and it learns nothing outside).
// Viewers may start AI chats: a chat adds nothing to the project's files, and the route
// asks for 'viewer' by design (server/routes/ai.ts).
//                                  own edt vwr out vTk eTk oTk rvk anon
const READ_PRIVATE /*           */ = '200 200 200 404 200 200 404 401 401';
const READ_PUBLIC /*            */ = '200 200 200 200 200 200 404 401 401';
const EDIT_PRIVATE /*           */ = '200 200 403 404 403 403 404 401 401';
const EDIT_PUBLIC /*            */ = '200 200 403 403 403 403 404 401 401';
const OWNER_PRIVATE /*          */ = '200 403 403 404 403 403 404 401 401';
const OWNER_PUBLIC /*           */ = '200 403 403 403 403 403 404 401 401';
const MEMBERS_PRIVATE /*        */ = '200 200 200 404 200 200 404 401 401';
const MEMBERS_PUBLIC /*         */ = '200 200 200 403 200 200 404 401 401';
const withSuccess = (row: string, success: number) => row.replace(/\b200\b/g, String(success));

const ROUTES: Route[] = [
  { name: 'GET    project', private: READ_PRIVATE, public: READ_PUBLIC, run: (c) => c.http('GET', '') },
  {
    name: 'PATCH  project',
    private: OWNER_PRIVATE,
    public: OWNER_PUBLIC,
    // Sets the visibility it already has, so the matrix stays valid when it succeeds.
    run: (c) => c.http('PATCH', '', { json: { visibility: c.visibility } }),
  },
  { name: 'GET    members', private: READ_PRIVATE, public: READ_PUBLIC, run: (c) => c.http('GET', '/members') },
  {
    name: 'POST   members',
    private: withSuccess(OWNER_PRIVATE, 201),
    public: withSuccess(OWNER_PUBLIC, 201),
    run: (c) => c.http('POST', '/members', { json: { username: c.fixture.targets[c.caller].add, role: 'viewer' } }),
  },
  {
    name: 'PATCH  members/:u',
    private: OWNER_PRIVATE,
    public: OWNER_PUBLIC,
    run: (c) => c.http('PATCH', `/members/${c.fixture.targets[c.caller].patch}`, { json: { role: 'editor' } }),
  },
  {
    // Removing someone else; leaving (removing yourself) is open to every member and is
    // covered in server-members.test.ts.
    name: 'DELETE members/:u',
    private: withSuccess(OWNER_PRIVATE, 204),
    public: withSuccess(OWNER_PUBLIC, 204),
    run: (c) => c.http('DELETE', `/members/${c.fixture.targets[c.caller].remove}`),
  },
  { name: 'GET    files', private: READ_PRIVATE, public: READ_PUBLIC, run: (c) => c.http('GET', '/files') },
  {
    name: 'GET    files/content',
    private: READ_PRIVATE,
    public: READ_PUBLIC,
    run: (c) => c.http('GET', '/files/content?path=seed.txt'),
  },
  {
    name: 'PUT    files/content',
    private: EDIT_PRIVATE,
    public: EDIT_PUBLIC,
    run: (c) => c.http('PUT', `/files/content?path=by-${c.caller}.txt`, { text: `written by ${c.caller}\n` }),
  },
  { name: 'GET    activity', private: READ_PRIVATE, public: READ_PUBLIC, run: (c) => c.http('GET', '/activity') },
  { name: 'GET    sessions', private: READ_PRIVATE, public: READ_PUBLIC, run: (c) => c.http('GET', '/sessions') },
  {
    name: 'POST   ai/sessions',
    private: withSuccess(MEMBERS_PRIVATE, 201),
    public: withSuccess(MEMBERS_PUBLIC, 201),
    run: (c) => c.http('POST', '/ai/sessions', { json: { title: `asked by ${c.caller}` } }),
  },
  { name: 'GET    ai/sessions', private: MEMBERS_PRIVATE, public: MEMBERS_PUBLIC, run: (c) => c.http('GET', '/ai/sessions') },
  {
    name: 'GET    ai/sessions/:sid/messages',
    private: MEMBERS_PRIVATE,
    public: MEMBERS_PUBLIC,
    run: (c) => c.http('GET', `/ai/sessions/${c.fixture.aiSessionId}/messages`),
  },
  { name: 'GET    git', private: READ_PRIVATE, public: READ_PUBLIC, run: (c) => c.http('GET', '/git') },
  {
    name: 'PUT    git',
    private: EDIT_PRIVATE,
    public: EDIT_PUBLIC,
    run: (c) => c.http('PUT', '/git', { json: { defaultBranch: 'main', headSha: COMMIT.sha } }),
  },
  { name: 'GET    git/commits', private: READ_PRIVATE, public: READ_PUBLIC, run: (c) => c.http('GET', '/git/commits') },
  {
    name: 'POST   git/commits',
    private: EDIT_PRIVATE,
    public: EDIT_PUBLIC,
    run: (c) => c.http('POST', '/git/commits', { json: { commits: [COMMIT] } }),
  },
  {
    // Bytes unique to the cell, so every allowed upload is a new blob: 201.
    name: 'PUT    blobs/:sha',
    private: withSuccess(EDIT_PRIVATE, 201),
    public: withSuccess(EDIT_PUBLIC, 201),
    run: (c) => c.http('PUT', `/blobs/${sha256(blobOf(c))}`, { bytes: blobOf(c) }),
  },
  { name: 'GET    blobs/:sha', private: READ_PRIVATE, public: READ_PUBLIC, run: (c) => c.http('GET', `/blobs/${c.fixture.blobSha}`) },
  { name: 'HEAD   blobs/:sha', private: READ_PRIVATE, public: READ_PUBLIC, run: (c) => c.http('HEAD', `/blobs/${c.fixture.blobSha}`) },
  {
    // Viewers and passers-by on a public project connect read-only; their updates are
    // refused on the socket with `denied` (test/live-rooms.test.ts), not at the upgrade.
    name: 'WS     /api/projects/:id/ws',
    private: withSuccess(READ_PRIVATE, 101),
    public: withSuccess(READ_PUBLIC, 101),
    run: (c) => c.ws(`/api/projects/${c.project.id}/ws?protocol=${PROTOCOL_VERSION}`),
  },
  {
    name: 'WS     /yjs/:id/index',
    private: withSuccess(READ_PRIVATE, 101),
    public: withSuccess(READ_PUBLIC, 101),
    run: (c) => c.ws(`/yjs/${c.project.id}/index`),
  },
];

/** Runs after every other route, owner last, so each project exists for the whole matrix. */
const DELETE_PROJECT: Route = {
  name: 'DELETE project',
  private: withSuccess(OWNER_PRIVATE, 204),
  public: withSuccess(OWNER_PUBLIC, 204),
  run: (c) => c.http('DELETE', ''),
};

/** Routes outside any project, where what matters is who may act for the account. */
interface AccountRoute {
  name: string;
  expected: string;
  run(token: string | undefined, caller: CallerName): Promise<Outcome>;
}

describe.each(STORAGE_KINDS)('authorization matrix [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  async function request(
    token: string | undefined,
    method: string,
    path: string,
    body?: { json?: unknown; text?: string; bytes?: Uint8Array },
  ): Promise<Outcome> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | Uint8Array | undefined;
    if (body?.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body?.text !== undefined) {
      headers['content-type'] = 'text/plain; charset=utf-8';
      payload = body.text;
    } else if (body?.bytes) {
      headers['content-type'] = 'application/octet-stream';
      payload = body.bytes;
    }
    const response = await fetch(server.url + path, { method, headers, body: payload });
    const text = await response.text();
    return { status: response.status, code: errorCodeOf(response.headers.get('content-type'), text), bodyless: method === 'HEAD' };
  }

  function upgrade(token: string | undefined, path: string): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(server.url.replace(/^http/, 'ws') + path, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      socket.on('error', (err) => reject(err));
      socket.once('open', () => {
        socket.once('close', () => resolve({ status: 101 }));
        socket.close();
      });
      // A refused upgrade is an HTTP answer on a socket no HTTP parser owns any more: the
      // server must close it, or it stays open as long as the client likes and app.close()
      // (SIGTERM) waits for it forever.
      socket.once('unexpected-response', (req, res) => {
        let text = '';
        let closed = false;
        // Kept: res.socket is cleared once the response is done with it.
        const raw = res.socket;
        raw.once('close', () => (closed = true));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', async () => {
          for (let waited = 0; !closed && !raw.destroyed && waited < 5000; waited += 20) {
            await new Promise((r) => setTimeout(r, 20));
          }
          closed ||= raw.destroyed;
          req.destroy();
          resolve({
            status: res.statusCode ?? 0,
            code: errorCodeOf(String(res.headers['content-type'] ?? ''), text),
            ...(closed ? {} : { note: 'socket left open' }),
          });
        });
      });
    });
  }

  it('answers every role on every route as the table says, on a private and a public project', async () => {
    const owner = await caller(server, 'mx-owner');
    const editor = await caller(server, 'mx-editor');
    const viewer = await caller(server, 'mx-viewer');
    const outsider = await caller(server, 'mx-outsider');
    const projects: Record<Visibility, TestProject> = {
      private: await createProject(server, owner, 'mx-private', { members: [[editor, 'editor'], [viewer, 'viewer']] }),
      public: await createProject(server, owner, 'mx-public', {
        visibility: 'public',
        members: [[editor, 'editor'], [viewer, 'viewer']],
      }),
    };

    const tokenFor = async (who: Caller, projectId: string | undefined, role?: string) => {
      const res = await who.api('POST', '/api/tokens', { name: 'matrix', ...(projectId ? { projectId } : {}), ...(role ? { role } : {}) });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { token: string; apiToken: { id: string } };
    };
    const revoked = await tokenFor(owner, undefined);
    expect((await owner.api('DELETE', `/api/tokens/${revoked.apiToken.id}`)).status).toBe(204);

    const tokens: Record<Visibility, Record<CallerName, string | undefined>> = {} as never;
    const fixtures = {} as Record<Visibility, Fixture>;
    for (const visibility of ['private', 'public'] as const) {
      const project = projects[visibility];
      const other = projects[visibility === 'private' ? 'public' : 'private'];
      tokens[visibility] = {
        owner: owner.token,
        editor: editor.token,
        viewer: viewer.token,
        outsider: outsider.token,
        viewerTok: (await tokenFor(viewer, project.id, 'viewer')).token,
        editorTok: (await tokenFor(editor, project.id, 'viewer')).token,
        otherTok: (await tokenFor(owner, other.id)).token,
        revoked: revoked.token,
        anon: undefined,
      };

      // What the read routes read: a materialised file, a blob, a git state, an AI session.
      const put = await request(owner.token, 'PUT', projectUrl(project.id, '/files/content?path=seed.txt'), { text: 'seed\n' });
      expect(put.status).toBe(200);
      await server.app.live.materializer.flushAll();
      const seedBlob = Buffer.from(`seed blob of ${visibility}`);
      expect((await request(owner.token, 'PUT', projectUrl(project.id, `/blobs/${sha256(seedBlob)}`), { bytes: seedBlob })).status).toBe(201);
      expect((await owner.api('PUT', projectUrl(project.id, '/git'), { defaultBranch: 'main' })).status).toBe(200);
      const ai = await owner.api('POST', projectUrl(project.id, '/ai/sessions'), { title: 'seed' });
      expect(ai.status).toBe(201);

      // Straight into the database: 27 users per project by sign-in would be slow to make.
      const targets = {} as Fixture['targets'];
      for (const who of CALLERS) {
        const base = `mx-${visibility.slice(0, 3)}-${SHORT[who]}`;
        targets[who] = { add: `${base}-add`, patch: `${base}-patch`, remove: `${base}-remove` };
      }
      const made = await server.app.db
        .insertInto('users')
        .values(Object.values(targets).flatMap((t) => [t.add, t.patch, t.remove].map((username) => ({ id: randomUUID(), username }))))
        .returning(['id', 'username'])
        .execute();
      const members = new Set(Object.values(targets).flatMap((t) => [t.patch, t.remove]));
      await server.app.db
        .insertInto('project_members')
        .values(made.filter((u) => members.has(u.username)).map((u) => ({ project_id: project.id, user_id: u.id, role: 'viewer' as const })))
        .execute();
      fixtures[visibility] = { aiSessionId: ai.body.id, blobSha: sha256(seedBlob), targets };
    }

    const cellOf = (visibility: Visibility, who: CallerName): Cell => {
      const project = projects[visibility];
      const token = tokens[visibility][who];
      return {
        project,
        visibility,
        caller: who,
        token,
        fixture: fixtures[visibility],
        http: (method, rest, body) => request(token, method, projectUrl(project.id, rest), body),
        ws: (path) => upgrade(token, path),
      };
    };

    // actual[visibility][route][caller]
    const actual: Record<Visibility, Map<string, Map<CallerName, Outcome>>> = { private: new Map(), public: new Map() };
    const record = (visibility: Visibility, route: Route, who: CallerName, outcome: Outcome) => {
      let row = actual[visibility].get(route.name);
      if (!row) actual[visibility].set(route.name, (row = new Map()));
      row.set(who, outcome);
    };

    // Routes outside a project: project-limited tokens act for their project only.
    // Run first: deleting a project at the end also deletes the tokens limited to it.
    //                                                             own edt vwr out vTk eTk oTk rvk anon
    const ACCOUNT_ROUTES: AccountRoute[] = [
      { name: 'GET    /api/me', /*                             */ expected: '200 200 200 200 200 200 200 401 401', run: (t) => request(t, 'GET', '/api/me') },
      { name: 'GET    /api/users/:username', /*                */ expected: '200 200 200 200 200 200 200 401 401', run: (t) => request(t, 'GET', '/api/users/mx-owner') },
      { name: 'GET    /api/projects', /*                       */ expected: '200 200 200 200 200 200 200 401 401', run: (t) => request(t, 'GET', '/api/projects') },
      { name: 'POST   /api/projects', /*                       */ expected: '201 201 201 201 403 403 403 401 401', run: (t, who) => request(t, 'POST', '/api/projects', { json: { name: `mx-new-${who}` } }) },
      { name: 'GET    /api/tokens', /*                         */ expected: '200 200 200 200 403 403 403 401 401', run: (t) => request(t, 'GET', '/api/tokens') },
      { name: 'POST   /api/tokens', /*                         */ expected: '201 201 201 201 403 403 403 401 401', run: (t) => request(t, 'POST', '/api/tokens', { json: { name: 'more' } }) },
    ];
    const accountActual = new Map<string, Map<CallerName, Outcome>>();
    for (const route of ACCOUNT_ROUTES) {
      const row = new Map<CallerName, Outcome>();
      accountActual.set(route.name, row);
      await Promise.all(CALLERS.map(async (who) => row.set(who, await route.run(tokens.private[who], who))));
    }

    // The cells of a row touch disjoint things (their own member targets, file paths and
    // blobs), so a row runs all at once, on both projects: quicker, and a little concurrency.
    const runRow = (route: Route, callers: readonly CallerName[]) =>
      Promise.all(
        (['private', 'public'] as const).flatMap((visibility) =>
          callers.map(async (who) => record(visibility, route, who, await route.run(cellOf(visibility, who)))),
        ),
      );
    for (const route of ROUTES) await runRow(route, CALLERS);

    // What the writes left behind, as the owner sees it: the allowed callers' writes and
    // nothing of any refused one (a viewer changes nothing).
    const mismatches: string[] = [];
    await server.app.live.materializer.flushAll();
    for (const visibility of ['private', 'public'] as const) {
      const id = projects[visibility].id;
      const targets = fixtures[visibility].targets;
      const writers: CallerName[] = ['owner', 'editor'];
      const members: CallerName[] = ['owner', 'editor', 'viewer', 'viewerTok', 'editorTok'];
      const expectedMembers: Record<string, string> = { 'mx-owner': 'owner', 'mx-editor': 'editor', 'mx-viewer': 'viewer' };
      for (const who of CALLERS) {
        expectedMembers[targets[who].patch] = who === 'owner' ? 'editor' : 'viewer';
        if (who === 'owner') expectedMembers[targets[who].add] = 'viewer';
        else expectedMembers[targets[who].remove] = 'viewer';
      }
      const list = async (rest: string) => (await owner.api('GET', projectUrl(id, rest))).body.items as any[];
      const state = {
        files: (await list('/files?limit=200')).map((f) => f.path).sort(),
        members: Object.fromEntries((await list('/members?limit=200')).map((m) => [m.username, m.role])),
        aiSessions: (await list('/ai/sessions?limit=200')).map((a) => a.title).sort(),
        blobs: (await server.app.db.selectFrom('blobs').select('sha256').where('project_id', '=', id).execute()).map((b) => b.sha256).sort(),
      };
      const wanted = {
        files: ['seed.txt', ...writers.map((w) => `by-${w}.txt`)].sort(),
        members: expectedMembers,
        aiSessions: ['seed', ...members.map((m) => `asked by ${m}`)].sort(),
        blobs: [fixtures[visibility].blobSha, ...writers.map((w) => sha256(blobOf({ visibility, caller: w })))].sort(),
      };
      for (const key of Object.keys(wanted) as (keyof typeof wanted)[]) {
        if (!isDeepStrictEqual(state[key], wanted[key])) {
          mismatches.push(`${visibility} | state of ${key}: expected ${JSON.stringify(wanted[key])}, got ${JSON.stringify(state[key])}`);
        }
      }
    }

    // Nobody but the owner may delete, on either project; then the owner deletes both.
    await runRow(DELETE_PROJECT, CALLERS.filter((c) => c !== 'owner'));
    await runRow(DELETE_PROJECT, ['owner']);

    // Compare. A refusal must also carry the right error code: a non-member's 404 is the
    // plain "project not found" any unknown id gets, never a hint that the project exists.
    const tables: string[] = [];
    const header = (title: string) => `${title.padEnd(34)}${CALLERS.map((c) => SHORT[c].padStart(9)).join('')}`;
    const line = (name: string, expected: string, row: Map<CallerName, Outcome>, kindOfRoute: 'project' | 'account', where: string) => {
      const wanted = expected.split(/\s+/).map(Number);
      expect(wanted).toHaveLength(CALLERS.length);
      const cells = CALLERS.map((who, i) => {
        const got = row.get(who)!;
        const status = wanted[i]!;
        const code = expectedCode(status, who, kindOfRoute);
        const codeOk = code === undefined || got.status !== status || got.bodyless === true || got.code === code;
        if (got.status === status && codeOk && !got.note) return String(status).padStart(9);
        const shown = `${status}→${got.status}${got.code && got.code !== code ? ` ${got.code}` : ''}${got.note ? ` (${got.note})` : ''}`;
        mismatches.push(
          `${where} | ${name.trim()} | ${who}: expected ${status}${code ? ` ${code}` : ''}, ` +
            `got ${got.status}${got.code ? ` ${got.code}` : ''}${got.note ? ` (${got.note})` : ''}`,
        );
        return `  ✗${shown}`.padStart(9);
      });
      return `${name.padEnd(34)}${cells.join('')}`;
    };
    for (const visibility of ['private', 'public'] as const) {
      const rows = [header(`${visibility} project`)];
      for (const route of [...ROUTES, DELETE_PROJECT]) {
        rows.push(line(route.name, route[visibility], actual[visibility].get(route.name)!, 'project', visibility));
      }
      tables.push(rows.join('\n'));
    }
    const accountRows = [header('account routes (tokens of private)')];
    for (const route of ACCOUNT_ROUTES) accountRows.push(line(route.name, route.expected, accountActual.get(route.name)!, 'account', 'account'));
    tables.push(accountRows.join('\n'));

    expect(mismatches, `\n${tables.join('\n\n')}\n`).toEqual([]);
    // ~500 requests in one test: a few seconds alone, but far more on a machine busy with
    // other suites, and a timeout would hide the table.
  }, 120_000);
});

function errorCodeOf(contentType: string | null, text: string): string | undefined {
  if (!text || !contentType?.includes('json')) return undefined;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
  } catch {
    return undefined;
  }
}

/** The error code a refusal must carry; undefined for a success. */
function expectedCode(status: number, who: CallerName, route: 'project' | 'account'): string | undefined {
  switch (status) {
    case 401:
      return who === 'revoked' ? 'CS_ERR_INVALID_TOKEN' : 'CS_ERR_UNAUTHORIZED';
    case 403:
      return route === 'account' ? 'CS_ERR_TOKEN_SCOPE' : 'CS_ERR_FORBIDDEN';
    case 404:
      return 'CS_ERR_PROJECT_NOT_FOUND';
    default:
      return undefined;
  }
}
