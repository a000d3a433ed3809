// A big first sync: a generated tree of 5,000 files / ~50 MB (seeded, so every run is the same
// tree) is shared by alice and joined by bob, each through the real CLI and a real daemon,
// against `codeshare server` on a temp embedded database. The baselines are the same tree
// copied with `cp -r` and cloned with git. Then, with the tree synced, the daemons' memory
// (VmRSS) and their CPU while nobody edits.
//
// Each round uses fresh homes (so fresh daemons), a fresh project and fresh folders on the
// same server; every figure is the median over the rounds.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  BenchUser,
  Cleanup,
  cpuSecondsOf,
  median,
  memoryOf,
  seconds,
  seededRandom,
  sleep,
  startServerProcess,
  table,
  tempDir,
  timed,
  freshPostgresDatabase,
  POSTGRES_ADMIN_URL,
} from './lib.js';

const run = promisify(execFile);

const ROUNDS = Number(process.env.BENCH_SHARE_ROUNDS) || 3;
const BASELINE_ROUNDS = Number(process.env.BENCH_SHARE_BASELINES) || 5;
const IDLE_WINDOW_MS = 10_000;
/** BENCH_SHARE_EXTRA=0 skips the round on PostgreSQL with chokidar (see postgresChokidarRound). */
const EXTRA_ROUND = process.env.BENCH_SHARE_EXTRA !== '0';

/** What a generated tree holds. */
export interface TreeShape {
  files: number;
  /** Folders drawn (some are skipped for depth). */
  folders: number;
  largeTextShare: number;
  binaryShare: number;
  /** Sizes of the small text files, in bytes. */
  smallText: [number, number];
  /** How long after join the daemons' memory is read. */
  settleMs: number;
}

/** The 5,000-file / ~50 MB tree this bench has always used. */
export const MIXED_5K: TreeShape = { files: 5000, folders: 400, largeTextShare: 0.008, binaryShare: 0.05, smallText: [200, 6 * 1024], settleMs: 2000 };
/** Long enough to include the daemon's periodic rescan (every 30 s). */
const LONG_IDLE_WINDOW_MS = 65_000;

interface TreeStats {
  files: number;
  bytes: number;
  text: number;
  largeText: number;
  binary: number;
  folders: number;
}

const WORDS = ['import', 'export', 'const', 'function', 'return', 'await', 'async', 'value', 'result', 'items', 'config', 'server', 'client', 'project', 'folder', 'render', 'state', 'props', 'error', 'module'];

export function textOf(random: () => number, bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const words = 2 + Math.floor(random() * 10);
    let line = '  '.repeat(Math.floor(random() * 4));
    for (let i = 0; i < words; i++) line += (i ? ' ' : '') + WORDS[Math.floor(random() * WORDS.length)]!;
    line += random() < 0.3 ? ` // ${Math.floor(random() * 1e9).toString(36)}` : ';';
    parts.push(line);
    size += line.length + 1;
  }
  return `${parts.join('\n')}\n`;
}

function binaryOf(random: () => number, bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes);
  for (let i = 0; i + 4 <= bytes; i += 4) buffer.writeUInt32LE(Math.floor(random() * 4294967296), i);
  buffer[0] = 0; // a NUL early: binary by any rule
  return buffer;
}

