// The embedded server's memory against the floor it stands on: a bare PGlite of the same
// version opened on the same data folder, in a process that does nothing else. Then whether
// the server grows with projects that nobody edits: projects are shared, their daemons stop,
// the rooms unload, and the server's memory is read after each.
//
// Every figure is the VmRSS of the whole process tree (a server with a PGlite worker or
// process included), read after a quiet moment and a collection where the process allows it.
import { execFile, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_START_PARAMS } from '../db/open.js';
import { generateTree, type TreeShape } from './share-join.js';
import { BenchUser, Cleanup, median, memoryOf, sleep, startServerProcess, table, tempDir } from './lib.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_EMBEDDED_ROUNDS) || 3;
const PROJECTS = Number(process.env.BENCH_EMBEDDED_PROJECTS) || 3;
const PROJECT_SHAPE: TreeShape = { files: 2000, folders: 150, largeTextShare: 0, binaryShare: 0.02, smallText: [300, 4 * 1024], settleMs: 0 };
/** Longer than the server's idle unload (rooms.idleUnloadMs, 30 s): every room of an idle project is gone. */
const UNLOAD_WAIT_MS = 40_000;
const SERVER_SETTLE_MS = 5_000;
const PROBE_FLAG = '--bare-pglite';

type Settings = 'defaults' | 'codeshare';

/** RSS of a process and all its descendants, in MiB. */
async function treeRssMiB(pid: number): Promise<number> {
  const children = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => null);
    if (!stat) continue;
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
  }
  let total = 0;
  const visit = async (p: number) => {
    total += (await memoryOf(p).catch(() => ({ rssMiB: 0 }))).rssMiB;
    for (const child of children.get(p) ?? []) await visit(child);
  };
  await visit(pid);
  return total;
}

/** A bare PGlite in a process of its own: opened (created when new), a query, a quiet second. */
function barePglite(dataDir: string, settings: Settings): Promise<{ rssMiB: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', import.meta.filename, PROBE_FLAG, dataDir, settings], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { rssMiB: number; ms: number }) : reject(new Error(`bare PGlite exited ${code}: ${err}`))));
  });
}

async function probe(dataDir: string, settings: Settings): Promise<void> {
  const started = performance.now();
  const db = new PGlite(dataDir, settings === 'codeshare' ? { startParams: PGLITE_START_PARAMS } : {});
  await db.waitReady;
  await db.query('select 1');
  const ms = performance.now() - started;
  await sleep(1000);
  (globalThis as { gc?: () => void }).gc?.();
  const { rssMiB } = await memoryOf(process.pid);
  await db.close();
  process.stdout.write(JSON.stringify({ rssMiB, ms }));
}

/** A server on the folder, its tree's RSS once it is quiet. */
async function serverAtRest(cleanup: Cleanup, dataDir: string): Promise<{ server: Awaited<ReturnType<typeof startServerProcess>>; rssMiB: number }> {
  const server = await startServerProcess(cleanup, dataDir);
  await sleep(SERVER_SETTLE_MS);
  return { server, rssMiB: await treeRssMiB(server.pid) };
}

interface Round {
  /** Bare PGlite on a folder of its own: created, then reopened. */
  bare: Record<`${Settings}-${'new' | 'reopened'}`, number>;
  /** Bare PGlite reopened on the server's folder, once the idle projects are in it. */
  bareOnServerFolder: Record<Settings, number>;
  server: { new: number; reopened: number };
  /** The server's RSS after each idle project was added. */
  afterProject: number[];
}

async function oneRound(work: string, round: number, tree: string): Promise<Round> {
  const cleanup = new Cleanup();
  try {
    const bare = {} as Round['bare'];
    for (const settings of ['defaults', 'codeshare'] as const) {
      const dir = join(work, `bare-${settings}-${round}`);
      bare[`${settings}-new`] = (await barePglite(dir, settings)).rssMiB;
      bare[`${settings}-reopened`] = (await barePglite(dir, settings)).rssMiB;
    }
    const dataDir = join(work, `server-${round}`);
    const fresh = await serverAtRest(cleanup, dataDir);
    const afterProject: number[] = [];
    for (let p = 0; p < PROJECTS; p++) {
      const user = await BenchUser.signIn(cleanup, `owner${round}-${p}`, fresh.server.url);
      const folder = join(work, `project-${round}-${p}`);
      await run('cp', ['-r', tree, folder]);
      await user.cli(['share', folder, '--name', `idle${p}`, '--json'], 600_000);
      await user.stopDaemon();
      await sleep(UNLOAD_WAIT_MS);
      afterProject.push(await treeRssMiB(fresh.server.pid));
      process.stderr.write(`bench embedded-server round ${round + 1}: after idle project ${p + 1}: ${afterProject.at(-1)!.toFixed(0)} MiB\n`);
    }
    await fresh.server.stop();
    // Unmeasured: the first open after the server replays what its last checkpoint left.
    await barePglite(dataDir, 'codeshare');
    const bareOnServerFolder = { codeshare: (await barePglite(dataDir, 'codeshare')).rssMiB, defaults: (await barePglite(dataDir, 'defaults')).rssMiB };
    const reopened = await serverAtRest(cleanup, dataDir);
    await reopened.server.stop();
    return { bare, bareOnServerFolder, server: { new: fresh.rssMiB, reopened: reopened.rssMiB }, afterProject };
  } finally {
    await cleanup.runAll();
  }
}

