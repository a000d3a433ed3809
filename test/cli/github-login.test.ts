// `codeshare auth login` through GitHub's device flow, against a local stand-in for GitHub that
// speaks its wire format: the OAuth endpoints at the web address, the REST API under /api/v3
// (the GitHub Enterprise Server layout @octokit/oauth-methods derives from a base URL).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI_SUITE_TIMEOUTS, runCli, TempFolders } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Outcome = 'approve' | 'deny' | 'expire';

const CLIENT_ID = 'Iv1.codeshare-test';
const DEVICE_CODE = '3584d83530557fdd1f46af8289938c8ef79f9dc5';
const USER_CODE = 'WDJB-MJHT';
const ACCESS_TOKEN = 'gho_16C7e42F292c6912E7710c838347Ae178B4a';

class FakeGithub {
  outcome: Outcome = 'approve';
  readonly requests: { method: string; path: string; body: Record<string, unknown>; authorization?: string }[] = [];
  private polls = 0;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  reset(outcome: Outcome): void {
    this.outcome = outcome;
    this.polls = 0;
    this.requests.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const type = req.headers['content-type'] ?? '';
    const body: Record<string, unknown> = type.includes('json') && text ? JSON.parse(text) : Object.fromEntries(new URLSearchParams(text));
    const path = (req.url ?? '').split('?')[0] ?? '';
    this.requests.push({ method: req.method ?? '', path, body, authorization: req.headers.authorization });

    if (req.method === 'POST' && path === '/login/device/code') {
      if (body.client_id !== CLIENT_ID) return { status: 200, body: { error: 'incorrect_client_credentials', error_description: 'unknown client' } };
      // GitHub says 5 s; 0 keeps the test fast and still goes through one pending poll.
      return { status: 200, body: { device_code: DEVICE_CODE, user_code: USER_CODE, verification_uri: `${this.url}/login/device`, expires_in: 900, interval: 0 } };
    }
    if (req.method === 'POST' && path === '/login/oauth/access_token') {
      if (body.device_code !== DEVICE_CODE || body.grant_type !== 'urn:ietf:params:oauth:grant-type:device_code') {
        return { status: 200, body: { error: 'incorrect_device_code', error_description: 'bad device code' } };
      }
      // GitHub answers these with 200 and an `error` field, not an HTTP error.
      if (this.polls++ === 0) {
        return { status: 200, body: { error: 'authorization_pending', error_description: 'The authorization request is still pending.' } };
      }
      if (this.outcome === 'deny') return { status: 200, body: { error: 'access_denied', error_description: 'The authorization request was denied.' } };
      if (this.outcome === 'expire') return { status: 200, body: { error: 'expired_token', error_description: 'The device_code has expired.' } };
      return { status: 200, body: { access_token: ACCESS_TOKEN, token_type: 'bearer', scope: '' } };
    }
    if (req.method === 'GET' && path === '/api/v3/user') {
      if (req.headers.authorization !== `Bearer ${ACCESS_TOKEN}`) return { status: 401, body: { message: 'Bad credentials' } };
      return { status: 200, body: { id: 583231, login: 'octocat', name: 'The Octocat', avatar_url: `${this.url}/avatars/octocat` } };
    }
    return { status: 404, body: { message: 'Not Found' } };
  }
}

describe('auth login with GitHub', CLI_SUITE_TIMEOUTS, () => {
  const temp = new TempFolders();
  const github = new FakeGithub();
  let server: TestServer;

  beforeAll(async () => {
    await github.start();
    server = await startTestServer('pglite', (config) => {
      config.openAuth = false;
      config.github.clientId = CLIENT_ID;
      config.github.apiUrl = `${github.url}/api/v3`;
    });
  }, CLI_SUITE_TIMEOUTS.timeout);
  afterAll(async () => {
    await server?.close();
    await github.close();
    await temp.removeAll();
  });
  beforeEach(() => github.reset('approve'));

  it('shows the code and the address, waits for approval, and stores a codeshare token', async () => {
    const home = join(await temp.make(), 'home');
    const run = await runCli(['auth', 'login', '--server', server.url, '--github-url', github.url], { home });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain(`open ${github.url}/login/device and enter the code: ${USER_CODE}`);
    expect(run.stdout).toContain(`Signed in to ${server.url} as octocat`);

    const stored = JSON.parse(await readFile(join(home, 'credentials.json'), 'utf8'));
    expect(stored).toMatchObject({ server: server.url, username: 'octocat' });
    // The codeshare token, never GitHub's.
    expect(stored.token).not.toBe(ACCESS_TOKEN);

    const paths = github.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths).toEqual([
      'POST /login/device/code',
      'POST /login/oauth/access_token',
      'POST /login/oauth/access_token',
      // The server checking the token, not the CLI.
      'GET /api/v3/user',
    ]);
    expect(github.requests[0]?.body).toMatchObject({ client_id: CLIENT_ID });

    const status = await runCli(['auth', 'status', '--json'], { home });
    expect(JSON.parse(status.stdout)).toMatchObject({ signedIn: true, user: { username: 'octocat', displayName: 'The Octocat' } });
  });

  it('takes the GitHub address from GITHUB_URL and answers --json', async () => {
    const home = join(await temp.make(), 'home');
    const run = await runCli(['auth', 'login', '--server', server.url, '--json'], { home, env: { GITHUB_URL: github.url } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      server: server.url,
      user: { id: expect.any(String), username: 'octocat', displayName: 'The Octocat' },
      method: 'github',
      credentialsFile: join(home, 'credentials.json'),
    });
    // The verification prompt goes to stderr, so stdout stays JSON.
    expect(run.stderr).toContain(USER_CODE);
  });

  it('says so when the person denies access on GitHub, and stores nothing', async () => {
    github.reset('deny');
    const home = join(await temp.make(), 'home');
    const run = await runCli(['auth', 'login', '--server', server.url, '--github-url', github.url], { home });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('codeshare: GitHub sign-in was denied');
    expect(run.stderr).toContain('codeshare auth login');
    await expect(readFile(join(home, 'credentials.json'))).rejects.toThrow();
  });

  it('says so when the code expires before approval', async () => {
    github.reset('expire');
    const home = join(await temp.make(), 'home');
    const run = await runCli(['auth', 'login', '--server', server.url, '--github-url', github.url], { home });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('codeshare: the GitHub code expired before it was approved');
    await expect(readFile(join(home, 'credentials.json'))).rejects.toThrow();
  });

  it('says GitHub cannot be reached at a wrong address', async () => {
    const run = await runCli(['auth', 'login', '--server', server.url, '--github-url', 'http://127.0.0.1:9'], { home: await temp.make() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('cannot reach GitHub at http://127.0.0.1:9');
  });
});
