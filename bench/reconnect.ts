// Reconnect after a day offline: only what changed moves. Bob's daemon stops (his laptop
// closes), alice changes 10 files, bob's daemon starts again; how many bytes cross the wire
// between bob's daemon and the server until his folder holds the 10 changes, and how long it
// takes, in a 4,000-file and a 40,000-file project. The two should be close: the traffic
// follows the changes, not the project (DESIGN.md, Scale: the project feed's catch-up).
//
// Bytes are counted by a TCP relay in this process that bob's daemon reaches the server
// through (both directions, everything: HTTP, WebSocket frames, headers).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateTree, type TreeShape } from './share-join.js';
import { BenchUser, Cleanup, median, openSignIn, seconds, sleep, startServerProcess, table, tempDir } from './lib.js';

const ROUNDS = Number(process.env.BENCH_RECONNECT_ROUNDS) || 3;
const CHANGED = 10;
/** BENCH_RECONNECT_SIZES=300,3000: a quick check, printed and not written to RESULTS.md. */
const SIZES = process.env.BENCH_RECONNECT_SIZES ? process.env.BENCH_RECONNECT_SIZES.split(',').map(Number) : [4_000, 40_000];
const ARRIVAL_TIMEOUT_MS = 120_000;
/** BENCH_RECONNECT_TRACE=1: bob's daemon log lines of each restart, in ms from `daemon start`. */
const TRACE = !!process.env.BENCH_RECONNECT_TRACE;

const shapeOf = (files: number): TreeShape => ({ files, folders: Math.round(files / 16), largeTextShare: 0, binaryShare: 0.02, smallText: [300, 4 * 1024], settleMs: 0 });

