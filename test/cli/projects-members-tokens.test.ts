// `codeshare projects`, `members` and `token` through the real executable, each user with their
// own CODESHARE_HOME, against one real server.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_SUITE_TIMEOUTS, runCli, runCliJson, TempFolders } from '../helpers/cli.js';
import { apiClient, startTestServer, type TestServer } from '../helpers/server.js';

describe('projects, members and tokens', CLI_SUITE_TIMEOUTS, () => {
  const temp = new TempFolders();
  let server: TestServer;
  let base: string;
  const homes = new Map<string, string>();

  /** A user signed in through the CLI; returns their CODESHARE_HOME. */
  async function user(name: string): Promise<string> {
    const existing = homes.get(name);
    if (existing) return existing;
    const home = join(base, name);
    const run = await runCli(['auth', 'login', '--server', server.url, '--name', name], { home });
    expect(run.exitCode, run.stderr).toBe(0);
    homes.set(name, home);
    return home;
  }

  async function tokenOf(name: string): Promise<string> {
    return JSON.parse(await readFile(join(await user(name), 'credentials.json'), 'utf8')).token;
  }

  async function createProject(owner: string, name: string, visibility: 'private' | 'public' = 'private') {
    const res = await apiClient(server.url, await tokenOf(owner))('POST', '/api/projects', { name, visibility });
    expect(res.status).toBe(201);
    return res.body as { id: string; fullName: string };
  }

  beforeAll(async () => {
    server = await startTestServer('pglite');
    base = await temp.make();
  }, CLI_SUITE_TIMEOUTS.timeout);
  afterAll(async () => {
    await server?.close();
    await temp.removeAll();
  });

  describe('projects', () => {
    it('says when there are none yet', async () => {
      const run = await runCli(['projects'], { home: await user('empty-handed') });
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain('No projects on');
      expect(await runCliJson(['projects'], { home: await user('empty-handed') })).toEqual({ server: server.url, projects: [] });
    });

    it('lists own and public projects as a table and as JSON', async () => {
      const mine = await createProject('lister', 'alpha');
      const theirs = await createProject('publisher', 'shown', 'public');
      await createProject('publisher', 'hidden');
      const home = await user('lister');

      const run = await runCli(['projects'], { home });
      expect(run.exitCode, run.stderr).toBe(0);
      const lines = run.stdout.split('\n');
      expect(lines[0]).toMatch(/^PROJECT\s+ROLE\s+VISIBILITY\s+UPDATED\s+ID$/);
      expect(lines.some((l) => l.startsWith('lister/alpha') && l.includes('owner') && l.includes('private') && l.endsWith(mine.id))).toBe(true);
      expect(lines.some((l) => l.startsWith('publisher/shown') && /\s-\s/.test(l) && l.includes('public'))).toBe(true);
      expect(run.stdout).not.toContain('hidden');

      const json = await runCliJson(['projects'], { home });
      expect(json.server).toBe(server.url);
      const byName = Object.fromEntries(json.projects.map((p: any) => [p.fullName, p]));
      expect(Object.keys(byName).sort()).toEqual(['lister/alpha', 'publisher/shown']);
      expect(byName['lister/alpha']).toEqual({
        id: mine.id,
        fullName: 'lister/alpha',
        name: 'alpha',
        owner: 'lister',
        visibility: 'private',
        role: 'owner',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(byName['publisher/shown']).toMatchObject({ id: theirs.id, role: null, visibility: 'public' });
    });

    it('fails with the sign-in hint when nobody is signed in', async () => {
      const run = await runCli(['projects'], { home: join(base, 'nobody'), env: { CODESHARE_SERVER: server.url } });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toBe(`codeshare: not signed in to ${server.url}: run \`codeshare auth login\` (or set CODESHARE_TOKEN)`);
    });

    it('fails with the sign-in hint when the stored token no longer works', async () => {
      const home = await user('revoked-session');
      const token = await tokenOf('revoked-session');
      const me = await apiClient(server.url, token)('GET', '/api/me');
      await apiClient(server.url, token)('DELETE', `/api/tokens/${me.body.token.id}`);
      const run = await runCli(['projects'], { home });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toBe('codeshare: not signed in or token expired: run `codeshare auth login`');
    });
  });

  describe('members', () => {
    it('adds, lists, changes and removes members, naming the project every way', async () => {
      const project = await createProject('owner1', 'team');
      const home = await user('owner1');
      await user('member1');

      const add = await runCli(['members', 'team', 'add', 'member1', '--role', 'viewer'], { home });
      expect(add.exitCode, add.stderr).toBe(0);
      expect(add.stdout).toBe('Added member1 to owner1/team as viewer');

      const list = await runCli(['members', 'owner1/team'], { home });
      expect(list.exitCode, list.stderr).toBe(0);
      const lines = list.stdout.split('\n');
      expect(lines[0]).toMatch(/^MEMBER\s+ROLE\s+SINCE$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
        ['member1', 'viewer'],
        ['owner1', 'owner'],
      ]);

      const listed = await runCliJson(['members', project.id, 'list'], { home });
      expect(listed).toEqual({
        action: 'list',
        project: 'owner1/team',
        members: [
          { username: 'member1', role: 'viewer', addedAt: expect.any(String) },
          { username: 'owner1', role: 'owner', addedAt: expect.any(String) },
        ],
      });

      const role = await runCliJson(['members', `${server.url}/p/owner1/team`, 'role', 'member1', 'editor'], { home });
      expect(role).toEqual({ action: 'role', project: 'owner1/team', member: { username: 'member1', role: 'editor', addedAt: expect.any(String) } });

      const removed = await runCli(['members', 'owner1/team', 'remove', 'member1'], { home });
      expect(removed.exitCode, removed.stderr).toBe(0);
      expect(removed.stdout).toBe('Removed member1 from owner1/team');
      expect((await runCliJson(['members', 'owner1/team'], { home })).members.map((m: any) => m.username)).toEqual(['owner1']);
    });

    it('answers add and remove with JSON too', async () => {
      await createProject('owner2', 'json');
      const home = await user('owner2');
      await user('member2');
      expect(await runCliJson(['members', 'owner2/json', 'add', 'member2'], { home })).toEqual({
        action: 'add',
        project: 'owner2/json',
        member: { username: 'member2', role: 'editor', addedAt: expect.any(String) },
      });
      expect(await runCliJson(['members', 'owner2/json', 'remove', 'member2'], { home })).toEqual({
        action: 'remove',
        project: 'owner2/json',
        username: 'member2',
      });
    });

    it("passes on the server's refusals with its message", async () => {
      await createProject('owner3', 'guarded');
      const home = await user('owner3');
      const unknown = await runCli(['members', 'owner3/guarded', 'add', 'nobody-at-all'], { home });
      expect(unknown.exitCode).toBe(1);
      expect(unknown.stderr).toBe('codeshare: No user named nobody-at-all');
      const last = await runCli(['members', 'owner3/guarded', 'remove', 'owner3'], { home });
      expect(last.exitCode).toBe(1);
      expect(last.stderr).toContain('at least one owner');
    });

    it('hides private projects from outsiders', async () => {
      await createProject('owner4', 'secret');
      const run = await runCli(['members', 'owner4/secret'], { home: await user('outsider') });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toBe(
        `codeshare: project owner4/secret not found on ${server.url}, or it is private and you are not a member: check the name with \`codeshare projects\``,
      );
    });

    it('refuses malformed requests as usage errors before asking the server', async () => {
      const home = await user('owner1');
      for (const args of [['members', 'a/b', 'add'], ['members', 'a/b', 'role', 'x', 'boss'], ['members', 'a/b', 'kick', 'x'], ['members', 'a/b/c']]) {
        const run = await runCli(args, { home });
        expect(run.exitCode, args.join(' ')).toBe(2);
      }
    });

    it('sends no stored token to the server a project URL names when it is another one', async () => {
      const home = await user('owner1');
      const run = await runCli(['members', 'http://127.0.0.1:9/p/owner1/team'], { home });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('not signed in to http://127.0.0.1:9');
    });
  });

  describe('tokens', () => {
    it('creates a project token, shows its secret once, lists it and revokes it', async () => {
      const project = await createProject('tokener', 'ci');
      const home = await user('tokener');

      const created = await runCli(['token', 'create', '--name', 'pipeline', '--project', 'ci', '--role', 'viewer', '--expires-in-days', '30'], { home });
      expect(created.exitCode, created.stderr).toBe(0);
      const lines = created.stdout.split('\n');
      expect(lines[0]).toMatch(/^Created token "pipeline" \([0-9a-f-]{36}\), limited to tokener\/ci as viewer, expires \d{4}-/);
      expect(lines[1]).toContain('not shown again');
      const secret = lines.at(-1) as string;
      const me = await apiClient(server.url, secret)('GET', '/api/me');
      expect(me.body.token).toMatchObject({ kind: 'api', projectId: project.id, role: 'viewer' });

      const json = await runCliJson(['token', 'create', '--project', 'tokener/ci'], { home });
      expect(json).toEqual({
        token: expect.any(String),
        apiToken: {
          id: expect.any(String),
          name: expect.stringMatching(/^token \d{4}-\d\d-\d\d \d\d:\d\d$/),
          kind: 'api',
          project: 'tokener/ci',
          projectId: project.id,
          role: null,
          expiresAt: null,
          lastUsedAt: null,
          revokedAt: null,
          createdAt: expect.any(String),
        },
      });

      const listed = await runCliJson(['token', 'list'], { home });
      const pipeline = listed.tokens.find((t: any) => t.name === 'pipeline');
      expect(pipeline).toMatchObject({ kind: 'api', project: 'tokener/ci', role: 'viewer', revokedAt: null });
      expect(listed.tokens.some((t: any) => t.kind === 'session')).toBe(true);
      expect(JSON.stringify(listed)).not.toContain(secret);

      const table = await runCli(['token', 'list'], { home });
      expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+KIND\s+PROJECT\s+ROLE\s+STATE\s+EXPIRES\s+LAST USED$/);
      expect(table.stdout).toMatch(new RegExp(`${pipeline.id}\\s+pipeline\\s+api\\s+tokener/ci\\s+viewer\\s+active`));

      const revoked = await runCli(['token', 'revoke', pipeline.id], { home });
      expect(revoked.exitCode, revoked.stderr).toBe(0);
      expect(revoked.stdout).toBe(`Revoked token ${pipeline.id}`);
      expect((await apiClient(server.url, secret)('GET', '/api/me')).status).toBe(401);

      // The revoked token, used from CI, fails with a message about CODESHARE_TOKEN.
      const ci = await runCli(['projects'], { home: join(base, 'ci-runner'), env: { CODESHARE_SERVER: server.url, CODESHARE_TOKEN: secret } });
      expect(ci.exitCode).toBe(1);
      expect(ci.stderr).toContain('the server refused the token in CODESHARE_TOKEN');
    });

    it('answers revoke --json, and says when the id is not among your tokens', async () => {
      const home = await user('tokener');
      const created = await runCliJson(['token', 'create', '--name', 'short-lived'], { home });
      expect(await runCliJson(['token', 'revoke', created.apiToken.id], { home })).toEqual({ revoked: created.apiToken.id });
      const other = await runCli(['token', 'revoke', '00000000-0000-4000-8000-000000000000'], { home });
      expect(other.exitCode).toBe(1);
      expect(other.stderr).toContain('no token 00000000-0000-4000-8000-000000000000 among yours');
    });

    it('refuses usage errors with exit code 2', async () => {
      const home = await user('tokener');
      expect((await runCli(['token', 'create', '--role', 'viewer'], { home })).exitCode).toBe(2);
      expect((await runCli(['token', 'create', '--expires-in-days', 'never'], { home })).exitCode).toBe(2);
      expect((await runCli(['token', 'revoke', 'abc'], { home })).exitCode).toBe(2);
    });

    it("passes on the server's refusal of a role above the creator's", async () => {
      await createProject('boss', 'tower');
      const viewerHome = await user('lowly');
      const token = await tokenOf('boss');
      await apiClient(server.url, token)('POST', '/api/projects/boss%2Ftower/members', { username: 'lowly', role: 'viewer' });
      const run = await runCli(['token', 'create', '--project', 'boss/tower', '--role', 'owner'], { home: viewerHome });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('A token cannot do more than you');
    });
  });
});