/** The tree: nested folders, many small text files, a few 100 KB-1 MB ones, ~5% binaries. */
export async function generateTree(root: string, shape: TreeShape = MIXED_5K): Promise<TreeStats> {
  const random = seededRandom(0xc0de5a7e);
  const stats: TreeStats = { files: 0, bytes: 0, text: 0, largeText: 0, binary: 0, folders: 0 };
  const folders: string[] = [''];
  for (let i = 0; i < shape.folders; i++) {
    const parent = folders[Math.floor(random() * folders.length)]!;
    if (parent.split('/').length > 5) continue;
    folders.push(`${parent ? `${parent}/` : ''}${WORDS[Math.floor(random() * WORDS.length)]}${i}`);
  }
  stats.folders = folders.length - 1;
  for (const folder of folders) await mkdir(join(root, folder), { recursive: true });
  for (let i = 0; i < shape.files; i++) {
    const folder = folders[Math.floor(random() * folders.length)]!;
    const roll = random();
    let name: string;
    let content: string | Buffer;
    if (roll < shape.binaryShare) {
      name = `asset${i}.${['png', 'woff2', 'bin', 'jpg'][i % 4]}`;
      content = binaryOf(random, 1024 + Math.floor(random() * 120 * 1024));
      stats.binary++;
    } else if (roll < shape.binaryShare + shape.largeTextShare) {
      name = `bundle${i}.js`;
      content = textOf(random, 100 * 1024 + Math.floor(random() * 900 * 1024));
      stats.largeText++;
    } else {
      name = `file${i}.${['ts', 'js', 'md', 'json', 'css'][i % 5]}`;
      content = textOf(random, shape.smallText[0] + Math.floor(random() * (shape.smallText[1] - shape.smallText[0])));
      stats.text++;
    }
    const path = join(root, folder, name);
    await writeFile(path, content);
    stats.files++;
    stats.bytes += typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
  }
  return stats;
}

/** Relative path -> sha256 of every file under root, skipping .git. */
export async function hashTree(root: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name === '.git') continue;
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(dir, entry.name), rel);
      else if (entry.isFile()) hashes.set(rel, createHash('sha256').update(await readFile(join(dir, entry.name))).digest('hex'));
      else hashes.set(rel, `(${entry.isSymbolicLink() ? 'symlink' : 'special'})`);
    }
  };
  await walk(root, '');
  return hashes;
}

export function compareTrees(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [path, hash] of expected) {
    const got = actual.get(path);
    if (got === undefined) problems.push(`missing ${path}`);
    else if (got !== hash) problems.push(`differs ${path}`);
  }
  for (const path of actual.keys()) if (!expected.has(path)) problems.push(`extra ${path}`);
  return problems;
}

/** CPU % of one core used by each pid over the window, and the busiest second. */
async function idleCpu(pids: number[], windowMs: number): Promise<{ percent: number[]; busiestSecond: number[] }> {
  const start = await Promise.all(pids.map(cpuSecondsOf));
  const busiest = pids.map(() => 0);
  let previous = start;
  const began = performance.now();
  while (performance.now() - began < windowMs) {
    await sleep(1000);
    const now = await Promise.all(pids.map(cpuSecondsOf));
    now.forEach((value, i) => (busiest[i] = Math.max(busiest[i]!, (value - previous[i]!) * 100)));
    previous = now;
  }
  const elapsed = (performance.now() - began) / 1000;
  return { percent: previous.map((value, i) => ((value - start[i]!) / elapsed) * 100), busiestSecond: busiest };
}

interface Round {
  daemonStartMs: number;
  shareMs: number;
  joinMs: number;
  verified: string[];
  rss: { alice: number; bob: number };
  /** The server's VmRSS with the round's project synced and idle, and before the round. */
  server: { before: number; after: number };
  peak: { alice: number; bob: number };
  idle: { alice: number; bob: number };
  /** From `codeshare daemon stop` until the process was gone; killed when it took over 2 minutes. */
  stop: { alice: number; bob: number; killed: boolean };
  /** Where share and join spent their time: the daemon's phases (ms since the command reached it). */
  phases: { share: Record<string, number>; join: Record<string, number> };
  /** The last round only: a quiet window that includes a periodic rescan. */
  long?: { percent: number[]; busiestSecond: number[]; after: { alice: number; bob: number } };
  joinDir: string;
  /** The chokidar round: a process with nothing but chokidar watching the joined folder. */
  chokidarAlone?: number;
}

/** The `ms` phases of a daemon's `shared` or `joined` log line (see phaseClock in folder-mirror.ts). */
function phasesOf(entry: Record<string, unknown> | null): Record<string, number> {
  const ms = entry?.ms;
  return ms && typeof ms === 'object' ? (ms as Record<string, number>) : {};
}

