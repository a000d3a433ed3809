// What the benchmark modules share: the built CLI as a child process (one CODESHARE_HOME per
// simulated user), a server child process on a temp data folder, a stack of clean-ups that
// stops everything a benchmark started, per-process figures from /proc, and statistics.
// Everything listens on and talks to 127.0.0.1 only.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';

export const REPO_ROOT = join(import.meta.dirname, '../..');
export const CLI_ENTRY = join(REPO_ROOT, 'bin/codeshare.js');

/**
 * BENCH_CPU_PROF=<dir>: the server and every daemon run under `node --cpu-prof`, writing their
 * profiles into <dir>/<server|user name> when they stop (for finding where the time goes).
 */
const PROFILE_DIR = process.env.BENCH_CPU_PROF || null;
const profileArgs = (who: string) => (PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, who)}`] : []);

/** Runs clean-ups in reverse order of registration; a failing one does not stop the rest. */
export class Cleanup {
  private readonly steps: { what: string; run: () => Promise<unknown> | unknown }[] = [];

  add(what: string, run: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, run });
  }

  async runAll(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (err) {
        process.stderr.write(`bench: clean-up "${step.what}" failed: ${(err as Error).message}\n`);
      }
    }
  }
}

export async function tempDir(cleanup: Cleanup, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `codeshare-bench-${prefix}-`));
  cleanup.add(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** SIGTERM, then waits for the exit (SIGKILL after SERVER_STOP_WAIT_MS); null if it had already exited. */
  stop(): Promise<ServerStop | null>;
}

export interface ServerStop {
  /** From SIGTERM until the process was gone (it flushes and compacts every loaded doc first). */
  ms: number;
  killed: boolean;
}

const SERVER_STOP_WAIT_MS = 180_000;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A `codeshare server` child process: embedded PGlite in `dataDir`, or the PostgreSQL database `databaseUrl` names. */
export function startServerProcess(cleanup: Cleanup, dataDir: string, databaseUrl?: string): Promise<ServerProcess> {
  const storage = databaseUrl ? ['--database-url', databaseUrl] : ['--data-dir', dataDir];
  const args = [CLI_ENTRY, 'server', '--host', '127.0.0.1', '--port', '0', ...storage, '--log-level', 'warn'];
  // BENCH_SERVER_NODE_OPTIONS: say, --heapsnapshot-signal=SIGUSR2 to look inside the server.
  const env = { HOME: dataDir, CODESHARE_HOME: dataDir, ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}) };
  return startListeningProcess(cleanup, 'server', args, env);
}

/**
 * A Node.js child process (`args` after node) that prints "listening on http://..." once it
 * serves: codeshare's server, or a peer server of bench/relay-peers.ts. Stopped by `cleanup`.
 */
export async function startListeningProcess(cleanup: Cleanup, what: string, args: string[], env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...profileArgs(what.replace(/[^\w.-]+/g, '_')), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', ...env } });
  let stopped: Promise<ServerStop | null> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return null;
      const started = performance.now();
      let killed = false;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        process.stderr.write(`bench: ${what} did not stop within ${SERVER_STOP_WAIT_MS / 1000} s of SIGTERM; killing it\n`);
        killed = true;
        child.kill('SIGKILL');
      }, SERVER_STOP_WAIT_MS);
      await exited(child);
      clearTimeout(timer);
      return { ms: performance.now() - started, killed };
    })();
    return stopped;
  };
  cleanup.add(`stop ${what}`, stop);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 60 s: ${stderr}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before listening: ${stderr}`));
    });
  });
  return { url, pid: child.pid!, stop };
}

/** One simulated user: a CODESHARE_HOME of their own, and so a daemon of their own. */
export class BenchUser {
  private constructor(
    readonly name: string,
    readonly home: string,
    private readonly extraEnv: Record<string, string>,
  ) {}

  /** Signs in (open mode) and registers `daemon stop` as a clean-up; `env` is added to the daemon's and the CLI's environment. */
  static async signIn(cleanup: Cleanup, name: string, serverUrl: string, env: Record<string, string> = {}): Promise<BenchUser> {
    const home = await tempDir(cleanup, `home-${name}`);
    const user = new BenchUser(name, home, env);
    cleanup.add(`stop ${name}'s daemon`, () => user.stopDaemon());
    await user.cli(['auth', 'login', '--server', serverUrl, '--name', name]);
    if (PROFILE_DIR) await user.startProfiledDaemon();
    return user;
  }

  private get env(): Record<string, string> {
    return { PATH: process.env.PATH ?? '', HOME: this.home, CODESHARE_HOME: this.home, ...this.extraEnv };
  }

  /** What `share`/`join` would start, started here first under `--cpu-prof`. */
  private async startProfiledDaemon(): Promise<void> {
    const child = spawn(process.execPath, [...profileArgs(this.name), '--expose-gc', CLI_ENTRY, 'daemon', 'run'], {
      detached: true,
      stdio: 'ignore',
      env: this.env,
    });
    child.unref();
    for (let i = 0; i < 300; i++) {
      const status = await this.cli<{ running: boolean }>(['daemon', 'status', '--json']);
      if (status.running) return;
      await sleep(50);
    }
    throw new Error(`${this.name}'s profiled daemon did not start`);
  }