export async function runEmbeddedServer(): Promise<string> {
  const cleanup = new Cleanup();
  try {
    const work = await tempDir(cleanup, 'embedded');
    const tree = join(work, 'tree');
    const stats = await generateTree(tree, PROJECT_SHAPE);
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push(await oneRound(work, r, tree));
    const med = (pick: (round: Round) => number) => median(rounds.map(pick));
    const mib = (value: number) => `${value.toFixed(0)} MiB`;
    const all = (pick: (round: Round) => number) => rounds.map((r) => mib(pick(r))).join(', ');
    const growth = rounds.flatMap((r) => r.afterProject.map((value, i) => value - (i === 0 ? r.server.new : r.afterProject[i - 1]!)));
    const overBare = (server: number, bare: number) => `${mib(server - bare)} (aim: within 100 MiB: ${server - bare <= 100 ? 'met' : '**missed**'})`;
    return [
      `VmRSS of the whole process tree, median of ${ROUNDS} rounds. A bare PGlite (@electric-sql/pglite in a process that only opens it and runs \`select 1\`) with PGlite's own settings and with codeshare's (\`${PGLITE_START_PARAMS.slice(-1)[0]}\`, db/open.ts); a \`codeshare server\` on a new data folder, and reopened on it once it holds the idle projects, ${SERVER_SETTLE_MS / 1000} s after it listens. Idle projects: ${PROJECTS} projects of ${stats.files} files (${(stats.bytes / 1e6).toFixed(1)} MB) each, shared by a user of its own whose daemon then stops; the server's RSS ${UNLOAD_WAIT_MS / 1000} s later (after the rooms' idle unload).`,
      '',
      table(
        ['process', 'median', 'all rounds'],
        [
          ['bare PGlite, its own settings, new folder', mib(med((r) => r.bare['defaults-new'])), all((r) => r.bare['defaults-new'])],
          ['bare PGlite, its own settings, reopened', mib(med((r) => r.bare['defaults-reopened'])), all((r) => r.bare['defaults-reopened'])],
          ["bare PGlite, codeshare's settings, new folder", mib(med((r) => r.bare['codeshare-new'])), all((r) => r.bare['codeshare-new'])],
          ["bare PGlite, codeshare's settings, reopened", mib(med((r) => r.bare['codeshare-reopened'])), all((r) => r.bare['codeshare-reopened'])],
          ['`codeshare server` at rest, new data folder', mib(med((r) => r.server.new)), all((r) => r.server.new)],
          ["bare PGlite, its own settings, on the server's folder with the projects", mib(med((r) => r.bareOnServerFolder.defaults)), all((r) => r.bareOnServerFolder.defaults)],
          ["bare PGlite, codeshare's settings, on the server's folder with the projects", mib(med((r) => r.bareOnServerFolder.codeshare)), all((r) => r.bareOnServerFolder.codeshare)],
          ['`codeshare server` at rest, reopened on that folder', mib(med((r) => r.server.reopened)), all((r) => r.server.reopened)],
        ],
      ),
      '',
      `The server over a bare PGlite with the same settings: new folder ${overBare(med((r) => r.server.new), med((r) => r.bare['codeshare-new']))}; reopened on the same folder ${overBare(med((r) => r.server.reopened), med((r) => r.bareOnServerFolder.codeshare))}; and over a bare PGlite with PGlite's own settings on that folder, ${mib(med((r) => r.server.reopened) - med((r) => r.bareOnServerFolder.defaults))}. A new data folder is created by a short-lived child process, so initdb's memory is not the server's.`,
      '',
      `Growth per idle project (nobody connected, rooms unloaded): **${mib(median(growth))}** (median of ${growth.length}; aim: none); server RSS from its start through each project: ${rounds.map((r) => [r.server.new, ...r.afterProject].map(mib).join(' -> ')).join('; ')}.`,
    ].join('\n');
  } finally {
    await cleanup.runAll();
  }
}

export default { name: 'Embedded server memory', run: runEmbeddedServer };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === PROBE_FLAG) {
  await probe(process.argv[3]!, process.argv[4] as Settings);
}
