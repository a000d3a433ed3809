// End-to-end harness: a real server, real users each with their own CODESHARE_HOME, the real
// CLI (`node bin/codeshare.js`) and the real detached daemons it starts. Every daemon, server
// process and temp folder a world makes is stopped and removed by dispose(), which every suite
// calls in afterAll/afterEach. Needs the build in dist/ (`npm run build`; `npm test` does it).
import type { ProjectFile } from '../../common/project-file.js';
import { execa, type ResultPromise } from 'execa';
import { lstat, mkdir, readFile, readdir, readlink, realpath, rm, mkdtemp, writeFile, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { ControlClient } from '../../common/control-client.js';
import { IgnoreRules } from '../../common/ignore-rules.js';
import { eventually } from '../helpers/eventually.js';
import { CLI_ENTRY, runCli, type CliRun } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';
import type { App } from '../../server/app.js';
import type { ServerConfig } from '../../server/config.js';
import { createTestStorage, type TestStorage } from '../helpers/storage.js';

export { eventually };

/** How long a change may take to travel in these tests: generous, since CI machines are slow. */
export const SYNC_MS = 20_000;

// ------------------------------------------------------------------------------------------
// Servers

export interface E2eServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The server in this process (fastest): a fresh PostgreSQL database of its own. `configure`
 * changes its settings; `app` lets a test look at its rooms.
 */
export async function startInProcessServer(configure?: (config: ServerConfig) => void): Promise<E2eServer & { app: App }> {
  const server = await retryWhileTemplateBusy(() => startTestServer('postgres', configure));
  return { url: server.url, app: server.app, close: () => server.close() };
}

/**
 * A fresh PostgreSQL database for a server process. Another vitest run's global setup may be
 * re-creating the template database at this moment (it drops and migrates it): wait for it.
 */
export function createPostgresStorage(): Promise<TestStorage> {
  return retryWhileTemplateBusy(() => createTestStorage('postgres'));
}

async function retryWhileTemplateBusy<T>(make: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await make();
    } catch (err) {
      // 3D000: the template does not exist (yet); 55006: it is being migrated right now.
      const code = (err as { code?: string }).code;
      if ((code !== '3D000' && code !== '55006') || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250 + Math.random() * 500));
    }
  }
}

/**
 * `codeshare server` as a child process on a storage the caller keeps, so a test can SIGKILL it
 * and start another on the same storage and port.
 */
export class ServerProcess implements E2eServer {
  private constructor(
    private child: ResultPromise | null,
    readonly url: string,
    readonly port: number,
    private readonly storage: TestStorage,
    private readonly home: string,
  ) {}

  static async start(storage: TestStorage, home: string, port = 0): Promise<ServerProcess> {
    const { child, url } = await spawnServer(storage, home, port);
    return new ServerProcess(child, url, Number(new URL(url).port), storage, home);
  }

  /** SIGKILL: no flush, no goodbye; what was acknowledged must be in the database already. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child) return;
    child.kill('SIGKILL');
    await child.catch(() => undefined);
  }

  /** A new server process on the same storage and port. */
  async restart(): Promise<void> {
    await this.kill();
    // The port was free a moment ago; the kernel frees a killed listener's port at once.
    const { child } = await spawnServer(this.storage, this.home, this.port);
    this.child = child;
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await child.catch(() => undefined);
    clearTimeout(timer);
  }
}