/** One table row per phase: the median time from the command's start to the phase's end. */
function phaseRows(rounds: Round[], side: 'share' | 'join'): string[][] {
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r.phases[side])))];
  return names.map((name) => {
    const values = rounds.map((r) => r.phases[side][name]).filter((v): v is number => typeof v === 'number');
    return [`${side}: ${name}`, seconds(median(values)), values.map(seconds).join(', ')];
  });
}

interface RoundContext {
  work: string;
  source: string;
  expected: Map<string, string>;
  serverUrl: string;
  serverPid: number;
}

/** One share and join with fresh users, daemons, project and folders; `env` goes to both daemons. */
async function shareJoinRound(ctx: RoundContext, tag: string, shape: TreeShape, longIdle: boolean, env: Record<string, string> = {}): Promise<Round> {
  const { work, source, expected } = ctx;
  const roundCleanup = new Cleanup();
  try {
    const alice = await BenchUser.signIn(roundCleanup, `alice${tag}`, ctx.serverUrl, env);
    const bob = await BenchUser.signIn(roundCleanup, `bob${tag}`, ctx.serverUrl, env);
    const serverBefore = (await memoryOf(ctx.serverPid)).rssMiB;
    const shareDir = join(work, `share-${tag}`);
    const joinDir = join(work, `join-${tag}`);
    roundCleanup.add('remove the round folders', () => Promise.all([rm(shareDir, { recursive: true, force: true }), rm(joinDir, { recursive: true, force: true })]));
    await run('cp', ['-r', source, shareDir]);
    // The daemons start first (share/join would start them): their start is timed apart.
    const daemonStart = await timed(() => alice.cli(['daemon', 'start', '--json']));
    await bob.cli(['daemon', 'start', '--json']);
    const share = await timed(() => alice.cli<{ project: string; files: number }>(['share', shareDir, '--name', `tree${tag}`, '--json'], 600_000));
    await alice.cli(['members', share.result.project, 'add', bob.name, '--role', 'editor', '--json']);
    const joined = await timed(() => bob.cli(['join', share.result.project, joinDir, '--json'], 600_000));
    const verified = compareTrees(expected, await hashTree(joinDir));
    const phases = { share: phasesOf(await alice.daemonLogEntry('shared')), join: phasesOf(await bob.daemonLogEntry('joined')) };
    const pids = { alice: await alice.daemonPid(), bob: await bob.daemonPid() };
    // Let start-up work (the first reconcile, acks, the collection of the burst's garbage)
    // settle before measuring memory and idleness.
    await sleep(shape.settleMs);
    const memory = { alice: await memoryOf(pids.alice), bob: await memoryOf(pids.bob) };
    const serverAfter = (await memoryOf(ctx.serverPid)).rssMiB;
    const idle = await idleCpu([pids.alice, pids.bob], IDLE_WINDOW_MS);
    const round: Round = {
      daemonStartMs: daemonStart.ms,
      shareMs: share.ms,
      joinMs: joined.ms,
      verified,
      rss: { alice: memory.alice.rssMiB, bob: memory.bob.rssMiB },
      server: { before: serverBefore, after: serverAfter },
      peak: { alice: memory.alice.peakMiB, bob: memory.bob.peakMiB },
      idle: { alice: idle.percent[0]!, bob: idle.percent[1]! },
      stop: { alice: NaN, bob: NaN, killed: false },
      phases,
      joinDir,
    };
    if (longIdle) {
      // Once, a window long enough to include the daemons' periodic rescan.
      const long = await idleCpu([pids.alice, pids.bob], LONG_IDLE_WINDOW_MS);
      round.long = { ...long, after: { alice: (await memoryOf(pids.alice)).rssMiB, bob: (await memoryOf(pids.bob)).rssMiB } };
    }
    if (env.CODESHARE_WATCHER === 'chokidar') round.chokidarAlone = await chokidarAloneRss(joinDir, shape.settleMs);
    const [aliceStop, bobStop] = await Promise.all([alice.stopDaemon(), bob.stopDaemon()]);
    round.stop = { alice: aliceStop?.ms ?? NaN, bob: bobStop?.ms ?? NaN, killed: !!(aliceStop?.killed || bobStop?.killed) };
    return round;
  } finally {
    await roundCleanup.runAll();
  }
}

