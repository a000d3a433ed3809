// One seeded randomized run: two people edit one project at once (creates, edits, renames,
// deletes, binaries, chmods; some through a rename like vim, some as a plain rewrite), one of
// them stops (or SIGKILLs) and starts their daemon mid-run, then everyone stops: both folders must end
// byte-identical, and equal to the server's materialised files (invariant 2). Used by
// convergence.test.ts (a few short seeds) and by `npm run soak` (many longer ones).
import { seededRandom } from '../../bench/lib.js';
import { chmod, mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, expectServerMatches, sleep, untilIdentical, type TreeSpec, type User, type World } from './harness.js';

export interface ConvergenceOptions {
  seed: number;
  /** Random operations in all, over both folders. */
  steps: number;
  /** Daemon stop/start cycles, each on a random side at a random step. */
  restarts: number;
  /** How long to wait for the folders to agree once the edits stop. */
  settleMs?: number;
  log?: (line: string) => void;
  /** Called when the folders still differ 10 s after the edits stopped (a missed change only a rescan heals). */
  onStall?: () => Promise<void>;
}

const FOLDERS = ['', 'src', 'src/lib', 'docs'];
const NAMES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const EXTENSIONS = ['.txt', '.md', '.ts'];
const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'const', 'let', 'return', 'if', 'else', '{', '}', 'é', '日本', '🙂'];

type Random = () => number;