async function spawnServer(storage: TestStorage, home: string, port: number): Promise<{ child: ResultPromise; url: string }> {
  const args = [CLI_ENTRY, 'server', '--port', String(port), '--data-dir', storage.dataDir, '--auth', 'open', '--log-level', 'warn'];
  if (storage.databaseUrl) args.push('--database-url', storage.databaseUrl);
  const child = execa(process.execPath, args, {
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '', HOME: home, CODESHARE_HOME: home },
    reject: false,
    buffer: false,
    stdin: 'ignore',
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${stderr}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void child.then((result) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${result.exitCode ?? result.signal}): ${stderr}`));
    });
  });
  return { child, url };
}

// ------------------------------------------------------------------------------------------
// Users

export interface ShareResult {
  project: string;
  projectId: string;
  root: string;
  server: string;
  files: number;
  joinCommand: string;
  url: string;
}

export interface JoinResult extends ShareResult {
  report: { kept: number; written: number; replaced: { path: string; backup: string }[]; pushed: number };
}

export interface FolderStatus {
  root: string;
  projectId: string;
  projectName: string;
  state: 'starting' | 'synced' | 'unsaved' | 'offline' | 'paused' | 'refused';
  unsaved: number;
  connection: string;
  pausedReason: string | null;
  branch: string | null;
  trackedBranch: string | null;
  files: number;
  peers: { name: string; file?: string | null; branch?: string | null }[];
  problems: { path: string; reason: string; message: string }[];
  halt: { rule: 'discards' | 'removal'; looksLike: string; files: number; whose: string[]; since: string } | null;
  guard: { maxRemovedShare: number | null; maxRemovedFiles: number | null };
  docs: { inMemory: number; stored: number };
}

export interface StatusResult {
  daemon: { running: boolean; pid: number | null; startedAt: string | null; logFile: string | null };
  folders: FolderStatus[];
}

/** One simulated person: a CODESHARE_HOME, a sign-in, and the daemon the CLI starts for them. */
export class User {
  /** Every daemon pid this user's CLI started, to be sure all are gone at the end. */
  readonly daemonPids = new Set<number>();
  token = '';
  /** Environment for this user's CLI runs, and so for the daemon they start. */
  readonly env: Record<string, string> = {};

  constructor(
    readonly name: string,
    readonly home: string,
  ) {}

  run(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
    return runCli(args, { home: this.home, env: {
        CODESHARE_LOG_LEVEL: 'debug',
        // `CODESHARE_RESCAN_MS=2000 npm run soak` runs the daemons' periodic checks often.
        ...(process.env.CODESHARE_RESCAN_MS ? { CODESHARE_RESCAN_MS: process.env.CODESHARE_RESCAN_MS } : {}),
        // `CODESHARE_DOCS_IN_MEMORY=1 npm run soak` makes the daemons evict docs all the time.
        ...(process.env.CODESHARE_DOCS_IN_MEMORY ? { CODESHARE_DOCS_IN_MEMORY: process.env.CODESHARE_DOCS_IN_MEMORY } : {}),
        ...this.env,
      }, cwd: options.cwd, timeoutMs: options.timeoutMs ?? 60_000 });
  }

  /** Runs `codeshare <args> --json`, failing with stderr unless it exits 0. */
  async json<T = any>(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<T> {
    const run = await this.run([...args, '--json'], options);
    if (run.exitCode !== 0) throw new Error(`${this.name}: codeshare ${args.join(' ')} exited ${run.exitCode}:\n${run.stderr}${run.stdout}`);
    return JSON.parse(run.stdout) as T;
  }

  async signIn(serverUrl: string): Promise<void> {
    await this.json(['auth', 'login', '--server', serverUrl, '--name', this.name]);
    const credentials = JSON.parse(await readFile(join(this.home, 'credentials.json'), 'utf8')) as { token: string };
    this.token = credentials.token;
  }

  async share(dir: string, name?: string): Promise<ShareResult> {
    const result = await this.json<ShareResult>(['share', dir, ...(name ? ['--name', name] : [])]);
    await this.recordDaemon();
    return result;
  }

  async join(project: string, dir: string, options: { keepLocal?: boolean } = {}): Promise<JoinResult> {
    const result = await this.json<JoinResult>(['join', project, dir, ...(options.keepLocal ? ['--keep-local'] : [])]);
    await this.recordDaemon();
    return result;
  }

  /** `codeshare join <project>` run in `cwd`, naming no folder. */
  async joinIn(cwd: string, project: string): Promise<JoinResult> {
    const result = await this.json<JoinResult>(['join', project], { cwd });
    await this.recordDaemon();
    return result;
  }

  status(): Promise<StatusResult> {
    return this.json<StatusResult>(['status']);
  }

  async folderStatus(root: string): Promise<FolderStatus> {
    const status = await this.status();
    const folder = status.folders.find((f) => f.root === root);
    if (!folder) throw new Error(`${this.name}: ${root} is not in \`codeshare status\`: ${JSON.stringify(status.folders.map((f) => f.root))}`);
    return folder;
  }

  /**
   * The folder's status straight from the daemon's control socket: the same data
   * `codeshare status --json` prints, without starting a process per poll.
   */
  async daemonFolderStatus(root: string): Promise<FolderStatus> {
    const client = await ControlClient.connect(join(this.home, 'state'));
    try {
      const status = await client.call('status', {});
      const folder = status.folders.find((f) => f.root === root);
      if (!folder) throw new Error(`${this.name}: the daemon does not sync ${root}`);
      return folder as FolderStatus;
    } finally {
      client.close();
    }
  }

  /**
   * Polls the daemon until `check` passes on the folder's status, then confirms it with
   * `codeshare status --json`, which is what a user would look at.
   */
  async untilFolder(root: string, check: (folder: FolderStatus) => void, ms = SYNC_MS): Promise<FolderStatus> {
    return eventually(async () => {
      check(await this.daemonFolderStatus(root));
      const folder = await this.folderStatus(root);
      check(folder);
      return folder;
    }, ms, 100);
  }

  /** Waits until the folder is online with nothing unsaved and no work queued. */
  untilSynced(root: string, ms = SYNC_MS): Promise<FolderStatus> {
    return this.untilFolder(
      root,
      (folder) => expect(folder.state, `${this.name}'s folder: ${JSON.stringify({ ...folder, peers: undefined })}`).toBe('synced'),
      ms,
    );
  }

  async daemonPid(): Promise<number | null> {
    const status = await this.json<{ running: boolean; pid: number | null }>(['daemon', 'status']);
    return status.running ? status.pid : null;
  }

  async startDaemon(): Promise<number> {
    const result = await this.json<{ pid: number }>(['daemon', 'start']);
    this.daemonPids.add(result.pid);
    return result.pid;
  }

  async stopDaemon(): Promise<void> {
    const pid = await this.daemonPid().catch(() => null);
    await this.run(['daemon', 'stop']).catch(() => undefined);
    if (pid !== null) await untilGone(pid, 10_000);
  }

  /** SIGKILL, the way a crash or the OOM killer ends it. */
  async killDaemon(): Promise<number> {
    const pid = await this.daemonPid();
    if (pid === null) throw new Error(`${this.name}: no daemon running`);
    process.kill(pid, 'SIGKILL');
    await untilGone(pid, 10_000);
    return pid;
  }

  private async recordDaemon(): Promise<void> {
    const pid = await this.daemonPid();
    if (pid !== null) this.daemonPids.add(pid);
  }

  async daemonLog(lines = 200): Promise<string> {
    const text = await readFile(join(this.home, 'state', 'daemon.log'), 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  /** Stops the daemon politely, then makes sure every daemon this user ever had is gone. */
  async dispose(): Promise<void> {
    await this.run(['daemon', 'stop'], { timeoutMs: 15_000 }).catch(() => undefined);
    for (const pid of this.daemonPids) {
      if (!(await untilGone(pid, 5000).then(() => true, () => false))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function untilGone(pid: number, ms: number): Promise<void> {
  await eventually(() => {
    if (isAlive(pid)) throw new Error(`process ${pid} is still running`);
  }, ms, 50);
}

// ------------------------------------------------------------------------------------------
// A world: one server, users, folders

export type TreeSpec = Record<string, string | Buffer | { content: string | Buffer; mode?: number } | { symlink: string }>;

export class World {
  readonly users: User[] = [];
  private readonly temps: string[] = [];

  private constructor(readonly server: E2eServer) {}

  static async create(server?: E2eServer): Promise<World> {
    return new World(server ?? (await startInProcessServer()));
  }

  /** A fresh empty temp folder, by its real path; removed by dispose(). */
  async tempDir(label: string): Promise<string> {
    const dir = await realpath(await mkdtemp(join(tmpdir(), `codeshare-e2e-${label}-`)));
    this.temps.push(dir);
    return dir;
  }

  async user(name: string): Promise<User> {
    const user = new User(name, await this.tempDir(`home-${name}`));
    this.users.push(user);
    await user.signIn(this.server.url);
    return user;
  }

  /** A folder holding `tree`, inside a fresh temp folder. */
  async folder(label: string, tree: TreeSpec = {}): Promise<string> {
    const dir = join(await this.tempDir(label), label);
    await mkdir(dir);
    await writeTree(dir, tree);
    return dir;
  }

  /**
   * alice shares a folder holding `tree` (`gitRepo`: committed in a git repository first), adds
   * bob as an editor, bob joins into an empty folder, and both are synced. `watchers`: the
   * watcher backend each daemon is asked for (CODESHARE_WATCHER).
   */
  async sharedPair(
    tree: TreeSpec,
    names: [string, string] = ['alice', 'bob'],
    options: { gitRepo?: boolean; watchers?: ['native' | 'chokidar', 'native' | 'chokidar'] } = {},
  ): Promise<Pair> {
    const alice = await this.user(names[0]);
    const bob = await this.user(names[1]);
    if (options.watchers) [alice.env.CODESHARE_WATCHER, bob.env.CODESHARE_WATCHER] = options.watchers;
    const a = await this.folder('a', tree);
    if (options.gitRepo) {
      // A repository on branch main with the tree committed: the project tracks main.
      await sh('git', ['init', '-q', '-b', 'main'], a);
      await sh('git', ['add', '-A'], a);
      await sh('git', ['commit', '-q', '-m', 'first'], a);
    }
    const shared = await alice.share(a, 'proj');
    await alice.json(['members', shared.project, 'add', bob.name, '--role', 'editor']);
    const b = join(await this.tempDir('b'), 'b');
    const joined = await bob.join(shared.project, b);
    await alice.untilSynced(a);
    await bob.untilSynced(b);
    return { alice, bob, a, b, project: shared.project, projectId: shared.projectId, joined };
  }

  /** Prints the daemons' logs: call when a test failed, to see why. */
  async dumpLogs(): Promise<string> {
    const parts: string[] = [];
    for (const user of this.users) parts.push(`----- ${user.name} daemon log -----\n${await user.daemonLog()}`);
    return parts.join('\n');
  }

  async dispose(): Promise<void> {
    await Promise.all(this.users.map((user) => user.dispose()));
    await this.server.close().catch(() => undefined);
    await Promise.all(this.temps.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export interface Pair {
  alice: User;
  bob: User;
  a: string;
  b: string;
  project: string;
  projectId: string;
  joined: JoinResult;
}

export async function writeTree(root: string, tree: TreeSpec): Promise<void> {
  for (const [path, value] of Object.entries(tree)) {
    const abs = join(root, path);
    await mkdir(dirname(abs), { recursive: true });
    if (typeof value === 'object' && !Buffer.isBuffer(value) && 'symlink' in value) {
      const { symlink } = await import('node:fs/promises');
      await symlink(value.symlink, abs);
    } else if (typeof value === 'object' && !Buffer.isBuffer(value)) {
      await writeFile(abs, value.content);
      if (value.mode !== undefined) await chmod(abs, value.mode);
    } else {
      await writeFile(abs, value);
    }
  }
}

// ------------------------------------------------------------------------------------------
// What a user sees on disk

export type TreeEntry = { kind: 'file'; mode: number; bytes: Buffer } | { kind: 'symlink'; target: string };

/** Every file and symlink under root, except .git/ and what codeshare ignores there. */
export async function readTree(root: string): Promise<Map<string, TreeEntry>> {
  const rules = await IgnoreRules.load(root);
  const tree = new Map<string, TreeEntry>();
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(join(root, rel))).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      let stats;
      try {
        stats = await lstat(abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (rules.ignores(path, stats.isDirectory())) continue;
      if (stats.isDirectory()) await walk(path);
      else if (stats.isSymbolicLink()) tree.set(path, { kind: 'symlink', target: await readlink(abs) });
      else if (stats.isFile()) tree.set(path, { kind: 'file', mode: stats.mode & 0o777, bytes: await readFile(abs).catch(() => Buffer.alloc(0)) });
    }
  };
  await walk('');
  return tree;
}

function describeTree(tree: Map<string, TreeEntry>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, entry] of tree) {
    out[path] =
      entry.kind === 'symlink'
        ? `-> ${entry.target}`
        : `${entry.mode.toString(8)} ${entry.bytes.length}B ${JSON.stringify(entry.bytes.toString('utf8').slice(0, 60))}`;
  }
  return out;
}

/** Both folders hold the same files with the same bytes and modes, and the same symlinks. */
export async function expectIdentical(dirA: string, dirB: string): Promise<Map<string, TreeEntry>> {
  const [a, b] = await Promise.all([readTree(dirA), readTree(dirB)]);
  const [describedA, describedB] = [describeTree(a), describeTree(b)];
  // The paths that differ, in the message: a deep-equal of two large trees prints "{ …(39) }".
  const differing = [...new Set([...Object.keys(describedA), ...Object.keys(describedB)])]
    .filter((path) => describedA[path] !== describedB[path])
    .map((path) => `${path}: ${describedA[path] ?? 'absent'} | ${describedB[path] ?? 'absent'}`);
  expect(describedB, `${dirB} should match ${dirA}; differing (a | b):\n${differing.join('\n')}\n`).toEqual(describedA);
  for (const [path, entry] of a) {
    const other = b.get(path)!;
    if (entry.kind === 'file' && other.kind === 'file') expect(other.bytes.equals(entry.bytes), `bytes of ${path}`).toBe(true);
  }
  return a;
}

/** Polls until both folders are identical. */
export function untilIdentical(dirA: string, dirB: string, ms = SYNC_MS): Promise<Map<string, TreeEntry>> {
  return eventually(() => expectIdentical(dirA, dirB), ms, 100);
}

/** The file's bytes, or null when it is not there. */
export async function readOrNull(path: string): Promise<Buffer | null> {
  return readFile(path).catch(() => null);
}

export async function untilContent(path: string, expected: string | Buffer, ms = SYNC_MS): Promise<void> {
  const wanted = Buffer.isBuffer(expected) ? expected : Buffer.from(expected, 'utf8');
  await eventually(async () => {
    const bytes = await readOrNull(path);
    expect(bytes?.toString('utf8') ?? null, path).toEqual(wanted.toString('utf8'));
    expect(bytes!.equals(wanted), `${path} bytes`).toBe(true);
  }, ms, 50);
}

export async function untilGoneFile(path: string, ms = SYNC_MS): Promise<void> {
  await eventually(() => expect(existsSync(path), `${path} should be gone`).toBe(false), ms, 50);
}

// ------------------------------------------------------------------------------------------
// What the server holds


export async function apiGet<T>(serverUrl: string, token: string, path: string): Promise<{ status: number; body: T; bytes: Buffer }> {
  const response = await fetch(serverUrl + path, { headers: { authorization: `Bearer ${token}` } });
  const bytes = Buffer.from(await response.arrayBuffer());
  let body: unknown = null;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    body = bytes.toString('utf8');
  }
  return { status: response.status, body: body as T, bytes };
}

/** The server's materialised files of the project (every page). */
export async function serverFiles(serverUrl: string, token: string, projectId: string): Promise<ProjectFile[]> {
  const files: ProjectFile[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=200&cursor=${encodeURIComponent(cursor)}` : '?limit=200';
    const res = await apiGet<{ items: ProjectFile[]; nextCursor: string | null }>(serverUrl, token, `/api/projects/${projectId}/files${query}`);
    if (res.status !== 200) throw new Error(`GET files answered ${res.status}`);
    files.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return files;
}

/** The server's view of the project (materialised files and blobs) equals the folder. */
export async function expectServerMatches(serverUrl: string, token: string, projectId: string, dir: string): Promise<void> {
  const tree = await readTree(dir);
  const files = await serverFiles(serverUrl, token, projectId);
  expect(files.map((f) => f.path).sort(), 'paths on the server').toEqual([...tree.keys()].sort());
  for (const file of files) {
    const local = tree.get(file.path)!;
    if (local.kind === 'symlink') {
      expect(file.kind, file.path).toBe('symlink');
      expect(file.target, file.path).toBe(local.target);
      continue;
    }
    expect(file.kind, file.path).not.toBe('symlink');
    expect(file.mode & 0o111, `exec bit of ${file.path}`).toBe(local.mode & 0o111);
    let bytes: Buffer;
    if (file.kind === 'binary') {
      const res = await apiGet(serverUrl, token, `/api/projects/${projectId}/blobs/${file.sha256}`);
      expect(res.status, file.path).toBe(200);
      bytes = res.bytes;
    } else {
      const res = await apiGet(serverUrl, token, `/api/projects/${projectId}/files/content?path=${encodeURIComponent(file.path)}`);
      expect(res.status, `content of ${file.path}`).toBe(200);
      bytes = res.bytes;
    }
    expect(bytes.toString('utf8'), `server content of ${file.path}`).toBe(local.bytes.toString('utf8'));
    expect(bytes.equals(local.bytes), `server bytes of ${file.path}`).toBe(true);
  }
}

// ------------------------------------------------------------------------------------------
// Shell tools, the way a user runs them

export async function sh(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const result = await execa(command, args, {
    cwd,
    env: {
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      ...env,
    },
    reject: false,
    timeout: 60_000,
    stdin: 'ignore',
  });
  if (result.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.exitCode}:\n${result.stderr}\n${result.stdout}`);
  return result.stdout;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