/** VmRSS of a process that only has chokidar watch `root` as the daemon's chokidar backend does, `settleMs` after it is ready. */
async function chokidarAloneRss(root: string, settleMs: number): Promise<number> {
  const chokidar = createRequire(import.meta.url).resolve('chokidar');
  const script = `import(${JSON.stringify(pathToFileURL(chokidar).href)}).then(async ({ default: chokidar }) => {
  const watcher = chokidar.watch(process.argv[1], { ignored: (p) => p.includes('/.git/') || p.includes('/.codeshare/'), ignoreInitial: true, followSymlinks: false, atomic: false });
  await new Promise((resolve) => watcher.once('ready', resolve));
  await new Promise((resolve) => setTimeout(resolve, Number(process.argv[2])));
  globalThis.gc?.();
  const status = require('node:fs').readFileSync('/proc/self/status', 'utf8');
  process.stdout.write(String(Number(/VmRSS:\\s+(\\d+)/.exec(status)[1]) / 1024));
  await watcher.close();
});`;
  const { stdout } = await run(process.execPath, ['--expose-gc', '-e', script, root, String(settleMs)], { maxBuffer: 1024 * 1024 });
  return Number(stdout);
}

/**
 * One more round, apart from the medians: the server on this machine's PostgreSQL (a database
 * of its own), so its memory is the server's alone, and both daemons watching with chokidar,
 * against a process that has only chokidar watch the same folder.
 */
async function postgresChokidarRound(cleanup: Cleanup, ctx: Omit<RoundContext, 'serverUrl' | 'serverPid'>, shape: TreeShape): Promise<Round | null> {
  const url = await freshPostgresDatabase(cleanup);
  if (!url) return null;
  const server = await startServerProcess(cleanup, join(ctx.work, 'server-pg'), url);
  try {
    const round = await shareJoinRound({ ...ctx, serverUrl: server.url, serverPid: server.pid }, 'pg', shape, false, { CODESHARE_WATCHER: 'chokidar' });
    process.stderr.write(`bench share-join PostgreSQL + chokidar round: share ${seconds(round.shareMs)}, join ${seconds(round.joinMs)}, ${round.verified.length} differences\n`);
    return round;
  } finally {
    await server.stop();
  }
}

function extraRoundLine(round: Round, shape: TreeShape): string {
  const mib = (value: number) => `${value.toFixed(0)} MiB`;
  const aim = (ok: boolean) => (ok ? 'met' : '**missed**');
  const growth = round.server.after - round.server.before;
  const overChokidar = round.rss.bob - (round.chokidarAlone ?? NaN);
  return [
    `One more round, not in the medians: the server on this machine's PostgreSQL (a database of its own) and both daemons watching with chokidar (CODESHARE_WATCHER=chokidar).`,
    `share ${seconds(round.shareMs)}, join ${seconds(round.joinMs)}; joined folder identical: ${round.verified.length === 0 ? 'yes' : `**no** (${round.verified.slice(0, 3).join('; ')})`}.`,
    `Server VmRSS ${mib(round.server.before)} -> ${mib(round.server.after)} with the project synced and both daemons connected and idle: **${mib(growth)}** for the connected idle project (aim: under 20 MiB: ${aim(growth < 20)}).`,
    `Daemon VmRSS ${shape.settleMs / 1000} s after join: alice ${mib(round.rss.alice)}, bob ${mib(round.rss.bob)}; a process with only chokidar watching bob's folder: ${mib(round.chokidarAlone ?? NaN)}, so bob's daemon is **${mib(overChokidar)}** over chokidar alone (aim: within 100 MiB: ${aim(overChokidar <= 100)}).`,
  ].join(' ');
}

