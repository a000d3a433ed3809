// `codeshare demo`: the product doing its job, for real, with nothing configured. A server on
// embedded storage, two people with their own daemons and folders, a share, a join, edits in
// both directions, and how long each step took. Every part is the production code path.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { codesharePaths } from '../../common/paths.js';
import { Daemon } from '../../daemon/daemon.js';
import { ControlClient } from '../../common/control-client.js';
import { defaultServerConfig } from '../../server/config.js';
import { startServer } from '../../server/main.js';
import { note } from '../output.js';

export interface DemoResult {
  server: string;
  storage: string;
  folders: { alice: string; bob: string };
  steps: { step: string; ms: number }[];
  kept: boolean;
}

const SAMPLE: Record<string, string | Buffer> = {
  'README.md': '# Demo project\n\nShared live with codeshare.\n',
  'src/greet.js': "export function greet(name) {\n  return `Hello, ${name}!`;\n}\n",
  'src/windows-style.txt': 'line one\r\nline two\r\n',
  'docs/notes.md': '- edit any file in either folder\n- watch it arrive in the other\n',
  'assets/logo.bin': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02, 0xff, 0xfe]),
};

async function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`demo step timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const readText = (path: string) => readFile(path, 'utf8').catch(() => null);

type Timed = <T>(step: string, run: () => Promise<T>) => Promise<T>;

/** A user signed in by name (the server is in open mode on loopback). */
async function signIn(serverUrl: string, username: string): Promise<{ token: string }> {
  const response = await fetch(`${serverUrl}/api/auth/open`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  return (await response.json()) as { token: string };
}

/** Live edits both ways, one at the same time on both sides, each timed until the other folder has it. */
async function editBothWays(folders: { alice: string; bob: string }, timed: Timed): Promise<void> {
  const edited = "export function greet(name) {\n  return `Hello, ${name}! Welcome to codeshare.`;\n}\n";
  await timed("alice edits src/greet.js; bob's copy has it", async () => {
    await writeFile(join(folders.alice, 'src/greet.js'), edited);
    await until(async () => (await readText(join(folders.bob, 'src/greet.js'))) === edited, 'edit to reach bob');
  });
  await timed("bob creates TODO.md; alice's folder has it", async () => {
    await writeFile(join(folders.bob, 'TODO.md'), '- [ ] try codeshare with a teammate\n');
    await until(async () => (await readText(join(folders.alice, 'TODO.md'))) !== null, 'new file to reach alice');
  });
  await timed('both edit README.md at once; both edits land in both folders', async () => {
    await Promise.all([
      writeFile(join(folders.alice, 'README.md'), '# Demo project (alice was here)\n\nShared live with codeshare.\n'),
      writeFile(join(folders.bob, 'README.md'), '# Demo project\n\nShared live with codeshare. (bob too)\n'),
    ]);
    const both = '# Demo project (alice was here)\n\nShared live with codeshare. (bob too)\n';
    await until(
      async () => (await readText(join(folders.alice, 'README.md'))) === both && (await readText(join(folders.bob, 'README.md'))) === both,
      'both edits to merge',
    );
  });
}

export async function demo(options: { keep?: boolean }): Promise<DemoResult> {
  const work = await mkdtemp(join(tmpdir(), 'codeshare-demo-'));
  const steps: { step: string; ms: number }[] = [];
  const timed = async <T>(step: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await run();
    const ms = Math.round(performance.now() - started);
    steps.push({ step, ms });
    note(`  ${step}: ${ms} ms`);
    return result;
  };
  // The embedded database lives with the user's data, so only the first demo pays its set-up.
  const dataDir = join(codesharePaths().dataDir, 'demo');
  note(`codeshare demo: a server on embedded storage, two users, two folders (in ${work})`);
  const server = await timed('start the server (embedded PostgreSQL; the first run initialises it)', () =>
    startServer({ host: '127.0.0.1', port: 0, dataDir, config: defaultServerConfig(), logger: false }),
  );
  const log = pino({ level: 'warn' }, pino.destination({ dest: join(work, 'daemons.log'), sync: false }));
  const daemons: Daemon[] = [];
  const clients: ControlClient[] = [];
  try {
    const alice = await signIn(server.url, 'alice');
    const bob = await signIn(server.url, 'bob');
    const folders = { alice: join(work, 'alice', 'demo'), bob: join(work, 'bob', 'demo') };
    for (const [path, content] of Object.entries(SAMPLE)) {
      await mkdir(join(folders.alice, path, '..'), { recursive: true });
      await writeFile(join(folders.alice, path), content);
    }
    const startDaemon = async (name: string) => {
      const stateDir = join(work, name, 'state');
      const daemon = new Daemon(stateDir, log.child({ user: name }));
      await daemon.start();
      daemons.push(daemon);
      const client = await ControlClient.connect(stateDir);
      clients.push(client);
      return client;
    };
    const aliceDaemon = await startDaemon('alice');
    const bobDaemon = await startDaemon('bob');
    const projectName = `demo-${Date.now().toString(36)}`;
    const shared = await timed(`alice shares ${Object.keys(SAMPLE).length} files`, () =>
      aliceDaemon.call('share', {
        root: folders.alice,
        name: projectName,
        visibility: 'private',
        serverUrl: server.url,
        token: alice.token,
        username: 'alice',
      }),
    );
    await fetch(`${server.url}/api/projects/${shared.projectId}/members`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ username: 'bob', role: 'editor' }),
    });
    await timed(`bob joins ${shared.fullName} into his own folder`, () =>
      bobDaemon.call('join', {
        root: folders.bob,
        project: shared.fullName,
        keepLocal: false,
        serverUrl: server.url,
        token: bob.token,
        username: 'bob',
      }),
    );
    await editBothWays(folders, timed);
    return { server: server.url, storage: dataDir, folders, steps, kept: options.keep ?? false };
  } finally {
    for (const client of clients) client.close();
    for (const daemon of daemons) await daemon.stop();
    await server.close();
    log.flush();
    if (!options.keep) await rm(work, { recursive: true, force: true });
    else note(work);
  }
}

export function formatDemo(result: DemoResult): string[] {
  const lines = [
    'codeshare works: two folders stayed identical through a share, a join and live edits both ways.',
    ...result.steps.map(({ step, ms }) => `  ${String(ms).padStart(6)} ms  ${step}`),
  ];
  if (result.kept) lines.push(`The folders are kept: ${result.folders.alice} and ${result.folders.bob}`);
  lines.push(
    '',
    'Use it for real:',
    '  codeshare server                      # on one machine (embedded storage; --database-url for PostgreSQL)',
    '  codeshare auth login --name alice     # on each machine (open sign-in on a trusted network)',
    '  codeshare share                       # in your repository; it prints the join command',
    '  codeshare join <owner/name>           # in a teammate\'s clone of the same repository',
  );
  return lines;
}
