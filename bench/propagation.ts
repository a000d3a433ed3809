// Edit-to-disk latency between two teammates: alice edits a file in her folder, how long until
// bob's folder holds the same bytes? The whole production path is measured: alice's watcher,
// diff and Y.Text ops, her WebSocket, the server's room (log append, fan-out), bob's WebSocket,
// his mirror's atomic write. Each user is a real daemon process under its own CODESHARE_HOME,
// driven by the real CLI; the server is `codeshare server` on a temp embedded database.
//
// Where the time goes is split by a third, passive participant: a viewer's WebSocket in this
// process that follows the edited files' docs. The moment its copy of a doc holds the new text
// is (within a fraction of a millisecond) when the server relayed the edit to bob's daemon too,
// so "alice -> server relay" and "relay -> bob's disk" are measured apart.
//
// Measuring: one fs.watch per folder of bob's that holds a test file; on every event the
// edited file is read and compared with what alice wrote (a 50 ms fallback poll catches a
// missed event, and how often it was needed is reported). One edit at a time, each after the
// previous one arrived, with a short random pause between.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { contentText, filesMap, parseIndexEntry } from '../common/index-entry.js';
import { PROTOCOL_VERSION, INDEX_DOC, decodeFrame, encodeSyncStep1, encodeSyncStep2, fileDocName, messageSync } from '../common/protocol.js';
import {
  BenchUser,
  Cleanup,
  cpuSecondsOf,
  memoryOf,
  ms,
  percentile,
  seededRandom,
  sleep,
  startServerProcess,
  table,
  tempDir,
  median,
  openSignIn,
} from './lib.js';

const EDITS = Number(process.env.BENCH_PROPAGATION_EDITS) || 300;
const WARMUP_EDITS = 20;
const EDIT_TIMEOUT_MS = 10_000;
const FALLBACK_POLL_MS = 50;

/** The edited files: one per size class, so a size-dependent cost shows. */
const EDITED: { path: string; bytes: number }[] = [
  { path: 'src/small.ts', bytes: 300 },
  { path: 'src/module.ts', bytes: 4 * 1024 },
  { path: 'src/service.ts', bytes: 20 * 1024 },
  { path: 'lib/large.js', bytes: 100 * 1024 },
  { path: 'lib/bundle.js', bytes: 400 * 1024 },
];
/** Files that are there but not edited, so the project is not trivially small (propagation-large.ts: 40,000). */
const BYSTANDERS = 200;

const WORDS = ['const', 'let', 'return', 'function', 'value', 'items', 'map', 'filter', 'await', 'result', 'index', 'user', 'project', 'file', 'if', 'else', 'for', 'of', 'new', 'this'];

function codeLine(random: () => number): string {
  const indent = '  '.repeat(Math.floor(random() * 3));
  const count = 3 + Math.floor(random() * 8);
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]!);
  return `${indent}${words.join(' ')};`;
}

