// A burst of new files in a folder that is already live, against the bulk path for the same
// files. The issue: "Bursts go through the bulk path. A burst of N files, from the first write on
// one side to identical folders, must not take more than 1.5x a share plus join of the same N
// files."
//
// The tree: ~9,000 small source-like files in a few hundred nested folders (seeded, so every run
// is the same tree), packed once with `tar -cf`. Each round, on one `codeshare server` child
// process (embedded PGlite), fresh users and daemons through the real CLI:
//
//   burst: alice shares a folder holding only a README, bob joins it, both report synced. Then
//          `tar -xf tree.tar -C <alice's folder>`, timed from the start of tar until bob's
//          folder is identical to alice's (polled: the paths first, then sha256 of every file,
//          as share-join.ts compares); also until bob has every path, and until alice's daemon
//          reports the folder synced with every file in its index (`codeshare status --json`).
//   bulk:  carol shares a folder already holding the README and the tree (until `share`
//          returns: the server stored everything), dave joins it into an empty folder (until
//          `join` returns, then until his folder is identical). The burst's daemons are stopped
//          first, so the two do not share the machine.
//
// BENCH_BURST_FILES (default 9000) and BENCH_BURST_RUNS (default 3) set the size and the
// rounds; every figure is the median over the rounds. Any other file count is a check run
// (BENCH_BURST_FILES=300 BENCH_BURST_RUNS=1: a minute): printed, not written to RESULTS.md.
// BENCH_BURST_TIMEOUT_S (default 0.1 s a file, at least 120 s: 15 minutes for 9,000) bounds
// each wait; past it the benchmark fails saying what was still missing.
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BenchUser, Cleanup, median, seconds, seededRandom, sleep, startServerProcess, table, tempDir, timed } from './lib.js';
import { compareTrees, hashTree, textOf } from './share-join.js';

const run = promisify(execFile);

const DEFAULT_FILES = 9000;
const FILES = Number(process.env.BENCH_BURST_FILES) || DEFAULT_FILES;
const ROUNDS = Number(process.env.BENCH_BURST_RUNS) || 3;
const TIMEOUT_MS = (Number(process.env.BENCH_BURST_TIMEOUT_S) || Math.max(120, FILES * 0.1)) * 1000;
/** Waits for the small project before the burst (a README): generous, but not the burst's. */
const SETTLE_TIMEOUT_MS = 120_000;
/** Pause between two checks of bob's folder (each check walks it; see FolderPoller). */
const FOLDER_POLL_MS = 250;
/** Pause between two `codeshare status --json` (a CLI process each: ~0.1 s of a core). */
const STATUS_POLL_MS = 1000;
const PROGRESS_EVERY_MS = 30_000;
const AIM = 1.5;

const README = '# burst\n\nA project that starts small; a burst of files lands in it.\n';
const NAMES = ['api', 'core', 'util', 'model', 'view', 'store', 'hooks', 'lib', 'routes', 'schema', 'service', 'test'];
const EXTENSIONS = ['ts', 'ts', 'ts', 'tsx', 'js', 'json', 'md', 'css'];

interface TreeStats {
  files: number;
  bytes: number;
  folders: number;
  maxDepth: number;
}

/** FILES small source-like files (0.2-4 KB of code-like text) in FILES/30 nested folders (at least 10). */
async function generateTree(root: string): Promise<TreeStats> {
  const random = seededRandom(0xb0a57);
  const folders: string[] = [''];
  const wanted = Math.max(10, Math.round(FILES / 30));
  for (let i = 0; folders.length - 1 < wanted; i++) {
    const parent = folders[Math.floor(random() * folders.length)]!;
    if (parent.split('/').length >= 6) continue;
    folders.push(`${parent ? `${parent}/` : ''}${NAMES[Math.floor(random() * NAMES.length)]}${i}`);
  }
  for (const folder of folders) await mkdir(join(root, folder), { recursive: true });
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    // The root keeps only the README, so the burst's files are all new paths.
    const folder = folders[1 + Math.floor(random() * (folders.length - 1))]!;
    const text = textOf(random, 200 + Math.floor(random() * 3800));
    await writeFile(join(root, folder, `${NAMES[i % NAMES.length]}${i}.${EXTENSIONS[i % EXTENSIONS.length]}`), text);
    bytes += Buffer.byteLength(text);
  }
  return { files: FILES, bytes, folders: folders.length - 1, maxDepth: Math.max(...folders.map((f) => f.split('/').length)) };
}

