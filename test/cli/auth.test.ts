// `codeshare auth login|status|logout` through the real executable, against a real server in
// open mode; tokens stored per CODESHARE_HOME, overridden by CODESHARE_SERVER/CODESHARE_TOKEN.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_SUITE_TIMEOUTS, runCli, runCliJson, TempFolders } from '../helpers/cli.js';
import { apiClient, signIn, startTestServer, type TestServer } from '../helpers/server.js';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('auth', CLI_SUITE_TIMEOUTS, () => {
  const temp = new TempFolders();
  let server: TestServer;
  let base: string;
  /** A CODESHARE_HOME that does not exist yet, so the CLI creates it. */
  const newHome = (name: string) => join(base, name);

  beforeAll(async () => {
    server = await startTestServer('pglite');
    base = await temp.make();
  }, CLI_SUITE_TIMEOUTS.timeout);
  afterAll(async () => {
    await server?.close();
    await temp.removeAll();
  });

  it('says when nobody is signed in, with exit code 1, in plain and JSON form', async () => {
    const home = newHome('nobody');
    const plain = await runCli(['auth', 'status'], { home, env: { CODESHARE_SERVER: server.url } });
    expect(plain.exitCode).toBe(1);
    expect(plain.stdout).toContain(`server     ${server.url} (from CODESHARE_SERVER)`);
    expect(plain.stdout).toContain('signed in  no');
    expect(plain.stderr).toContain('codeshare auth login');

    const json = await runCli(['auth', 'status', '--json'], { home, env: { CODESHARE_SERVER: server.url } });
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      server: server.url,
      serverSource: 'env',
      signedIn: false,
      user: null,
      tokenSource: null,
      token: null,
      credentialsFile: join(home, 'credentials.json'),
      problem: `not signed in to ${server.url}: run \`codeshare auth login\``,
    });
  });

  it('signs in by name in open mode and stores the token 0600 in a 0700 folder', async () => {
    const home = newHome('alice');
    const run = await runCli(['auth', 'login', '--server', `${server.url}/`, '--name', 'alice'], { home });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe(`Signed in to ${server.url} as alice (token stored in ${join(home, 'credentials.json')})`);

    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect((await stat(join(home, 'credentials.json'))).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(join(home, 'credentials.json'), 'utf8'));
    expect(stored).toEqual({ server: server.url, token: expect.stringMatching(/\S{20,}/), username: 'alice' });
    expect((await apiClient(server.url, stored.token)('GET', '/api/me')).body.user.username).toBe('alice');

    const status = await runCli(['auth', 'status'], { home });
    expect(status.exitCode).toBe(0);
    expect(status.stdout.split('\n')).toEqual([
      `server  ${server.url} (stored)`,
      'user    alice',
      `token   session token from ${join(home, 'credentials.json')}, expires never`,
    ]);

    const json = await runCliJson(['auth', 'status'], { home });
    expect(json).toMatchObject({
      server: server.url,
      serverSource: 'file',
      signedIn: true,
      user: { username: 'alice', displayName: null },
      tokenSource: 'file',
      token: { kind: 'session', projectId: null, role: null, expiresAt: null },
      problem: null,
    });
  });

  it('answers login --json with the user and the method', async () => {
    const home = newHome('json-login');
    const result = await runCliJson(['auth', 'login', '--server', server.url, '--name', 'jason'], { home });
    expect(result).toEqual({
      server: server.url,
      user: { id: expect.any(String), username: 'jason', displayName: null },
      method: 'open',
      credentialsFile: join(home, 'credentials.json'),
    });
  });

  it('stores a token read from stdin after checking it (CI)', async () => {
    const { token } = await signIn(server.url, 'ci-user');
    const home = newHome('ci');
    const run = await runCli(['auth', 'login', '--with-token', '--server', server.url], { home, input: `${token}\n` });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('as ci-user');
    expect(JSON.parse(await readFile(join(home, 'credentials.json'), 'utf8')).token).toBe(token);

    const bad = await runCli(['auth', 'login', '--with-token', '--server', server.url], { home: newHome('ci-bad'), input: 'cs_not-a-token\n' });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('does not accept that token');

    const empty = await runCli(['auth', 'login', '--with-token', '--server', server.url], { home: newHome('ci-empty'), input: '' });
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('no token on stdin');
  });

  it('lets CODESHARE_TOKEN and CODESHARE_SERVER stand in for the stored credentials', async () => {
    const { token } = await signIn(server.url, 'env-user');
    const status = await runCliJson(['auth', 'status'], {
      home: newHome('env-only'),
      env: { CODESHARE_SERVER: server.url, CODESHARE_TOKEN: token },
    });
    expect(status).toMatchObject({ serverSource: 'env', tokenSource: 'env', signedIn: true, user: { username: 'env-user' } });

    const refused = await runCli(['auth', 'status'], { home: newHome('env-bad'), env: { CODESHARE_SERVER: server.url, CODESHARE_TOKEN: 'cs_wrong' } });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('the server refused the token in CODESHARE_TOKEN');
  });

  it('never sends a stored token to another server', async () => {
    const home = newHome('two-servers');
    expect((await runCli(['auth', 'login', '--server', server.url, '--name', 'carol'], { home })).exitCode).toBe(0);
    const port = await closedPort();
    const run = await runCli(['auth', 'status', '--json', '--server', `http://127.0.0.1:${port}`], { home });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ serverSource: 'flag', tokenSource: null, signedIn: false });
  });

  it('says the server cannot be reached, and what to do', async () => {
    const port = await closedPort();
    const run = await runCli(['auth', 'login', '--server', `http://127.0.0.1:${port}`, '--name', 'dave'], { home: newHome('unreachable') });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(`codeshare: cannot reach the server at http://127.0.0.1:${port} (ECONNREFUSED): is \`codeshare server\` running?`);
  });

  it('explains a damaged credentials file, and signing in again replaces it', async () => {
    const home = newHome('damaged');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, 'credentials.json'), '{ not json');
    const status = await runCli(['auth', 'status'], { home });
    expect(status.exitCode).toBe(1);
    expect(status.stderr).toBe(`codeshare: ${join(home, 'credentials.json')} is not a valid credentials file (not JSON): sign in again with \`codeshare auth login\`, or delete it`);
    const login = await runCli(['auth', 'login', '--server', server.url, '--name', 'dana'], { home });
    expect(login.exitCode, login.stderr).toBe(0);
    expect((await runCliJson(['auth', 'status'], { home })).user.username).toBe('dana');
  });

  it('refuses bad flags as usage errors', async () => {
    const home = newHome('usage');
    const both = await runCli(['auth', 'login', '--with-token', '--name', 'x'], { home });
    expect(both.exitCode).toBe(2);
    const badName = await runCli(['auth', 'login', '--server', server.url, '--name', 'not valid!'], { home });
    expect(badName.exitCode).toBe(2);
    expect(badName.stderr).toContain('not a valid username');
    const badServer = await runCli(['auth', 'login', '--server', 'ftp://x', '--name', 'x'], { home });
    expect(badServer.exitCode).toBe(2);
  });

  it('signs out: removes the stored token and revokes the session on the server', async () => {
    const home = newHome('erin');
    expect((await runCli(['auth', 'login', '--server', server.url, '--name', 'erin'], { home })).exitCode).toBe(0);
    const { token } = JSON.parse(await readFile(join(home, 'credentials.json'), 'utf8'));

    const run = await runCli(['auth', 'logout'], { home });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe(`Signed out erin from ${server.url} (token revoked on the server)`);
    await expect(stat(join(home, 'credentials.json'))).rejects.toThrow();
    expect((await apiClient(server.url, token)('GET', '/api/me')).status).toBe(401);

    const again = await runCliJson(['auth', 'logout'], { home });
    expect(again).toEqual({ server: null, username: null, removed: false, revoked: false, credentialsFile: join(home, 'credentials.json') });
  });

  it('keeps an API token working when signing out of it, and still forgets it here', async () => {
    const owner = await signIn(server.url, 'frank');
    const created = await apiClient(server.url, owner.token)('POST', '/api/tokens', { name: 'pipeline' });
    const home = newHome('frank-ci');
    expect((await runCli(['auth', 'login', '--with-token', '--server', server.url], { home, input: created.body.token })).exitCode).toBe(0);
    const out = await runCliJson(['auth', 'logout'], { home });
    expect(out).toMatchObject({ removed: true, revoked: false, username: 'frank' });
    expect((await apiClient(server.url, created.body.token)('GET', '/api/me')).status).toBe(200);
  });
});

describe('auth against a server without open sign-in', CLI_SUITE_TIMEOUTS, () => {
  const temp = new TempFolders();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite', (config) => {
      config.openAuth = false;
    });
  }, CLI_SUITE_TIMEOUTS.timeout);
  afterAll(async () => {
    await server?.close();
    await temp.removeAll();
  });

  it('says when neither GitHub nor open sign-in is configured', async () => {
    const run = await runCli(['auth', 'login', '--server', server.url], { home: await temp.make() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('neither GitHub sign-in');
    expect(run.stderr).toContain('--with-token');
  });

  it('says that a name is not enough here', async () => {
    const run = await runCli(['auth', 'login', '--server', server.url, '--name', 'gina'], { home: await temp.make() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('does not allow signing in with just a name');
  });
});