function codeText(random: () => number, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const line = codeLine(random);
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

/** A small edit of the kind a person makes: change, insert or delete a line, or type a few characters. */
function smallEdit(random: () => number, text: string, n: number): string {
  const lines = text.split('\n');
  const at = Math.floor(random() * Math.max(1, lines.length - 1));
  const kind = n % 4;
  if (kind === 0) lines[at] = `${lines[at]} // edit ${n}`;
  else if (kind === 1) lines.splice(at, 0, `${codeLine(random)} // line ${n}`);
  else if (kind === 2 && lines.length > 3) lines.splice(at, 1);
  else lines[at] = `${(lines[at] ?? '').slice(0, 10)}x${n}${(lines[at] ?? '').slice(10)}`;
  return lines.join('\n');
}

interface ArrivalWaiter {
  path: string;
  expected: Buffer;
  resolve: (how: 'watch' | 'poll') => void;
}

/** Waits until `path` holds `expected`, driven by fs.watch events on its folder. */
class ArrivalWatcher {
  private readonly watchers: FSWatcher[] = [];
  private waiter: ArrivalWaiter | null = null;
  private checking = false;
  private recheck = false;

  constructor(root: string, relPaths: string[]) {
    for (const dir of new Set(relPaths.map((p) => dirname(join(root, p))))) {
      this.watchers.push(watch(dir, () => void this.check('watch')));
    }
  }

  private async check(how: 'watch' | 'poll'): Promise<void> {
    if (!this.waiter) return;
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.recheck = false;
        const waiter: ArrivalWaiter | null = this.waiter;
        if (!waiter) break;
        const bytes = await readFile(waiter.path).catch(() => null);
        if (bytes && bytes.equals(waiter.expected) && this.waiter === waiter) {
          this.waiter = null;
          waiter.resolve(how);
          break;
        }
      } while (this.recheck);
    } finally {
      this.checking = false;
    }
  }

  /** Resolves with the arrival time (performance.now()) and how it was noticed. */
  arrival(path: string, expected: Buffer, timeoutMs: number): Promise<{ at: number; how: 'watch' | 'poll' }> {
    return new Promise((resolve, reject) => {
      const poll = setInterval(() => void this.check('poll'), FALLBACK_POLL_MS);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.waiter = null;
        reject(new Error(`${path} did not converge in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        path,
        expected,
        resolve: (how) => {
          const at = performance.now();
          clearInterval(poll);
          clearTimeout(timer);
          resolve({ at, how });
        },
      };
      void this.check('watch');
    });
  }

  close(): void {
    for (const watcher of this.watchers) watcher.close();
  }
}

/** A viewer following docs over the multiplexed protocol; tells when a doc reaches a text. */
class RelayObserver {
  private readonly docs = new Map<string, Y.Doc>();
  private waiter: { docName: string; expected: string; resolve: (at: number) => void } | null = null;
  /** Sizes of the updates relayed since the last take(): how minimal an edit is on the wire. */
  private updateSizes: number[] = [];

  private constructor(private readonly socket: WebSocket) {
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer) => this.onFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
  }

  static async connect(serverUrl: string, projectId: string, token: string): Promise<RelayObserver> {
    const socket = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/api/projects/${encodeURIComponent(projectId)}/ws?protocol=${PROTOCOL_VERSION}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new RelayObserver(socket);
  }

  doc(docName: string): Y.Doc {
    let doc = this.docs.get(docName);
    if (!doc) {
      doc = new Y.Doc();
      this.docs.set(docName, doc);
      this.socket.send(encodeSyncStep1(docName, doc));
    }
    return doc;
  }

  /** Follows the index and the docs of these paths; resolves once their texts are in. */
  async follow(paths: string[], texts: Map<string, string>): Promise<Map<string, string>> {
    const index = this.doc(INDEX_DOC);
    const docNames = new Map<string, string>();
    const deadline = Date.now() + 30_000;
    while (docNames.size < paths.length) {
      for (const path of paths) {
        const entry = parseIndexEntry(filesMap(index).get(path));
        if (entry) docNames.set(path, fileDocName(entry.id));
      }
      if (Date.now() > deadline) throw new Error('the observer did not receive the index');
      await sleep(20);
    }
    for (const [path, docName] of docNames) {
      const doc = this.doc(docName);
      while (contentText(doc).toString() !== texts.get(path)) {
        if (Date.now() > deadline) throw new Error(`the observer did not receive ${path}`);
        await sleep(20);
      }
    }
    return docNames;
  }

  private onFrame(data: Uint8Array): void {
    const at = performance.now();
    const frame = decodeFrame(data);
    if (frame.type !== messageSync) return;
    const doc = this.docs.get(frame.docName);
    if (!doc) return;
    if (frame.sync.kind === 'step1') {
      this.socket.send(encodeSyncStep2(frame.docName, Y.encodeStateAsUpdate(doc, frame.sync.stateVector)));
      return;
    }
    Y.applyUpdate(doc, frame.sync.update, this);
    if (frame.sync.kind === 'update' && frame.docName !== INDEX_DOC) this.updateSizes.push(frame.sync.update.byteLength);
    const waiter = this.waiter;
    if (waiter && waiter.docName === frame.docName && contentText(doc).toString() === waiter.expected) {
      this.waiter = null;
      waiter.resolve(at);
    }
  }

  /** When the doc held `expected` (performance.now()), or null if it did not within the time. */
  relayed(docName: string, expected: string, timeoutMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = {
        docName,
        expected,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
    });
  }

  /** The sizes of the file-doc updates relayed since the last call. */
  takeUpdateSizes(): number[] {
    return this.updateSizes.splice(0);
  }

  close(): void {
    this.socket.close();
  }
}

export async function runPropagation(bystanders = BYSTANDERS): Promise<string> {
  const cleanup = new Cleanup();
  const loadBefore = loadavg()[0]!;
  try {
    const work = await tempDir(cleanup, 'propagation');
    const server = await startServerProcess(cleanup, join(work, 'server-data'));
    const alice = await BenchUser.signIn(cleanup, 'alice', server.url);
    const bob = await BenchUser.signIn(cleanup, 'bob', server.url);
    const folderA = join(work, 'alice', 'app');
    const folderB = join(work, 'bob', 'app');
    const random = seededRandom(20240611);
    const contents = new Map<string, string>();
    for (const { path, bytes } of EDITED) contents.set(path, codeText(random, bytes));
    // About 100 files a folder, as in a real tree.
    const folders = Math.max(10, Math.round(bystanders / 100));
    for (let i = 0; i < bystanders; i++) contents.set(`pkg/m${i % folders}/file${i}.ts`, codeText(random, 200 + Math.floor(random() * 4000)));
    for (const [path, text] of contents) {
      await mkdir(dirname(join(folderA, path)), { recursive: true });
      await writeFile(join(folderA, path), text);
    }

    const shared = await alice.cli<{ project: string; projectId: string }>(['share', folderA, '--name', 'app', '--json']);
    await alice.cli(['members', shared.project, 'add', 'bob', '--role', 'editor', '--json']);
    // carol, a viewer who only watches the wire (see the top of this file).
    const carolToken = await openSignIn(server.url, 'carol');
    await alice.cli(['members', shared.project, 'add', 'carol', '--role', 'viewer', '--json']);
    await bob.cli(['join', shared.project, folderB, '--json']);
    for (const { path } of EDITED) {
      const arrived = await readFile(join(folderB, path), 'utf8');
      if (arrived !== contents.get(path)) throw new Error(`join did not bring ${path} over intact`);
    }
    const pids = { alice: await alice.daemonPid(), bob: await bob.daemonPid() };
    const cpuBefore = { alice: await cpuSecondsOf(pids.alice), bob: await cpuSecondsOf(pids.bob), server: await cpuSecondsOf(server.pid) };

    const observer = await RelayObserver.connect(server.url, shared.projectId, carolToken);
    cleanup.add('close the observer', () => observer.close());
    const docNames = await observer.follow(
      EDITED.map((e) => e.path),
      contents,
    );

    const arrivals = new ArrivalWatcher(folderB, EDITED.map((e) => e.path));
    const samples: { path: string; ms: number; how: 'watch' | 'poll'; relayMs: number | null; updates: number[] }[] = [];
    const failures: string[] = [];
    let measuredSpan = 0;
    try {
      for (let n = 0; n < WARMUP_EDITS + EDITS; n++) {
        const { path } = EDITED[n % EDITED.length]!;
        const next = smallEdit(random, contents.get(path)!, n);
        contents.set(path, next);
        const expected = Buffer.from(next, 'utf8');
        const started = performance.now();
        // As most editors save: the file is rewritten in place.
        const arrival = arrivals.arrival(join(folderB, path), expected, EDIT_TIMEOUT_MS);
        const relayed = observer.relayed(docNames.get(path)!, next, EDIT_TIMEOUT_MS);
        await writeFile(join(folderA, path), expected);
        try {
          const { at, how } = await arrival;
          const relayAt = await relayed;
          const updates = observer.takeUpdateSizes();
          if (n >= WARMUP_EDITS) {
            samples.push({ path, ms: at - started, how, relayMs: relayAt === null ? null : relayAt - started, updates });
            measuredSpan += at - started;
          }
        } catch (err) {
          failures.push((err as Error).message);
          // Let it settle before the next edit, so one stuck edit does not time out the rest.
          await sleep(1000);
          observer.takeUpdateSizes();
        }
        await sleep(5 + Math.floor(random() * 20));
      }
    } finally {
      arrivals.close();
    }
    const cpuAfter = { alice: await cpuSecondsOf(pids.alice), bob: await cpuSecondsOf(pids.bob), server: await cpuSecondsOf(server.pid) };
    const memory = { alice: await memoryOf(pids.alice), bob: await memoryOf(pids.bob), server: await memoryOf(server.pid) };

    // Convergence once edits stop: every edited file identical on both sides.
    await sleep(1000);
    const diverged: string[] = [];
    for (const { path } of EDITED) {
      const [a, b] = await Promise.all([readFile(join(folderA, path)), readFile(join(folderB, path)).catch(() => Buffer.alloc(0))]);
      if (!a.equals(b) || a.toString('utf8') !== contents.get(path)) diverged.push(path);
    }

    const [aliceStop, bobStop] = await Promise.all([alice.stopDaemon(), bob.stopDaemon()]);
    const stopLine = `\`codeshare daemon stop\` until the process was gone: alice ${aliceStop ? ms(aliceStop.ms) : 'n/a'}, bob ${bobStop ? ms(bobStop.ms) : 'n/a'}${aliceStop?.killed || bobStop?.killed ? ' (**killed after 2 minutes**)' : ''}.`;

    const all = samples.map((s) => s.ms);
    const byPoll = samples.filter((s) => s.how === 'poll').length;
    const p50 = percentile(all, 50);
    const p99 = percentile(all, 99);
    const verdict = (value: number, aim: number) => (value < aim ? `${ms(value)} (aim < ${aim} ms: met)` : `${ms(value)} (aim < ${aim} ms: **missed**)`);
    const perFile = EDITED.map(({ path, bytes }) => {
      const values = samples.filter((s) => s.path === path).map((s) => s.ms);
      return [path, `${Math.round(bytes / 1024) || '<1'} KiB`, values.length, ms(percentile(values, 50)), ms(percentile(values, 99)), ms(Math.max(...values))];
    });
    const split = samples.filter((s) => s.relayMs !== null);
    const toRelay = split.map((s) => s.relayMs!);
    const fromRelay = split.map((s) => s.ms - s.relayMs!);
    const updateCounts = samples.map((s) => s.updates.length);
    const updateBytes = samples.map((s) => s.updates.reduce((a, b) => a + b, 0));
    const bigEdits = samples.filter((s) => s.updates.some((size) => size > 10_000));
    const cpuMs = (who: 'alice' | 'bob' | 'server') => ((cpuAfter[who] - cpuBefore[who]) * 1000) / Math.max(1, samples.length + failures.length);

    return [
      `${EDITS} measured edits (after ${WARMUP_EDITS} warm-up edits), round-robin over ${EDITED.length} files of 0.3-400 KiB in a project of ${contents.size} files: each a small in-place rewrite by alice (a changed, inserted or deleted line, or a few typed characters), timed from just before her \`writeFile\` until bob's folder holds exactly the new bytes. Two daemon processes (\`codeshare share\` / \`codeshare join\`), one \`codeshare server\` child process on embedded PGlite, all on 127.0.0.1. 1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after.`,
      '',
      table(
        ['measure', 'value'],
        [
          ['p50', verdict(p50, 20)],
          ['p99', verdict(p99, 60)],
          ['max', ms(Math.max(...all))],
          ['min', ms(Math.min(...all))],
          ['mean', ms(all.reduce((a, b) => a + b, 0) / all.length)],
          ['edits that did not arrive within 10 s', failures.length],
          ['arrivals noticed by the 50 ms fallback poll (not fs.watch)', byPoll],
          ['files differing after edits stopped', diverged.length === 0 ? '0 (converged)' : `**${diverged.join(', ')}**`],
        ],
      ),
      '',
      `Where the time goes (${split.length} edits where the observer saw the final text; the observer is a viewer's WebSocket in the benchmark process):`,
      '',
      table(
        ['stage', 'p50', 'p99', 'max'],
        [
          ["alice's write -> server relays the final text (alice's watcher, diff, Y.Text, WebSocket; server apply + relay)", ms(percentile(toRelay, 50)), ms(percentile(toRelay, 99)), ms(Math.max(...toRelay))],
          ["server relay -> bob's file holds the bytes (bob's WebSocket, Y apply, atomic write with fsyncs)", ms(percentile(fromRelay, 50)), ms(percentile(fromRelay, 99)), ms(Math.max(...fromRelay))],
        ],
      ),
      '',
      `On the wire (file-doc updates the server relayed per edit, seen by the observer): ${percentile(updateCounts, 50)} update(s) per edit at p50, ${Math.max(...updateCounts)} at most; ${percentile(updateBytes, 50)} bytes per edit at p50, ${Math.max(...updateBytes).toLocaleString('en-US')} bytes at most; ${bigEdits.length} of ${samples.length} edits carried an update over 10 kB (a small edit should be a few hundred bytes).`,
      '',
      'Per edited file:',
      '',
      table(['file', 'size', 'edits', 'p50', 'p99', 'max'], perFile),
      '',
      table(
        ['process', 'CPU per edit', 'RSS after the edits'],
        [
          ['alice\'s daemon (sender)', ms(cpuMs('alice')), `${memory.alice.rssMiB.toFixed(0)} MiB`],
          ['bob\'s daemon (receiver)', ms(cpuMs('bob')), `${memory.bob.rssMiB.toFixed(0)} MiB`],
          ['server', ms(cpuMs('server')), `${memory.server.rssMiB.toFixed(0)} MiB`],
        ],
      ),
      '',
      `Total measured time ${ms(measuredSpan)} for ${samples.length} edits; median of the per-file medians ${ms(median(perFile.map((_, i) => percentile(samples.filter((s) => s.path === EDITED[i]!.path).map((s) => s.ms), 50))))}.`,
      '',
      stopLine,
      ...(failures.length > 0 ? ['', 'Failures:', ...failures.slice(0, 10).map((f) => `- ${f}`)] : []),
    ].join('\n');
  } finally {
    await cleanup.runAll();
  }
}

export default { name: 'Edit propagation between two daemons', run: () => runPropagation() };