/** Every path under root, skipping .git as hashTree does: the cheap first half of a check. */
async function listTree(root: string): Promise<Set<string>> {
  const paths = new Set<string>();
  const walk = async (dir: string, prefix: string) => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(dir, entry.name), rel);
      else paths.add(rel);
    }
  };
  await walk(root, '');
  return paths;
}

interface FolderCheck {
  /** Expected paths not there yet, paths there that should not be. */
  missing: number;
  extra: number;
  /** From compareTrees, when the paths matched; null when the contents were not compared. */
  problems: string[] | null;
  /** How long this check took: the figures' resolution. */
  ms: number;
}

/**
 * Checks a folder against the expected tree: the paths (a readdir walk), and only once they
 * match, sha256 of every file (hashTree + compareTrees). Reading 9,000 files on every poll would
 * take a good part of a core from the daemons being measured; the walk alone does not.
 */
async function checkFolder(root: string, expected: Map<string, string>): Promise<FolderCheck> {
  const started = performance.now();
  const paths = await listTree(root);
  let missing = 0;
  for (const path of expected.keys()) if (!paths.has(path)) missing++;
  const extra = [...paths].filter((p) => !expected.has(p)).length;
  const problems = missing === 0 && extra === 0 ? compareTrees(expected, await hashTree(root)) : null;
  return { missing, extra, problems, ms: performance.now() - started };
}

const describeCheck = (check: FolderCheck | null, total: number) =>
  !check
    ? 'not checked yet'
    : check.problems === null
      ? `${total - check.missing} of ${total} paths there, ${check.extra} extra`
      : check.problems.length === 0
        ? 'identical'
        : `every path there, ${check.problems.length} differing (${check.problems.slice(0, 3).join(', ')})`;

interface FolderState {
  projectId: string;
  state: string;
  files: number;
  unsaved: number;
}

async function folderState(user: BenchUser, projectId: string): Promise<FolderState | null> {
  const status = await user.cli<{ folders: FolderState[] }>(['status', '--json']);
  return status.folders.find((f) => f.projectId === projectId) ?? null;
}

const describeState = (state: FolderState | null) => (state ? `${state.state}, ${state.files} files in its index, ${state.unsaved} unsaved` : 'the folder is not in `codeshare status`');

/** Polls until `done()` holds; past the deadline, fails with what `describe()` says is missing. */
async function waitFor(what: string, timeoutMs: number, pauseMs: number, done: () => Promise<boolean>, describe: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`${what} did not happen within ${seconds(timeoutMs)}: ${describe()}`);
    await sleep(pauseMs);
  }
}

interface Round {
  /** `tar -xf` into an empty folder nobody syncs: the floor. */
  tarAloneMs: number;
  burst: {
    /** `tar -xf` into alice's live folder, from its start to its exit. */
    tarMs: number;
    /** From tar's start: bob has every path (contents not compared). */
    allPathsMs: number;
    /** From tar's start: bob's folder identical to alice's (the figure). */
    identicalMs: number;
    /** From tar's start: alice's daemon reports the folder synced with every file in its index. */
    aliceSyncedMs: number;
    /** How long the check that found bob's folder identical took (the figure's resolution). */
    lastCheckMs: number;
  };
  bulk: {
    shareMs: number;
    /** Until `join` returns. */
    joinMs: number;
    /** From join's start until the joined folder is identical (the figure). */
    joinIdenticalMs: number;
  };
  /** alice's folder identical to the expected tree after the burst (no daemon touched it). */
  aliceIntact: boolean;
}