export async function runShareJoin(shape: TreeShape = MIXED_5K): Promise<string> {
  const cleanup = new Cleanup();
  const loadBefore = loadavg()[0]!;
  try {
    const work = await tempDir(cleanup, 'share-join');
    const source = join(work, 'tree');
    const tree = await generateTree(source, shape);
    const expected = await hashTree(source);

    // Baselines: cp -r, and git clone of a repository holding the same tree.
    const cpTimes: number[] = [];
    for (let i = 0; i < BASELINE_ROUNDS; i++) {
      const target = join(work, `cp-${i}`);
      cpTimes.push((await timed(() => run('cp', ['-r', source, target]))).ms);
      await rm(target, { recursive: true, force: true });
    }
    const repo = join(work, 'repo');
    await run('cp', ['-r', source, repo]);
    const git = (args: string[], cwd: string) =>
      run('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'init.defaultBranch=main', ...args], {
        cwd,
        maxBuffer: 64 * 1024 * 1024,
      });
    await git(['init', '-q'], repo);
    await git(['add', '-A'], repo);
    await git(['commit', '-q', '-m', 'tree'], repo);
    const cloneTransport: number[] = [];
    const cloneLocal: number[] = [];
    for (let i = 0; i < BASELINE_ROUNDS; i++) {
      const a = join(work, `clone-file-${i}`);
      cloneTransport.push((await timed(() => git(['clone', '-q', '--no-local', repo, a], work))).ms);
      await rm(a, { recursive: true, force: true });
      const b = join(work, `clone-local-${i}`);
      cloneLocal.push((await timed(() => git(['clone', '-q', '--no-hardlinks', repo, b], work))).ms);
      if (i === 0 && compareTrees(expected, await hashTree(b)).length > 0) throw new Error('the git clone differs from the tree');
      await rm(b, { recursive: true, force: true });
    }
    await rm(repo, { recursive: true, force: true });

    const server = await startServerProcess(cleanup, join(work, 'server-data'));
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      rounds.push(await shareJoinRound({ work, source, expected, serverUrl: server.url, serverPid: server.pid }, `${r}`, shape, r === ROUNDS - 1));
      const last = rounds.at(-1)!;
      process.stderr.write(`bench share-join round ${r + 1}/${ROUNDS}: share ${seconds(last.shareMs)}, join ${seconds(last.joinMs)}, ${last.verified.length} differences\n`);
    }
    const serverStop = await server.stop();
    const extra = EXTRA_ROUND ? await postgresChokidarRound(cleanup, { work, source, expected }, shape) : null;
    const loadAfter = loadavg()[0]!;

    const med = (pick: (round: Round) => number) => median(rounds.map(pick));
    const shareJoin = med((r) => r.shareMs + r.joinMs);
    const gitClone = median(cloneTransport);
    const ratio = shareJoin / gitClone;
    const failures = rounds.flatMap((r, i) => r.verified.slice(0, 5).map((p) => `round ${i + 1}: ${p}`));
    const last = rounds.at(-1)!;
    const mib = (value: number) => `${value.toFixed(0)} MiB`;
    const pct = (value: number) => `${value.toFixed(2)} %`;
    const aim = (ok: boolean) => (ok ? 'met' : '**missed**');

    return [
      `A generated tree (seeded): ${tree.files} files, ${(tree.bytes / 1e6).toFixed(1)} MB, in ${tree.folders} nested folders: ${tree.text} small text files (0.2-6 KB), ${tree.largeText} text files of 100 KB-1 MB, ${tree.binary} binaries (1-120 KB). Baselines over ${BASELINE_ROUNDS} runs, codeshare over ${ROUNDS} rounds (fresh homes, daemons, project and folders each round; one \`codeshare server\` child process on embedded PGlite); medians. 1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after.`,
      '',
      table(
        ['step', 'median', 'all runs'],
        [
          ['`cp -r` of the tree', seconds(median(cpTimes)), cpTimes.map(seconds).join(', ')],
          ['`git clone --no-local` (pack transport, as from a server)', seconds(gitClone), cloneTransport.map(seconds).join(', ')],
          ['`git clone --no-hardlinks <path>` (local object copy)', seconds(median(cloneLocal)), cloneLocal.map(seconds).join(', ')],
          ['`codeshare daemon start` (not part of share)', seconds(med((r) => r.daemonStartMs)), rounds.map((r) => seconds(r.daemonStartMs)).join(', ')],
          ['`codeshare share` (returns when the server stored everything)', seconds(med((r) => r.shareMs)), rounds.map((r) => seconds(r.shareMs)).join(', ')],
          ['`codeshare join` into an empty folder', seconds(med((r) => r.joinMs)), rounds.map((r) => seconds(r.joinMs)).join(', ')],
          ['share + join', seconds(shareJoin), rounds.map((r) => seconds(r.shareMs + r.joinMs)).join(', ')],
        ],
      ),
      '',
      `share + join = **${ratio.toFixed(1)}x** \`git clone --no-local\` (aim: within 2x: ${aim(ratio <= 2)}); ${seconds(shareJoin)} in total. Joined folder byte-identical to the tree (sha256 of every file, no missing or extra files): ${failures.length === 0 ? `yes, in all ${ROUNDS} rounds` : `**no**: ${failures.join('; ')}`}.`,
      '',
      'Where the time goes, by the daemons\' own clocks (each phase ends that many seconds after the command reached the daemon):',
      '',
      table(['phase', 'median', 'all rounds'], [...phaseRows(rounds, 'share'), ...phaseRows(rounds, 'join')]),
      '',
      `Daemons with the tree synced (VmRSS ${shape.settleMs / 1000} s after join; peak is VmHWM; idle CPU over 10 s with no edits, starting then, as % of one core):`,
      '',
      table(
        ['daemon', 'RSS (median)', 'peak RSS (median)', 'idle CPU, 10 s (median)', 'all rounds: RSS / idle CPU'],
        (['alice', 'bob'] as const).map((who) => [
          who === 'alice' ? 'alice (shared)' : 'bob (joined)',
          `${mib(med((r) => r.rss[who]))} (aim < 150 MiB: ${aim(med((r) => r.rss[who]) < 150)})`,
          mib(med((r) => r.peak[who])),
          pct(med((r) => r.idle[who])),
          rounds.map((r) => `${mib(r.rss[who])} / ${pct(r.idle[who])}`).join(', '),
        ]),
      ),
      '',
      `The server (PGlite, one process): VmRSS ${rounds.map((r) => `${mib(r.server.before)} -> ${mib(r.server.after)}`).join(', ')} (before each round -> with its project synced and idle), so **${mib(med((r) => r.server.after - r.server.before))}** more per connected idle project (median).`,
      '',
      extra ? extraRoundLine(extra, shape) : EXTRA_ROUND ? `The round on PostgreSQL was not run: no PostgreSQL answered at ${POSTGRES_ADMIN_URL} (BENCH_POSTGRES_URL).` : '',
      '',
      last.long
        ? `Over a longer quiet window (${LONG_IDLE_WINDOW_MS / 1000} s, which includes the daemons' 30 s rescan), last round: alice ${pct(last.long.percent[0]!)} on average (busiest second ${pct(last.long.busiestSecond[0]!)}), bob ${pct(last.long.percent[1]!)} (busiest second ${pct(last.long.busiestSecond[1]!)}); RSS afterwards alice ${mib(last.long.after.alice)}, bob ${mib(last.long.after.bob)}.`
        : '',
      '',
      `\`codeshare daemon stop\` until the process was gone: alice ${rounds.map((r) => seconds(r.stop.alice)).join(', ')}; bob ${rounds.map((r) => seconds(r.stop.bob)).join(', ')}${rounds.some((r) => r.stop.killed) ? ' (**a daemon was still running 2 minutes after `daemon stop` and was killed**)' : ''}. The server (${ROUNDS} such projects loaded) took ${serverStop ? seconds(serverStop.ms) : 'n/a'} from SIGTERM to exit${serverStop?.killed ? ' (**killed after 3 minutes**)' : ''}.`,
    ].join('\n');
  } finally {
    await cleanup.runAll();
  }
}

export default { name: 'Share and join a 5,000-file tree', run: () => runShareJoin(MIXED_5K) };
