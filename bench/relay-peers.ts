// The relay against the servers a team would pick instead, in one run, under the same load and
// the same clients: codeshare (its /yjs y-websocket endpoint, on PostgreSQL and on PGlite), the
// yjs project's own @y/websocket-server (in memory: the floor for a Node.js Yjs relay) and
// Hocuspocus 3 with its database extension on the same PostgreSQL. 20 rooms x 10 clients, one
// doc a room, small text edits at 300, 1,000 and 3,000 updates/s in total. The servers run one
// after another, interleaved (every server at a rate, then the next rate; then the next run), so
// a noisy minute hurts them all alike; medians of the runs.
//
// Server CPU is read from the server's whole process tree; the clients run in two processes of
// their own (bench/peers/relay-clients.ts, whole rooms each), whose CPU is reported so a run where
// the load generator saturated is marked as such.
import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { ClientsPlan, ClientsReport, Framing } from './peers/relay-clients.js';
import { Cleanup, childMessage, freshPostgresDatabase, median, ms, openSignIn, percentile, POSTGRES_ADMIN_URL, sleep, startListeningProcess, startServerProcess, table, tempDir, treeCpuSecondsOf, treeRssMiBOf, type ServerProcess } from './lib.js';


const ROOMS = 20;
const CLIENTS_PER_ROOM = 10;
const RATES = (process.env.BENCH_PEERS_RATES ?? '300,1000,3000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_PEERS_RUNS ?? 3);
/** BENCH_PEERS_ONLY=codeshare: only the servers whose name contains it (a check run, say for a profile). */
const ONLY = process.env.BENCH_PEERS_ONLY ?? '';
const CLIENT_PROCESSES = 2;
const WARMUP_MS = 2000;
const MEASURE_MS = 8000;
const DRAIN_MS = 10_000;
/** A client process busier than this share of a core over the window measured its own queue too. */
const SATURATED = 0.9;
const PEERS = join(import.meta.dirname, 'peers');

interface Contestant {
  name: string;
  framing: Framing;
  /** Starts the server and says where each room's clients connect; null when it cannot run here. */
  start(cleanup: Cleanup): Promise<{ server: ServerProcess; rooms: ClientsPlan['rooms'] } | null>;
}

const wsUrl = (url: string) => url.replace(/^http/, 'ws');

/** codeshare: a project per room, its members the room's clients, the room a file doc on /yjs. */
async function codeshareRooms(server: ServerProcess): Promise<ClientsPlan['rooms']> {
  const tokens: string[] = [];
  for (let i = 0; i < CLIENTS_PER_ROOM; i++) tokens.push(await openSignIn(server.url, `peer${i}`));
  const api = async (method: string, path: string, body: unknown) => {
    const response = await fetch(server.url + path, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string };
  };
  const rooms: ClientsPlan['rooms'] = [];
  for (let r = 0; r < ROOMS; r++) {
    const project = await api('POST', '/api/projects', { name: `peers-${r}` });
    for (let i = 1; i < CLIENTS_PER_ROOM; i++) await api('POST', `/api/projects/${project.id}/members`, { username: `peer${i}`, role: 'editor' });
    const urls = tokens.map((token) => `${wsUrl(server.url)}/yjs/${project.id}/file:room?token=${token}`);
    rooms.push({ docName: 'file:room', urls, token: '' });
  }
  return rooms;
}

const namedRooms = (url: (r: number) => string): ClientsPlan['rooms'] =>
  Array.from({ length: ROOMS }, (_, r) => ({ docName: `room-${r}`, urls: Array.from({ length: CLIENTS_PER_ROOM }, () => url(r)), token: 'bench' }));

const CONTESTANTS: Contestant[] = [
  {
    name: 'codeshare, PostgreSQL',
    framing: 'y-websocket',
    start: async (cleanup) => {
      const databaseUrl = await freshPostgresDatabase(cleanup);
      if (!databaseUrl) return null;
      const server = await startServerProcess(cleanup, await tempDir(cleanup, 'peers'), databaseUrl);
      return { server, rooms: await codeshareRooms(server) };
    },
  },
  {
    name: 'codeshare, PGlite',
    framing: 'y-websocket',
    start: async (cleanup) => {
      const server = await startServerProcess(cleanup, await tempDir(cleanup, 'peers'));
      return { server, rooms: await codeshareRooms(server) };
    },
  },
  {
    name: 'Hocuspocus 3 + database extension, PostgreSQL',
    framing: 'hocuspocus',
    start: async (cleanup) => {
      const databaseUrl = await freshPostgresDatabase(cleanup);
      if (!databaseUrl) return null;
      const server = await startListeningProcess(cleanup, 'Hocuspocus', [join(PEERS, 'hocuspocus-server.js')], { DATABASE_URL: databaseUrl });
      return { server, rooms: namedRooms(() => wsUrl(server.url)) };
    },
  },
  {
    name: '@y/websocket-server 0.1.1, memory only',
    framing: 'y-websocket',
    start: async (cleanup) => {
      const server = await startListeningProcess(cleanup, '@y/websocket-server', [join(PEERS, 'y-websocket-server.js')], {});
      return { server, rooms: namedRooms((r) => `${wsUrl(server.url)}/room-${r}`) };
    },
  },
];

interface Figures {
  p50: number;
  p99: number;
  /** Share of the receptions owed that arrived. */
  delivered: number;
  cpuPerEditMs: number;
  rssMiB: number;
  /** The busiest client process's share of a core. */
  clientCpu: number;
}

async function measure(contestant: Contestant, rate: number): Promise<Figures | null> {
  const cleanup = new Cleanup();
  try {
    const started = await contestant.start(cleanup);
    if (!started) return null;
    const { server, rooms } = started;
    const children = Array.from({ length: CLIENT_PROCESSES }, () => fork(join(PEERS, 'relay-clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    cleanup.add('stop the client processes', () => children.forEach((child) => child.kill()));
    const ready = children.map((child) => childMessage<string>(child));
    children.forEach((child, p) => {
      const plan: ClientsPlan = { framing: contestant.framing, rooms: rooms.filter((_, r) => r % CLIENT_PROCESSES === p), rate: rate / CLIENT_PROCESSES, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, drainMs: DRAIN_MS };
      child.send(plan);
    });
    await Promise.all(ready);
    const reports = children.map((child) => childMessage<ClientsReport>(child));
    children.forEach((child) => child.send('go'));
    await sleep(WARMUP_MS);
    const cpuBefore = await treeCpuSecondsOf(server.pid);
    await sleep(MEASURE_MS);
    const rssMiB = await treeRssMiBOf(server.pid);
    const done = await Promise.all(reports);
    // Until the window's edits were delivered: a server behind at the window's end does their
    // work in the drain (and the warm-up's backlog at its start evens that out).
    const cpu = (await treeCpuSecondsOf(server.pid)) - cpuBefore;
    const relay = done.flatMap((report) => report.relay);
    const sent = done.reduce((sum, report) => sum + report.sentInWindow, 0);
    const expected = done.reduce((sum, report) => sum + report.expected, 0);
    return {
      p50: percentile(relay, 50),
      p99: percentile(relay, 99),
      delivered: expected > 0 ? relay.length / expected : 0,
      cpuPerEditMs: (cpu * 1000) / sent,
      rssMiB,
      clientCpu: Math.max(...done.map((report) => report.cpuSeconds / (MEASURE_MS / 1000))),
    };
  } finally {
    await cleanup.runAll();
  }
}

export async function runRelayPeers(): Promise<string> {
  const results = new Map<string, Figures[]>();
  const key = (contestant: Contestant, rate: number) => `${contestant.name}@${rate}`;
  for (let run = 0; run < RUNS; run++) {
    for (const rate of RATES) {
      for (const contestant of CONTESTANTS.filter((c) => c.name.includes(ONLY))) {
        const figures = await measure(contestant, rate);
        if (!figures) continue;
        results.set(key(contestant, rate), [...(results.get(key(contestant, rate)) ?? []), figures]);
        process.stderr.write(`bench relay-peers run ${run + 1}, ${rate}/s, ${contestant.name}: p50 ${ms(figures.p50)}, p99 ${ms(figures.p99)}, delivered ${(figures.delivered * 100).toFixed(1)}%, CPU/edit ${figures.cpuPerEditMs.toFixed(2)} ms\n`);
      }
    }
  }
  const pct = (value: number) => `${(value * 100).toFixed(value >= 0.9995 ? 0 : 1)}%`;
  const sections: string[] = [];
  const sustained = new Map<string, number>();
  for (const rate of RATES) {
    const rows: string[][] = [];
    for (const contestant of CONTESTANTS) {
      const runs = results.get(key(contestant, rate));
      if (!runs) {
        rows.push([contestant.name, 'not run (no PostgreSQL at ' + POSTGRES_ADMIN_URL + ')', '', '', '', '', '']);
        continue;
      }
      const m = (pick: (f: Figures) => number) => median(runs.map(pick));
      const clientCpu = m((f) => f.clientCpu);
      if (m((f) => f.p99) < 50 && m((f) => f.delivered) >= 0.999) sustained.set(contestant.name, rate);
      rows.push([
        contestant.name,
        ms(m((f) => f.p50)),
        ms(m((f) => f.p99)),
        pct(m((f) => f.delivered)),
        `${m((f) => f.cpuPerEditMs).toFixed(2)} ms`,
        `${m((f) => f.rssMiB).toFixed(0)} MiB`,
        `${(clientCpu * 100).toFixed(0)}%${clientCpu > SATURATED ? ' (**saturated**)' : ''}`,
      ]);
    }
    sections.push(`### ${rate.toLocaleString('en-US')} updates/s`, '', table(['server', 'relay p50', 'relay p99', 'delivered', 'server CPU/edit', 'server RSS', 'client CPU'], rows), '');
  }
  return [
    `${ROOMS} rooms × ${CLIENTS_PER_ROOM} clients, one doc a room; small text edits (a ~20-character stamp at a random place) at a steady total rate, ${WARMUP_MS / 1000} s warm-up then ${MEASURE_MS / 1000} s measured. The same raw-frame clients against every server (y-websocket frames; for Hocuspocus the same sync messages behind its document name, after its authentication message), in ${CLIENT_PROCESSES} client processes of whole rooms. Each server is a child process started fresh for each measurement; servers interleaved, ${RUNS} runs, medians.`,
    '',
    '- relay: from the sender\'s edit to another client of the room holding the relayed update (the stamp is read from the update\'s bytes).',
    '- delivered: receptions that arrived of those owed (each edit, to the 9 other clients of its room), within 10 s after the window.',
    "- server CPU/edit: CPU time of the server's whole process tree from the window's start until its edits were delivered, divided by the edits sent in the window.",
    '- server RSS: of its process tree at the end of the window. client CPU: the busiest client process\'s share of a core; above 90% the clients\' own queue is in the latency.',
    '- Durability differs: codeshare appends every update to its log and acknowledges it after the append committed; Hocuspocus\'s database extension stores a debounced snapshot of the whole document (2 s after the last change, at most 10 s apart); @y/websocket-server keeps documents in memory only.',
    '',
    ...sections,
    `Highest rate sustained with p99 under 50 ms and every update delivered, of the rates measured: ${CONTESTANTS.map((c) => `${c.name} ${sustained.has(c.name) ? `${sustained.get(c.name)!.toLocaleString('en-US')}/s` : `none (below ${RATES[0]}/s)`}`).join('; ')}.`,
    '',
    `CPU cores available to all processes: ${cpus().length}.`,
  ].join('\n');
}

export default { name: 'Relay against Hocuspocus and y-websocket', run: runRelayPeers, checkOnly: !!(process.env.BENCH_PEERS_RATES || ONLY) };