/** The burst: alice's live folder receives the tree while bob's daemon mirrors it. */
async function burstRound(r: number, serverUrl: string, work: string, tarPath: string, expected: Map<string, string>): Promise<Round['burst'] & { aliceIntact: boolean }> {
  const cleanup = new Cleanup();
  try {
    const aliceDir = join(work, `burst-alice-${r}`);
    const bobDir = join(work, `burst-bob-${r}`);
    // Registered first, so it runs last: after the daemons stopped, not under them.
    cleanup.add('remove the burst folders', () => Promise.all([rm(aliceDir, { recursive: true, force: true }), rm(bobDir, { recursive: true, force: true })]));
    const alice = await BenchUser.signIn(cleanup, `alice${r}`, serverUrl);
    const bob = await BenchUser.signIn(cleanup, `bob${r}`, serverUrl);
    await mkdir(aliceDir);
    await writeFile(join(aliceDir, 'README.md'), README);
    const shared = await alice.cli<{ project: string; projectId: string }>(['share', aliceDir, '--name', `burst${r}`, '--json'], SETTLE_TIMEOUT_MS);
    await alice.cli(['members', shared.project, 'add', bob.name, '--role', 'editor', '--json']);
    await bob.cli(['join', shared.project, bobDir, '--json'], SETTLE_TIMEOUT_MS);
    const small = new Map([['README.md', expected.get('README.md')!]]);
    let aliceState: FolderState | null = null;
    let bobState: FolderState | null = null;
    let bobCheck: FolderCheck | null = null;
    await waitFor(
      'the small project settling before the burst',
      SETTLE_TIMEOUT_MS,
      500,
      async () => {
        [aliceState, bobState, bobCheck] = await Promise.all([folderState(alice, shared.projectId), folderState(bob, shared.projectId), checkFolder(bobDir, small)]);
        return aliceState?.state === 'synced' && aliceState.files === 1 && bobState?.state === 'synced' && bobState.files === 1 && bobCheck.problems?.length === 0;
      },
      () => `alice: ${describeState(aliceState)}; bob: ${describeState(bobState)}; bob's folder: ${describeCheck(bobCheck, 1)}`,
    );

    // The burst. Both polls start with tar; each stops at its own condition or the deadline.
    const started = performance.now();
    const deadline = started + TIMEOUT_MS;
    /** performance.now() of each moment, once seen; the last observations, for a failure's message. */
    const seen: { tarDone: number | null; allPaths: number | null; identical: number | null; aliceSynced: number | null; check: FolderCheck | null; alice: FolderState | null } = {
      tarDone: null,
      allPaths: null,
      identical: null,
      aliceSynced: null,
      check: null,
      alice: null,
    };
    const tar = run('tar', ['-xf', tarPath, '-C', aliceDir]).then(() => {
      seen.tarDone = performance.now();
    });
    const folderPoll = (async () => {
      let nextProgress = started + PROGRESS_EVERY_MS;
      while (seen.identical === null && performance.now() < deadline) {
        const check = await checkFolder(bobDir, expected);
        const at = performance.now();
        seen.check = check;
        if (check.missing === 0) seen.allPaths ??= at;
        if (check.problems?.length === 0) seen.identical = at;
        else {
          if (at > nextProgress) {
            process.stderr.write(`bench burst round ${r + 1}: ${seconds(at - started)} after tar started, bob's folder: ${describeCheck(check, expected.size)}; alice: ${describeState(seen.alice)}\n`);
            nextProgress += PROGRESS_EVERY_MS;
          }
          await sleep(FOLDER_POLL_MS);
        }
      }
    })();
    const statusPoll = (async () => {
      while (seen.aliceSynced === null && performance.now() < deadline) {
        const tarDone = seen.tarDone !== null;
        const state = await folderState(alice, shared.projectId);
        seen.alice = state;
        if (tarDone && state?.state === 'synced' && state.files === expected.size) seen.aliceSynced = performance.now();
        else await sleep(STATUS_POLL_MS);
      }
    })();
    await tar;
    await Promise.all([folderPoll, statusPoll]);
    const { tarDone, allPaths, identical, aliceSynced, check } = seen;
    if (tarDone === null || allPaths === null || identical === null || aliceSynced === null || check === null) {
      throw new Error(
        `burst round ${r + 1}: ${identical === null ? "bob's folder was not identical to alice's" : "alice's daemon did not report synced"} ${seconds(TIMEOUT_MS)} after \`tar -xf\` of ${FILES} files started (BENCH_BURST_TIMEOUT_S sets the deadline). ` +
          `bob's folder: ${describeCheck(check, expected.size)}; alice's daemon: ${describeState(seen.alice)}; tar ${tarDone === null ? 'still running' : `took ${seconds(tarDone - started)}`}.`,
      );
    }
    const aliceIntact = compareTrees(expected, await hashTree(aliceDir)).length === 0;
    // Stopped now, not at the end of the round: the bulk path gets the machine to itself.
    await Promise.all([alice.stopDaemon(), bob.stopDaemon()]);
    return {
      tarMs: tarDone - started,
      allPathsMs: allPaths - started,
      identicalMs: identical - started,
      aliceSyncedMs: aliceSynced - started,
      lastCheckMs: check.ms,
      aliceIntact,
    };
  } finally {
    await cleanup.runAll();
  }
}

