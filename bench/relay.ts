// Relay latency of the live rooms under a steady load: 200 multiplexed clients over 20 projects
// (10 a project, each following the project's index and one shared file doc) send small text
// edits at 1,000 updates/s in total. Measured: how long an edit takes from its sender's
// Y.Text to another client's Y.Text (every other client of the project counts), how long
// until the sender holds a `persisted` covering it, the rate achieved, and the server's
// memory per loaded doc.
//
// The server is `codeshare server` as a child process on a temp embedded (PGlite) database;
// the clients run in this process and stamp each edit with performance.now(), so sender and
// receivers read one clock. A receiver notes the stamps it finds in the relayed update's bytes
// (Yjs keeps inserted text verbatim) and applies the update to its doc only just before its own
// next edit: 200 clients in one process applying and observing 9,000 updates a second saturated
// its one thread, and the latency then measured the benchmark's queue, not the server. Applied
// they must be: a client that never saw its teammates' text would insert where the server has
// to resolve ever longer runs of concurrent inserts, work no real session asks of it.
import { cpus } from 'node:os';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { PROTOCOL_VERSION,
  INDEX_DOC,
  decodeFrame,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  fileDocName,
  messagePersisted,
  messageSync,
} from '../common/protocol.js';
import { Cleanup, cpuSecondsOf, freshPostgresDatabase, median, memoryOf, ms, percentile, POSTGRES_ADMIN_URL, seededRandom, sleep, startServerProcess, table, tempDir } from './lib.js';

const PROJECTS = 20;
const CLIENTS_PER_PROJECT = 10;
const UPDATES_PER_SECOND = Number(process.env.BENCH_RELAY_RATE ?? 1000);
const WARMUP_MS = 2000;
const MEASURE_MS = 10_000;
const DRAIN_TIMEOUT_MS = 10_000;
const RUNS = Number(process.env.BENCH_RELAY_RUNS ?? 3);

type Storage = 'PGlite' | 'PostgreSQL';

const FILE_ID = 'shared';
/** Docs loaded on top, to measure what one more loaded doc costs in server memory. */
const EXTRA_DOCS = 1000;
const EXTRA_DOC_BYTES = 2048;
/** What an edit inserts: its send time, e.g. "⟨1234.567⟩". */
const stampOf = (sentAt: number) => `⟨${sentAt.toFixed(3)}⟩`;
/** A stamp in an update's bytes read as latin1 (⟨ and ⟩ are three UTF-8 bytes each). */
const STAMP_BYTES = /\xe2\x9f\xa8(\d+\.\d+)\xe2\x9f\xa9/g;

interface Window {
  start: number;
  end: number;
}

/** What every client reports into, for one run. */
class Recorder {
  readonly relay: number[] = [];
  readonly ack: number[] = [];
  window: Window = { start: Infinity, end: Infinity };

  inWindow(sentAt: number): boolean {
    return sentAt >= this.window.start && sentAt < this.window.end;
  }
}

/** One multiplexed connection following the project's index and its shared file doc. */
class RelayClient {
  private readonly index = new Y.Doc();
  private readonly file = new Y.Doc();
  private readonly text = this.file.getText('content');
  private readonly fileDoc = fileDocName(FILE_ID);
  /** The sender's own clock after each edit not yet acknowledged, with its send time. */
  private readonly unacked: { clock: number; sentAt: number }[] = [];
  private readonly subscribed = new Set<string>();
  /** Teammates' updates received since this client's last edit, applied before its next one. */
  private pending: Uint8Array[] = [];
  private onSubscribed: (() => void) | null = null;

