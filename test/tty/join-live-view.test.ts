// The live view on a real terminal: tmux runs `codeshare join`, we read the screen.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CLI = join(import.meta.dirname, '../../bin/codeshare.js');

/** Generous: the first join starts bob's daemon, which on a loaded CI machine takes a while. */
async function eventually<T>(check: () => Promise<T | false | null | undefined>, what: string, ms = 60_000, lastSeen?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastSeen ? `; the terminal showed:\n${await lastSeen()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('codeshare join on a terminal', () => {
  let server: TestServer;
  let work: string;
  const socket = `codeshare-test-${process.pid}`;
  const home = (user: string) => join(work, 'homes', user);
  const cli = (user: string, args: string[]) =>
    execa('node', [CLI, ...args], { env: { CODESHARE_HOME: home(user), NO_COLOR: '1' }, cwd: work });
  const tmux = (args: string[]) => execa('tmux', ['-L', socket, ...args]);
  const screen = async () => (await tmux(['capture-pane', '-p', '-t', 'join'])).stdout;

  beforeAll(async () => {
    server = await startTestServer('pglite');
    work = await mkdtemp(join(tmpdir(), 'codeshare-tty-'));
    await mkdir(join(work, 'A', 'src'), { recursive: true });
    await writeFile(join(work, 'A', 'README.md'), 'hello\n');
    await writeFile(join(work, 'A', 'src', 'app.js'), 'console.log(1);\n');
    for (const user of ['alice', 'bob']) await cli(user, ['auth', 'login', '--server', server.url, '--name', user]);
    await cli('alice', ['share', join(work, 'A'), '--name', 'tty']);
    await cli('alice', ['members', 'alice/tty', 'add', 'bob', '--role', 'editor']);
  });

  afterAll(async () => {
    await tmux(['kill-server']).catch(() => undefined);
    for (const user of ['alice', 'bob']) await cli(user, ['daemon', 'stop']).catch(() => undefined);
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it('renders the live view, shows a teammate edit in the feed, and q detaches while syncing goes on', { timeout: 240_000 }, async () => {
    // A person's terminal: no CI variables (Ink would draw only the last frame).
    const command = `env -u CI -u CONTINUOUS_INTEGRATION CODESHARE_HOME=${home('bob')} node ${CLI} join alice/tty ${join(work, 'B')}; echo DETACHED; sleep 120`;
    await tmux(['new-session', '-d', '-s', 'join', '-x', '120', '-y', '40', command]);

    const first = await eventually(async () => {
      const text = await screen();
      return text.includes('● synced') && text.includes('alice/tty') ? text : false;
    }, 'the live view to show synced', undefined, screen);
    expect(first).toContain('Teammates join with: codeshare join');
    expect(first).toContain('q detach');

    await writeFile(join(work, 'A', 'README.md'), 'hello from alice\n');
    const edited = await eventually(async () => {
      const text = await screen();
      return /edited README\.md \(\+1 -1\)/.test(text) ? text : false;
    }, 'the edit to show in the feed', undefined, screen);
    expect(edited).toMatch(/alice edited README\.md|a teammate edited README\.md/);
    expect(await readFile(join(work, 'B', 'README.md'), 'utf8')).toBe('hello from alice\n');

    await tmux(['send-keys', '-t', 'join', 'q']);
    await eventually(async () => (await screen()).includes('DETACHED'), 'q to detach');

    await writeFile(join(work, 'A', 'src', 'app.js'), 'console.log(2);\n');
    await eventually(async () => (await readFile(join(work, 'B', 'src', 'app.js'), 'utf8')) === 'console.log(2);\n', 'the daemon to keep syncing after detach');
  });

  it('prints plain lines and returns in a CI job, even on a terminal', { timeout: 120_000 }, async () => {
    const command = `CI=true CODESHARE_HOME=${home('bob')} node ${CLI} join alice/tty ${join(work, 'C')}; echo EXITED $?; sleep 120`;
    await tmux(['new-session', '-d', '-s', 'ci', '-x', '120', '-y', '40', command]);
    const shown = await eventually(async () => {
      const text = (await tmux(['capture-pane', '-p', '-t', 'ci'])).stdout;
      return text.includes('EXITED') ? text : false;
    }, 'the join to return');
    expect(shown).toContain(`Joined alice/tty into ${join(work, 'C')} (2 files); the daemon keeps it live.`);
    expect(shown).toContain('EXITED 0');
    expect(shown).not.toContain('q detach');
    expect(await readFile(join(work, 'C', 'README.md'), 'utf8')).toBe('hello from alice\n');
  });
});