/** For a CLI call's catch: its timeout (execa kills it) said as one, other failures as they are. */
const overdue = (what: string) => (err: unknown): never => {
  const timedOut = (err as { timedOut?: boolean }).timedOut || /exited SIGTERM/.test((err as Error).message);
  throw timedOut ? new Error(`${what} did not return within ${seconds(TIMEOUT_MS)} (BENCH_BURST_TIMEOUT_S sets the deadline)`) : err;
};

/** The bulk path for the same tree: share of a folder already holding it, join into an empty one. */
async function bulkRound(r: number, serverUrl: string, work: string, tarPath: string, expected: Map<string, string>): Promise<Round['bulk']> {
  const cleanup = new Cleanup();
  try {
    const shareDir = join(work, `bulk-carol-${r}`);
    const joinDir = join(work, `bulk-dave-${r}`);
    cleanup.add('remove the bulk folders', () => Promise.all([rm(shareDir, { recursive: true, force: true }), rm(joinDir, { recursive: true, force: true })]));
    const carol = await BenchUser.signIn(cleanup, `carol${r}`, serverUrl);
    const dave = await BenchUser.signIn(cleanup, `dave${r}`, serverUrl);
    await mkdir(shareDir);
    await writeFile(join(shareDir, 'README.md'), README);
    await run('tar', ['-xf', tarPath, '-C', shareDir]);
    // As in share-join.ts: the daemons start first, apart from the timed steps.
    await carol.cli(['daemon', 'start', '--json']);
    await dave.cli(['daemon', 'start', '--json']);
    const share = await timed(() => carol.cli<{ project: string; files: number }>(['share', shareDir, '--name', `bulk${r}`, '--json'], TIMEOUT_MS).catch(overdue(`bulk round ${r + 1}: \`codeshare share\``)));
    if (share.result.files !== expected.size) throw new Error(`bulk round ${r + 1}: share reported ${share.result.files} files, not ${expected.size}`);
    await carol.cli(['members', share.result.project, 'add', dave.name, '--role', 'editor', '--json']);
    const started = performance.now();
    await dave.cli(['join', share.result.project, joinDir, '--json'], TIMEOUT_MS).catch(overdue(`bulk round ${r + 1}: \`codeshare join\``));
    const joinMs = performance.now() - started;
    let check: FolderCheck | null = null;
    await waitFor(
      `bulk round ${r + 1}: dave's joined folder identical to the tree`,
      Math.max(1000, TIMEOUT_MS - joinMs),
      FOLDER_POLL_MS,
      async () => (check = await checkFolder(joinDir, expected)).problems?.length === 0,
      () => describeCheck(check, expected.size),
    );
    const joinIdenticalMs = performance.now() - started;
    await Promise.all([carol.stopDaemon(), dave.stopDaemon()]);
    return { shareMs: share.ms, joinMs, joinIdenticalMs };
  } finally {
    await cleanup.runAll();
  }
}