  private constructor(
    private readonly socket: WebSocket,
    private readonly recorder: Recorder,
    private readonly random: () => number,
  ) {
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer) => this.onFrame(new Uint8Array(data)));
    this.file.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== 'remote') socket.send(encodeUpdate(this.fileDoc, update));
    });
  }

  /** A relayed update of the file doc: every stamp in it is an edit that reached this client. */
  private received(update: Uint8Array): void {
    this.pending.push(update);
    const now = performance.now();
    for (const match of Buffer.from(update.buffer, update.byteOffset, update.byteLength).toString('latin1').matchAll(STAMP_BYTES)) {
      const sentAt = Number(match[1]);
      if (this.recorder.inWindow(sentAt)) this.recorder.relay.push(now - sentAt);
    }
  }

  static async connect(baseUrl: string, projectId: string, token: string, recorder: Recorder, random: () => number): Promise<RelayClient> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/projects/${projectId}/ws?protocol=${PROTOCOL_VERSION}`, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    const client = new RelayClient(socket, recorder, random);
    await client.subscribe();
    return client;
  }

  /** Resolves once the server answered both subscriptions with their state and `persisted`. */
  private subscribe(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.onSubscribed = resolve;
    });
    this.socket.send(encodeSyncStep1(INDEX_DOC, this.index));
    this.socket.send(encodeSyncStep1(this.fileDoc, this.file));
    return done;
  }

  private onFrame(data: Uint8Array): void {
    const frame = decodeFrame(data);
    const doc = frame.docName === INDEX_DOC ? this.index : this.file;
    if (frame.type === messageSync) {
      if (frame.sync.kind === 'step1') {
        this.socket.send(encodeSyncStep2(frame.docName, Y.encodeStateAsUpdate(doc, frame.sync.stateVector)));
      } else if (frame.docName === this.fileDoc) {
        this.received(frame.sync.update);
      }
    } else if (frame.type === messagePersisted) {
      if (!this.subscribed.has(frame.docName)) {
        this.subscribed.add(frame.docName);
        if (this.subscribed.size === 2) this.onSubscribed?.();
      }
      if (frame.docName !== this.fileDoc) return;
      const acked = Y.decodeStateVector(frame.stateVector).get(this.file.clientID) ?? 0;
      const now = performance.now();
      while (this.unacked.length > 0 && this.unacked[0]!.clock <= acked) {
        const { sentAt } = this.unacked.shift()!;
        if (this.recorder.inWindow(sentAt)) this.recorder.ack.push(now - sentAt);
      }
    }
  }

  /** One small edit at a random place, stamped with its send time. */
  edit(): number {
    if (this.pending.length > 0) {
      const updates = this.pending;
      this.pending = [];
      this.file.transact(() => {
        for (const update of updates) Y.applyUpdate(this.file, update, 'remote');
      }, 'remote');
    }
    const sentAt = performance.now();
    this.text.insert(Math.floor(this.random() * (this.text.length + 1)), stampOf(sentAt));
    this.unacked.push({ clock: Y.decodeStateVector(Y.encodeStateVector(this.file)).get(this.file.clientID) ?? 0, sentAt });
    return sentAt;
  }

  close(): Promise<void> {
    this.index.destroy();
    this.file.destroy();
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/**
 * One client subscribes to EXTRA_DOCS new file docs and writes EXTRA_DOC_BYTES of text into
 * each; resolves once the server acknowledged every one (all loaded, all stored).
 */
async function loadExtraDocs(baseUrl: string, projectId: string, token: string): Promise<WebSocket> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/projects/${projectId}/ws?protocol=${PROTOCOL_VERSION}`, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const docs = new Map<string, Y.Doc>();
  const acked = new Set<string>();
  const line = 'export const value = computeSomething(input, options); // a line of code\n';
  const text = line.repeat(Math.ceil(EXTRA_DOC_BYTES / line.length)).slice(0, EXTRA_DOC_BYTES);
  const done = new Promise<void>((resolve) => {
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(new Uint8Array(data));
      const doc = docs.get(frame.docName);
      if (!doc) return;
      if (frame.type === messageSync && frame.sync.kind === 'step1') {
        socket.send(encodeSyncStep2(frame.docName, Y.encodeStateAsUpdate(doc, frame.sync.stateVector)));
      } else if (frame.type === messagePersisted && (Y.decodeStateVector(frame.stateVector).get(doc.clientID) ?? 0) > 0) {
        acked.add(frame.docName);
        if (acked.size === EXTRA_DOCS) resolve();
      }
    });
  });
  for (let i = 0; i < EXTRA_DOCS; i++) {
    const docName = fileDocName(`extra${i}`);
    const doc = new Y.Doc();
    docs.set(docName, doc);
    socket.send(encodeSyncStep1(docName, doc));
    doc.getText('content').insert(0, text);
    socket.send(encodeUpdate(docName, Y.encodeStateAsUpdate(doc)));
  }
  await done;
  for (const doc of docs.values()) doc.destroy();
  // The docs stay loaded while their subscriber is there: the caller closes it.
  return socket;
}