class Dice {
  constructor(private readonly random: Random) {}
  float(): number {
    return this.random();
  }
  int(max: number): number {
    return Math.floor(this.random() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  line(): string {
    const count = 1 + this.int(6);
    return Array.from({ length: count }, () => this.pick(WORDS)).join(' ');
  }
  text(): string {
    const lines = Array.from({ length: this.int(8) }, () => this.line());
    const eol = this.chance(0.15) ? '\r\n' : '\n';
    const body = lines.join(eol);
    return this.chance(0.8) && lines.length > 0 ? body + eol : body;
  }
  bytes(): Buffer {
    return Buffer.from(Array.from({ length: 1 + this.int(64) }, (_, i) => (i === 0 ? 0 : this.int(256))));
  }
  path(): string {
    const folder = this.pick(FOLDERS);
    const name = this.pick(NAMES) + this.pick(EXTENSIONS);
    return folder ? `${folder}/${name}` : name;
  }
}

/** Files under root (POSIX relative paths), skipping anything that vanishes meanwhile. */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let entries;
    try {
      entries = await readdir(join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  await walk('');
  return out.sort();
}

/** A filesystem race with the daemon (it removed a file or an emptied folder) is part of the game. */
function ignoreRace(err: unknown): void {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENOTEMPTY') return;
  throw err;
}

async function writeLikeAnEditor(dice: Dice, abs: string, content: string | Buffer): Promise<void> {
  await mkdir(join(abs, '..'), { recursive: true });
  if (dice.chance(0.3)) {
    // vim, IntelliJ and friends: write a temp file beside it, then rename over.
    const temp = `${abs}.${dice.int(1e9)}.swp`;
    await writeFile(temp, content);
    await rename(temp, abs);
  } else {
    await writeFile(abs, content);
  }
}

async function randomOperation(dice: Dice, root: string): Promise<string> {
  const files = await listFiles(root);
  const roll = dice.float();
  if (files.length === 0 || roll < 0.25) {
    const path = dice.path();
    if (dice.chance(0.1)) {
      const binaryPath = path.replace(/\.\w+$/, '.bin');
      await writeLikeAnEditor(dice, join(root, binaryPath), dice.bytes());
      return `create binary ${binaryPath}`;
    }
    await writeLikeAnEditor(dice, join(root, path), dice.text());
    return `create ${path}`;
  }
  const path = dice.pick(files);
  const abs = join(root, path);
  if (roll < 0.65) {
    if (path.endsWith('.bin')) {
      await writeLikeAnEditor(dice, abs, dice.bytes());
      return `rewrite binary ${path}`;
    }
    const text = await readFile(abs, 'utf8');
    const lines = text.split('\n');
    const at = dice.int(lines.length + 1);
    const kind = dice.int(4);
    if (kind === 0) lines.splice(at, 0, dice.line());
    else if (kind === 1 && lines.length > 0) lines.splice(Math.min(at, lines.length - 1), 1);
    else if (kind === 2 && lines.length > 0) lines[Math.min(at, lines.length - 1)] = dice.line();
    else lines.push(dice.line());
    await writeLikeAnEditor(dice, abs, lines.join('\n'));
    return `edit ${path}`;
  }
  if (roll < 0.8) {
    const to = dice.path().replace(/\.\w+$/, path.slice(path.lastIndexOf('.')));
    await mkdir(join(root, to, '..'), { recursive: true });
    await rename(abs, join(root, to));
    return `rename ${path} -> ${to}`;
  }
  if (roll < 0.95) {
    await unlink(abs);
    return `delete ${path}`;
  }
  const executable = dice.chance(0.5);
  await chmod(abs, executable ? 0o755 : 0o644);
  return `chmod ${executable ? '+x' : '-x'} ${path}`;
}

/** Runs one seed on a fresh project shared by alice and joined by bob; both leave it at the end. */
export async function runConvergence(world: World, alice: User, bob: User, options: ConvergenceOptions): Promise<void> {
  const dice = new Dice(seededRandom(options.seed));
  const started = Date.now();
  const log = (line: string) => options.log?.(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const initial: TreeSpec = {};
  for (let i = 0; i < 6; i++) initial[dice.path()] = dice.text();
  const a = await world.folder(`conv${options.seed}a`, initial);
  const shared = await alice.share(a, `conv-${options.seed}`);
  await alice.json(['members', shared.project, 'add', bob.name, '--role', 'editor']);
  const b = join(await world.tempDir(`conv${options.seed}b`), 'b');
  await bob.join(shared.project, b);
  // Random removals in bursts are this test's load, not an accident to stop: the discard guard's
  // size rule would pause a folder that deletes 5 of 20 files at once (it has its own tests, in
  // discard-guard.test.ts). The folders are no git repositories, so nothing else of it applies.
  await alice.json(['guard', a, '--max-files', 'off', '--max-share', 'off']);
  await bob.json(['guard', b, '--max-files', 'off', '--max-share', 'off']);
  log(`seed ${options.seed}: ${shared.project} shared, joined`);

  const restartAt = new Set(Array.from({ length: options.restarts }, () => 1 + dice.int(Math.max(1, options.steps - 2))));
  const people = [
    { user: alice, root: a },
    { user: bob, root: b },
  ];
  for (let step = 0; step < options.steps; step++) {
    if (restartAt.has(step)) {
      const side = dice.pick(people);
      // Half the time a clean stop, half the time a crash.
      if (dice.chance(0.5)) {
        log(`step ${step}: ${side.user.name} stops the daemon`);
        await side.user.stopDaemon();
      } else {
        log(`step ${step}: ${side.user.name}'s daemon is killed (SIGKILL)`);
        await side.user.killDaemon();
      }
      // Work goes on while it is down, on both sides.
      for (let i = 0; i < 3; i++) {
        const other = dice.pick(people);
        log(`  ${other.user.name}: ${await randomOperation(dice, other.root).catch((err: unknown) => (ignoreRace(err), 'raced'))}`);
      }
      await side.user.startDaemon();
      log(`step ${step}: ${side.user.name} starts the daemon`);
    }
    const side = dice.pick(people);
    const what = await randomOperation(dice, side.root).catch((err: unknown) => (ignoreRace(err), 'raced'));
    log(`step ${step}: ${side.user.name}: ${what}`);
    // Mostly bursts, sometimes a pause long enough for a round trip, so both races and
    // ordinary back-and-forth happen.
    if (dice.chance(0.2)) await sleep(dice.int(400));
    else if (dice.chance(0.5)) await sleep(dice.int(30));
  }

  const settleMs = options.settleMs ?? 60_000;
  log(`seed ${options.seed}: quiet; waiting for the folders to agree`);
  // A folder still differing after a while is worth a look (the 30 s rescan may have had to
  // catch what the watcher missed): the difference goes to the log, and the wait goes on.
  await untilIdentical(a, b, 10_000).catch(async (err: unknown) => {
    log(`not identical after 10 s:\n${(err as Error).message}`);
    await options.onStall?.();
  });
  await untilIdentical(a, b, settleMs);
  log('identical');
  await alice.untilSynced(a, settleMs);
  await bob.untilSynced(b, settleMs);
  log('both synced');
  // Still identical once both say everything is saved (nothing was in flight).
  await untilIdentical(a, b, settleMs);
  await eventually(() => expectServerMatches(world.server.url, alice.token, shared.projectId, a), settleMs, 250);
  log('the server matches');
  await alice.json(['leave', a]);
  await bob.json(['leave', b]);
  log(`seed ${options.seed}: converged`);
}