export async function runBurst(): Promise<string> {
  const cleanup = new Cleanup();
  const loadBefore = loadavg()[0]!;
  try {
    const work = await tempDir(cleanup, 'burst');
    const source = join(work, 'tree');
    const tree = await generateTree(source);
    const tarPath = join(work, 'tree.tar');
    await run('tar', ['-cf', tarPath, '-C', source, '.']);
    // What every folder holds in the end: the README and the tree, as tar puts it down.
    const reference = join(work, 'reference');
    await mkdir(reference);
    await writeFile(join(reference, 'README.md'), README);
    await run('tar', ['-xf', tarPath, '-C', reference]);
    const expected = await hashTree(reference);
    if (expected.size !== FILES + 1) throw new Error(`the extracted tree holds ${expected.size} files, not ${FILES + 1}`);

    const server = await startServerProcess(cleanup, join(work, 'server-data'));
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const floorDir = join(work, `tar-alone-${r}`);
      await mkdir(floorDir);
      const tarAlone = await timed(() => run('tar', ['-xf', tarPath, '-C', floorDir]));
      await rm(floorDir, { recursive: true, force: true });
      const { aliceIntact, ...burst } = await burstRound(r, server.url, work, tarPath, expected);
      process.stderr.write(
        `bench burst round ${r + 1}/${ROUNDS}: burst of ${FILES} files: bob identical ${seconds(burst.identicalMs)} after tar started (all paths ${seconds(burst.allPathsMs)}, alice synced ${seconds(burst.aliceSyncedMs)}, tar ${seconds(burst.tarMs)})\n`,
      );
      const bulk = await bulkRound(r, server.url, work, tarPath, expected);
      const ratio = burst.identicalMs / (bulk.shareMs + bulk.joinIdenticalMs);
      process.stderr.write(
        `bench burst round ${r + 1}/${ROUNDS}: bulk path: share ${seconds(bulk.shareMs)} + join ${seconds(bulk.joinIdenticalMs)} = ${seconds(bulk.shareMs + bulk.joinIdenticalMs)}; burst / (share + join) = ${ratio.toFixed(2)}x\n`,
      );
      rounds.push({ tarAloneMs: tarAlone.ms, burst, bulk, aliceIntact });
    }
    const serverStop = await server.stop();
    const loadAfter = loadavg()[0]!;

    const med = (pick: (round: Round) => number) => median(rounds.map(pick));
    const all = (pick: (round: Round) => number) => rounds.map((r) => seconds(pick(r))).join(', ');
    const row = (step: string, pick: (round: Round) => number) => [step, seconds(med(pick)), all(pick)];
    const bulkTotal = (r: Round) => r.bulk.shareMs + r.bulk.joinIdenticalMs;
    const ratio = med((r) => r.burst.identicalMs) / med(bulkTotal);
    const ratios = rounds.map((r) => `${(r.burst.identicalMs / bulkTotal(r)).toFixed(2)}x`).join(', ');
    const intact = rounds.every((r) => r.aliceIntact);

    return [
      ...(FILES === DEFAULT_FILES
        ? []
        : [`**A check run (BENCH_BURST_FILES=${FILES}, ${ROUNDS} round(s)), not the benchmark's figures: those are for ${DEFAULT_FILES.toLocaleString('en-US')} files over 3 rounds.**`, '']),
      `A generated tree (seeded): ${tree.files} small source-like files (0.2-4 KB), ${(tree.bytes / 1e6).toFixed(1)} MB, in ${tree.folders} nested folders (up to ${tree.maxDepth} deep), packed once with \`tar -cf\`; with the README, ${expected.size} files. ${ROUNDS} round(s) on one \`codeshare server\` child process (embedded PGlite), fresh users, daemons and folders each round; medians. 1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after.`,
      '',
      "- burst: alice shares a folder holding a README, bob joins it, both daemons report synced; then `tar -xf tree.tar -C <alice's folder>`. Times from the start of tar. Bob's folder is checked every 0.25 s (paths, then sha256 of every file once the paths match); alice's daemon through `codeshare status --json` every 1 s (synced, with every file in its index).",
      "- bulk path: carol shares a folder already holding the README and the tree (until `share` returns: the server stored everything), dave joins into an empty folder (until his folder is identical; `join` returns first). The burst's daemons are stopped before.",
      '',
      table(
        ['step', 'median', 'all rounds'],
        [
          row('`tar -xf` into a folder nobody syncs (the floor)', (r) => r.tarAloneMs),
          row("burst: `tar -xf` into alice's live folder", (r) => r.burst.tarMs),
          row("burst: alice's daemon reports synced (every file in its index)", (r) => r.burst.aliceSyncedMs),
          row("burst: bob's folder holds every path", (r) => r.burst.allPathsMs),
          row("**burst: bob's folder identical to alice's**", (r) => r.burst.identicalMs),
          row('bulk: `codeshare share` of the folder holding the tree', (r) => r.bulk.shareMs),
          row('bulk: `codeshare join` into an empty folder, until it returns', (r) => r.bulk.joinMs),
          row('bulk: `codeshare join`, until the folder is identical', (r) => r.bulk.joinIdenticalMs),
          row('**bulk: share + join**', bulkTotal),
        ],
      ),
      '',
      `Burst / (share + join) = **${ratio.toFixed(2)}x** (medians; per round ${ratios}); aim: at most ${AIM}x: ${ratio <= AIM ? 'met' : '**missed**'}. ${FILES} files: burst ${seconds(med((r) => r.burst.identicalMs))}, share ${seconds(med((r) => r.bulk.shareMs))} + join ${seconds(med((r) => r.bulk.joinIdenticalMs))}.`,
      '',
      `The check that found bob's folder identical took ${all((r) => r.burst.lastCheckMs)} (the burst figure is at most that late). Alice's folder after the burst identical to the tree: ${intact ? 'yes' : '**no**'}. The server took ${serverStop ? seconds(serverStop.ms) : 'n/a'} from SIGTERM to exit${serverStop?.killed ? ' (**killed after 3 minutes**)' : ''}.`,
    ].join('\n');
  } finally {
    await cleanup.runAll();
  }
}

export default { name: 'Burst of new files in a live folder', run: runBurst, checkOnly: FILES !== DEFAULT_FILES };