async function api(baseUrl: string, token: string | null, method: string, path: string, body: unknown): Promise<any> {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

interface RunFigures {
  relayP50: number;
  relayP99: number;
  ackP50: number;
  ackP99: number;
  /** Edits sent per second in the measured window. */
  sentPerSecond: number;
  /** Edits that reached another client, per second. */
  deliveredPerSecond: number;
  /** Receptions expected but missing once the drain timed out. */
  undelivered: number;
  rssMiB: number;
  /** Server RSS growth per loaded doc, from EXTRA_DOCS more docs of EXTRA_DOC_BYTES each. */
  rssPerDocKiB: number;
  serverCpu: number;
  clientCpu: number;
  /** Server CPU time per edit, from the first connection to the end of the drain. */
  serverCpuPerUpdateMs: number;
}

async function runOnce(seed: number, storage: Storage): Promise<RunFigures | null> {
  const cleanup = new Cleanup();
  try {
    const dataDir = await tempDir(cleanup, 'relay');
    const databaseUrl = storage === 'PostgreSQL' ? await freshPostgresDatabase(cleanup) : undefined;
    if (databaseUrl === null) return null;
    const server = await startServerProcess(cleanup, dataDir, databaseUrl);
    const users: { name: string; token: string }[] = [];
    for (let i = 0; i < CLIENTS_PER_PROJECT; i++) {
      const name = `relay${i}`;
      users.push({ name, token: (await api(server.url, null, 'POST', '/api/auth/open', { username: name })).token });
    }
    const owner = users[0]!;
    const projectIds: string[] = [];
    for (let p = 0; p < PROJECTS; p++) {
      const project = await api(server.url, owner.token, 'POST', '/api/projects', { name: `relay-${p}` });
      for (const user of users.slice(1)) {
        await api(server.url, owner.token, 'POST', `/api/projects/${project.id}/members`, { username: user.name, role: 'editor' });
      }
      projectIds.push(project.id);
    }

    const serverCpuBefore = await cpuSecondsOf(server.pid);
    const recorder = new Recorder();
    const random = seededRandom(seed);
    // Interleaved by project, so a round of sends touches every project.
    const clients: RelayClient[] = [];
    cleanup.add('close the clients', () => Promise.all(clients.map((c) => c.close())));
    for (let i = 0; i < CLIENTS_PER_PROJECT; i++) {
      const connected = await Promise.all(
        projectIds.map((projectId) => RelayClient.connect(server.url, projectId, users[i]!.token, recorder, random)),
      );
      clients.push(...connected);
    }

    // A steady total rate: each tick sends what the clock says is due, round robin.
    const started = performance.now();
    recorder.window = { start: started + WARMUP_MS, end: started + WARMUP_MS + MEASURE_MS };
    let sent = 0;
    let sentInWindow = 0;
    let serverCpuAtStart = 0;
    let clientCpuAtStart = process.cpuUsage();
    let windowStarted = false;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        if (!windowStarted && now >= recorder.window.start) {
          windowStarted = true;
          clientCpuAtStart = process.cpuUsage();
          void cpuSecondsOf(server.pid).then((s) => (serverCpuAtStart = s));
        }
        if (now >= recorder.window.end) {
          clearInterval(timer);
          resolve();
          return;
        }
        const due = Math.floor(((now - started) * UPDATES_PER_SECOND) / 1000);
        for (; sent < due; sent++) {
          const sentAt = clients[sent % clients.length]!.edit();
          if (recorder.inWindow(sentAt)) sentInWindow++;
        }
      }, 2);
    });
    const serverCpu = (await cpuSecondsOf(server.pid)) - serverCpuAtStart;
    const clientUsage = process.cpuUsage(clientCpuAtStart);
    const rss = await memoryOf(server.pid);

    // Every edit of the window reaches the other clients of its project.
    const expected = sentInWindow * (CLIENTS_PER_PROJECT - 1);
    const drainDeadline = performance.now() + DRAIN_TIMEOUT_MS;
    while (recorder.relay.length < expected && performance.now() < drainDeadline) await sleep(50);
    while (recorder.ack.length < sentInWindow && performance.now() < drainDeadline) await sleep(50);
    const serverCpuTotal = (await cpuSecondsOf(server.pid)) - serverCpuBefore;

    // What one more loaded doc costs: RSS before and after loading EXTRA_DOCS more.
    const beforeExtra = await memoryOf(server.pid);
    const loader = await loadExtraDocs(server.url, projectIds[0]!, owner.token);
    cleanup.add('close the doc loader', () => loader.close());
    await sleep(1000);
    const afterExtra = await memoryOf(server.pid);

    return {
      relayP50: percentile(recorder.relay, 50),
      relayP99: percentile(recorder.relay, 99),
      ackP50: percentile(recorder.ack, 50),
      ackP99: percentile(recorder.ack, 99),
      sentPerSecond: sentInWindow / (MEASURE_MS / 1000),
      deliveredPerSecond: recorder.relay.length / (CLIENTS_PER_PROJECT - 1) / (MEASURE_MS / 1000),
      undelivered: expected - recorder.relay.length,
      rssMiB: rss.rssMiB,
      rssPerDocKiB: ((afterExtra.rssMiB - beforeExtra.rssMiB) * 1024) / EXTRA_DOCS,
      serverCpu: serverCpu / (MEASURE_MS / 1000),
      clientCpu: (clientUsage.user + clientUsage.system) / 1e6 / (MEASURE_MS / 1000),
      serverCpuPerUpdateMs: (serverCpuTotal * 1000) / sent,
    };
  } finally {
    await cleanup.runAll();
  }
}