/** A TCP relay to `target` that counts the bytes through it. */
class CountingRelay {
  bytes = 0;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(target: URL): Promise<CountingRelay> {
    let relay!: CountingRelay;
    const server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
        relay.sockets.add(from);
        from.on('data', (chunk: Buffer) => (relay.bytes += chunk.length));
        from.pipe(to);
        from.on('error', () => to.destroy());
        from.on('close', () => {
          relay.sockets.delete(from);
          to.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    relay = new CountingRelay(server, `http://127.0.0.1:${address.port}`);
    return relay;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface Cycle {
  bytes: number;
  /** From `daemon start` until bob's folder held every change. */
  ms: number;
  /** The daemon's own line: frames and bytes of the feed's catch-up. */
  feed: { frames: number; bytes: number; ms: number } | null;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + ARRIVAL_TIMEOUT_MS;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`reconnect: ${what} did not happen within ${ARRIVAL_TIMEOUT_MS / 1000} s`);
    await sleep(25);
  }
}

async function measureSize(work: string, files: number): Promise<{ cycles: Cycle[]; files: number }> {
  const cleanup = new Cleanup();
  try {
    const server = await startServerProcess(cleanup, join(work, `server-${files}`));
    const relay = await CountingRelay.start(new URL(server.url));
    cleanup.add('close the relay', () => relay.close());
    const alice = await BenchUser.signIn(cleanup, `alice${files}`, server.url);
    const bob = await BenchUser.signIn(cleanup, `bob${files}`, relay.url);
    const folderA = join(work, `alice-${files}`);
    const folderB = join(work, `bob-${files}`);
    const tree = await generateTree(folderA, shapeOf(files));
    const shared = await alice.cli<{ project: string; projectId: string }>(['share', folderA, '--name', `p${files}`, '--json'], 600_000);
    await alice.cli(['members', shared.project, 'add', bob.name, '--role', 'editor', '--json']);
    const reader = await openSignIn(server.url, `reader${files}`);
    await alice.cli(['members', shared.project, 'add', `reader${files}`, '--role', 'viewer', '--json']);
    await bob.cli(['join', shared.project, folderB, '--json'], 600_000);
    const textPaths = await listTextPaths(server.url, shared.projectId, reader);

    const cycles: Cycle[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await bob.stopDaemon();
      // alice's 10 changes, each stored by the server before bob comes back.
      const changed = textPaths.slice(round * CHANGED, (round + 1) * CHANGED);
      const line = `// changed while bob was offline, round ${round}\n`;
      for (const path of changed) await appendFile(join(folderA, path), line);
      const onServer = async (path: string) => (await fileText(server.url, shared.projectId, reader, path)).endsWith(line);
      await waitFor('the server holding alice\'s changes', async () => (await Promise.all(changed.map(onServer))).every(Boolean));

      relay.bytes = 0;
      const startedAt = Date.now();
      const started = performance.now();
      await bob.cli(['daemon', 'start', '--json']);
      const arrived = async (path: string) => (await readFile(join(folderB, path), 'utf8').catch(() => '')).endsWith(line);
      await waitFor("bob's folder holding the changes", async () => (await Promise.all(changed.map(arrived))).every(Boolean));
      const ms = performance.now() - started;
      // What follows the changes (acknowledgements, presence) is part of the reconnect too.
      await sleep(2000);
      const entry = await bob.daemonLogEntry('caught up with the project feed');
      const feed = entry ? { frames: Number(entry.frames), bytes: Number(entry.bytes), ms: Number(entry.ms) } : null;
      cycles.push({ bytes: relay.bytes, ms, feed });
      if (TRACE) {
        await waitFor("bob's daemon resumed", async () => (await bob.daemonLogEntry('resumed')) !== null && Number((await bob.daemonLogEntry('resumed'))!.time) >= startedAt);
        await traceRestart(bob, startedAt);
      }
      process.stderr.write(`bench reconnect ${files} files, round ${round + 1}: ${relay.bytes} bytes, ${seconds(ms)}\n`);
    }
    return { cycles, files: tree.files };
  } finally {
    await cleanup.runAll();
  }
}

async function traceRestart(bob: BenchUser, startedAt: number): Promise<void> {
  const text = await readFile(join(bob.home, 'state', 'daemon.log'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line) continue;
    const { time, msg, level: _level, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
    if (typeof time === 'number' && time >= startedAt) process.stderr.write(`  +${time - startedAt} ms ${String(msg)} ${JSON.stringify(rest)}\n`);
  }
}

async function listTextPaths(serverUrl: string, projectId: string, token: string): Promise<string[]> {
  const response = await fetch(`${serverUrl}/api/projects/${projectId}/files?limit=200`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`listing files failed: ${response.status}`);
  const page = (await response.json()) as { items: { path: string; kind: string }[] };
  return page.items.filter((f) => f.kind === 'text').map((f) => f.path);
}

async function fileText(serverUrl: string, projectId: string, token: string, path: string): Promise<string> {
  const response = await fetch(`${serverUrl}/api/projects/${projectId}/files/content?path=${encodeURIComponent(path)}`, { headers: { authorization: `Bearer ${token}` } });
  return response.ok ? response.text() : '';
}

export async function runReconnect(): Promise<string> {
  const cleanup = new Cleanup();
  try {
    const work = await tempDir(cleanup, 'reconnect');
    const results: { files: number; cycles: Cycle[] }[] = [];
    for (const size of SIZES) results.push(await measureSize(work, size));
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
    const rows = results.map(({ files, cycles }) => [
      `${files.toLocaleString('en-US')} files`,
      kib(median(cycles.map((c) => c.bytes))),
      seconds(median(cycles.map((c) => c.ms))),
      cycles.map((c) => `${kib(c.bytes)} / ${seconds(c.ms)}`).join(', '),
      cycles.map((c) => (c.feed ? `${c.feed.frames} frames, ${kib(c.feed.bytes)}` : 'n/a')).join('; '),
    ]);
    const [small, large] = results.map((r) => ({ bytes: median(r.cycles.map((c) => c.bytes)), ms: median(r.cycles.map((c) => c.ms)) }));
    const ratio = (a: number, b: number) => (b / a - 1) * 100;
    const within = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(0)}% (aim: within 20%: ${Math.abs(value) <= 20 ? 'met' : '**missed**'})`;
    return [
      `Bob's daemon stops; alice appends a line to ${CHANGED} text files and the server stores them; bob's daemon starts again (\`codeshare daemon start\`, which resumes his folder) and the time runs until his folder holds all ${CHANGED} changes. Bytes: everything between bob's daemon and the server in both directions (HTTP and WebSocket, counted by a TCP relay in the benchmark), from the start until 2 s after the changes arrived. ${ROUNDS} offline/online cycles per project (${CHANGED} other files each time), medians. Generated trees of small text files, 2% binaries; one \`codeshare server\` child process on embedded PGlite per project.`,
      '',
      table(['project', 'bytes on the wire', 'time to the changes', 'all cycles', "the daemon's feed catch-up"], rows),
      '',
      `${results[1]!.files.toLocaleString('en-US')} against ${results[0]!.files.toLocaleString('en-US')} files: bytes ${within(ratio(small!.bytes, large!.bytes))}, time ${within(ratio(small!.ms, large!.ms))}.`,
    ].join('\n');
  } finally {
    await cleanup.runAll();
  }
}

export default { name: 'Reconnect after changes made offline', run: runReconnect, checkOnly: !!process.env.BENCH_RECONNECT_SIZES };