  /** Runs the CLI; throws with stderr unless it exits 0. With --json, the parsed output. */
  async cli<T = unknown>(args: string[], timeoutMs = 300_000): Promise<T> {
    const json = args.includes('--json');
    const result = await execa(process.execPath, [CLI_ENTRY, ...args], {
      extendEnv: false,
      env: this.env,
      reject: false,
      timeout: timeoutMs,
      stdin: 'ignore',
    });
    if (result.exitCode !== 0) {
      throw new Error(`${this.name}: codeshare ${args.join(' ')} exited ${result.exitCode ?? result.signal}: ${result.stderr}`);
    }
    return (json ? JSON.parse(result.stdout) : result.stdout) as T;
  }

  /** The last line of this user's daemon log with this message (pino JSON), or null. */
  async daemonLogEntry(msg: string): Promise<Record<string, unknown> | null> {
    const text = await readFile(join(this.home, 'state', 'daemon.log'), 'utf8').catch(() => '');
    const lines = text.split('\n').filter((line) => line.includes(`"msg":${JSON.stringify(msg)}`));
    return lines.length > 0 ? (JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>) : null;
  }

  async daemonPid(): Promise<number> {
    const status = await this.cli<{ running: boolean; pid: number | null }>(['daemon', 'status', '--json']);
    if (!status.running || !status.pid) throw new Error(`${this.name}'s daemon is not running`);
    return status.pid;
  }

  /** The last stop's outcome: how long until the process was gone, and whether it had to be killed. */
  lastStop: DaemonStop | null = null;

  /**
   * `codeshare daemon stop`, then waits until the process is really gone: the command returns
   * once the socket is gone or after its own few seconds, which is not the same thing. A daemon
   * still there after STOP_WAIT_MS is killed (and that is reported), so a benchmark never
   * leaves one behind or deletes a home under a live daemon.
   */
  async stopDaemon(): Promise<DaemonStop | null> {
    const status = await this.cli<{ running: boolean; pid: number | null }>(['daemon', 'status', '--json']).catch(() => null);
    const pid = status?.running ? status.pid : null;
    if (!pid) return null;
    const started = performance.now();
    await this.cli(['daemon', 'stop', '--json'], 60_000).catch((err: unknown) => process.stderr.write(`bench: ${(err as Error).message}\n`));
    while (isAlive(pid) && performance.now() - started < STOP_WAIT_MS) await sleep(50);
    let killed = false;
    if (isAlive(pid)) {
      process.stderr.write(`bench: ${this.name}'s daemon (pid ${pid}) was still running ${STOP_WAIT_MS / 1000} s after \`daemon stop\`; killing it\n`);
      process.kill(pid, 'SIGKILL');
      killed = true;
      while (isAlive(pid)) await sleep(50);
    }
    this.lastStop = { ms: performance.now() - started, killed };
    return this.lastStop;
  }
}

export interface DaemonStop {
  /** From `daemon stop` until the process was gone. */
  ms: number;
  /** It did not exit within STOP_WAIT_MS and was killed. */
  killed: boolean;
}

const STOP_WAIT_MS = 120_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export async function memoryOf(pid: number): Promise<{ rssMiB: number; peakMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

let clockTicks: number | null = null;
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing paren are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond();
}

/** The process and its descendants, for figures of a server with processes of its own. */
async function processTree(pid: number): Promise<number[]> {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const task of await readdir(`/proc/${tree[i]}/task`).catch(() => [] as string[])) {
      const children = await readFile(`/proc/${tree[i]}/task/${task}/children`, 'utf8').catch(() => '');
      tree.push(...children.split(' ').filter(Boolean).map(Number));
    }
  }
  return tree;
}

/** CPU seconds of the process and its descendants (threads are in a process's own figure). */
export async function treeCpuSecondsOf(pid: number): Promise<number> {
  const seconds = await Promise.all((await processTree(pid)).map((p) => cpuSecondsOf(p).catch(() => 0)));
  return seconds.reduce((a, b) => a + b, 0);
}

/** VmRSS of the process and its descendants, in MiB. */
export async function treeRssMiBOf(pid: number): Promise<number> {
  const rss = await Promise.all((await processTree(pid)).map((p) => memoryOf(p).then((m) => m.rssMiB, () => 0)));
  return rss.reduce((a, b) => a + b, 0);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export const median = (values: readonly number[]) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`);
export const seconds = (valueMs: number) => `${(valueMs / 1000).toFixed(2)} s`;

/** A markdown table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Deterministic pseudo-random numbers (mulberry32): every run builds the same data, and a failing test seed replays (the tests use it too). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Wall time of an async step, in milliseconds. */
export async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await run();
  return { ms: performance.now() - started, result };
}

/** A token for `username` from the server's open sign-in (the server runs with open auth). */
export async function openSignIn(serverUrl: string, username: string): Promise<string> {
  const response = await fetch(`${serverUrl}/api/auth/open`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  if (!response.ok) throw new Error(`open sign-in of ${username} failed: ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}

/** The PostgreSQL server the benchmarks' PostgreSQL runs create their databases on. */
export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** A new empty database on that server, dropped by the clean-up; null when none answers. */
export async function freshPostgresDatabase(cleanup: Cleanup): Promise<string | null> {
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const name = `codeshare_bench_${randomBytes(4).toString('hex')}`;
  try {
    await admin(`create database ${name}`);
  } catch {
    return null;
  }
  cleanup.add(`drop ${name}`, () => admin(`drop database if exists ${name} with (force)`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The next IPC message of a forked process (bench/peers/relay-clients.ts); rejects if it exits first. */
export function childMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (value) => resolve(value as T));
    child.once('exit', (code) => reject(new Error(`a client process exited (${code})`)));
  });
}