export async function runRelay(): Promise<string> {
  const sections: string[] = [];
  for (const storage of ['PGlite', 'PostgreSQL'] as const) {
    const runs: RunFigures[] = [];
    for (let run = 0; run < RUNS; run++) {
      const figures = await runOnce(0x5eed + run, storage);
      if (figures) runs.push(figures);
    }
    sections.push(`### On ${storage}`, '', runs.length > 0 ? relayTable(runs) : `Not run: no PostgreSQL answered at ${POSTGRES_ADMIN_URL} (BENCH_POSTGRES_URL).`, '');
  }
  return [
    `${PROJECTS} projects × ${CLIENTS_PER_PROJECT} multiplexed clients (${PROJECTS * CLIENTS_PER_PROJECT} sockets), each following the project's index and one shared file doc; ` +
      `small text edits (a ~15-character stamp at a random place) at a steady ${UPDATES_PER_SECOND} updates/s in total for ${MEASURE_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up. ` +
      `Server: \`codeshare server\` child process, on embedded PGlite and on this machine's PostgreSQL (a new database each run); clients in the benchmark process. ${RUNS} runs each, each on a fresh server. Aim: relay p99 under 20 ms.`,
    '',
    '- relay: from the sender\'s edit to another client holding the relayed update (every other client of the project is a sample; the receiver reads the stamp from the update\'s bytes and applies it before its own next edit, see bench/relay.ts).',
    '- ack: from the edit to the sender holding a `persisted` that covers it (the update log append committed).',
    '- delivered/s: edits that reached the other clients, per second; undelivered: receptions missing 10 s after the window.',
    `- server RSS: at the end of the window (${PROJECTS * 2} docs, ${PROJECTS * CLIENTS_PER_PROJECT} sockets); on PGlite most of it is its WebAssembly Postgres, there before any client.`,
    `- RSS/doc: after the drain one client loads ${EXTRA_DOCS} more file docs of ${EXTRA_DOC_BYTES / 1024} KiB text each (stored and acknowledged); RSS growth / ${EXTRA_DOCS}.`,
    '- CPU: share of one core over the window, server process and benchmark (client) process. On a shared machine a process gets less than it asks for, and latency then measures the queue.',
    `- server CPU/edit: the server's CPU time from the first connection to the end of the drain, divided by the edits sent (each applied, relayed to ${CLIENTS_PER_PROJECT - 1} sockets, logged, acknowledged, materialised): the figure the machine's load does not change. One core at that cost relays 1000 / it edits a second.`,
    '',
    ...sections,
    `CPU cores available to all processes: ${cpus().length}.`,
  ].join('\n');
}

function relayTable(runs: RunFigures[]): string {
  const mib = (value: number) => `${value.toFixed(0)} MiB`;
  const kib = (value: number) => `${value.toFixed(0)} KiB`;
  const pct = (value: number) => `${(value * 100).toFixed(0)}%`;
  const row = (label: string, f: RunFigures) => [
    label,
    ms(f.relayP50),
    ms(f.relayP99),
    ms(f.ackP50),
    ms(f.ackP99),
    f.sentPerSecond.toFixed(0),
    f.deliveredPerSecond.toFixed(0),
    f.undelivered,
    mib(f.rssMiB),
    kib(f.rssPerDocKiB),
    pct(f.serverCpu),
    pct(f.clientCpu),
    `${f.serverCpuPerUpdateMs.toFixed(2)} ms`,
  ];
  const pick = (key: keyof RunFigures) => median(runs.map((r) => r[key]));
  const medians = Object.fromEntries((Object.keys(runs[0]!) as (keyof RunFigures)[]).map((key) => [key, pick(key)])) as unknown as RunFigures;
  return table(
    ['run', 'relay p50', 'relay p99', 'ack p50', 'ack p99', 'sent/s', 'delivered/s', 'undelivered', 'server RSS', 'RSS/doc', 'server CPU', 'client CPU', 'server CPU/edit'],
    [...runs.map((f, i) => row(`${i + 1}`, f)), row('**median**', medians)],
  );
}

export default { name: 'Relay latency of the live rooms', run: runRelay };
