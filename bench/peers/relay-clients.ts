// A process of bench/relay-peers.ts's clients: whole rooms, so a room's sender and receivers read
// one clock. Raw-frame clients, the same against every server: y-websocket frames (codeshare's
// /yjs endpoint, @y/websocket-server) or the same sync messages behind Hocuspocus's document name
// and its authentication message. Each edit inserts a stamp (its sender and send time) into the
// room's Y.Text; a receiver reads the stamps from the relayed update's bytes (Yjs keeps inserted
// text verbatim) and applies teammates' updates just before its own next edit (see bench/relay.ts).
//
// Forked with IPC: gets a ClientsPlan, answers 'ready' once every client synced, starts on 'go',
// and answers a ClientsReport once the window's edits were delivered or the drain timed out.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';

export type Framing = 'y-websocket' | 'hocuspocus';

export interface ClientsPlan {
  framing: Framing;
  /** Each room's doc name (Hocuspocus's document name) and the URL of each of its clients. */
  rooms: { docName: string; urls: string[]; token: string }[];
  /**
   * Which server instance each client index connects to (bench/scale-out.ts), so receptions
   * are also told apart as within an instance or across; absent: one server.
   */
  instanceOfClient?: number[];
  /** Edits per second this process sends, over all its rooms. */
  rate: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
}

export interface ClientsReport {
  /** Relay latencies (ms) of the window's edits, one per receiving client. */
  relay: number[];
  /** The same, split by whether sender and receiver were on one instance (with instanceOfClient). */
  relaySame: number[];
  relayAcross: number[];
  sentInWindow: number;
  /** Receptions the window's edits owe (each edit, to every other client of its room). */
  expected: number;
  /** This process's CPU seconds over the window. */
  cpuSeconds: number;
}

const SYNC = 0;
const HOCUSPOCUS_AUTH = 2;
const HOCUSPOCUS_SYNC_REPLY = 4;
const STEP1 = 0;
const STEP2 = 1;
const UPDATE = 2;
/** ⟨client:time⟩ in latin1 (⟨ and ⟩ are three UTF-8 bytes each). */
const STAMP_BYTES = /\xe2\x9f\xa8(\d+):(\d+\.\d+)\xe2\x9f\xa9/g;

interface Relay {
  all: number[];
  same: number[];
  across: number[];
  instanceOf(client: number): number;
}

class RawClient {
  private readonly doc = new Y.Doc();
  private readonly text = this.doc.getText('content');
  private pending: Uint8Array[] = [];
  private synced!: () => void;
  readonly ready = new Promise<void>((resolve) => (this.synced = resolve));

  constructor(
    private readonly socket: WebSocket,
    private readonly framing: Framing,
    private readonly docName: string,
    private readonly id: number,
    private readonly window: { start: number; end: number },
    private readonly relay: Relay,
  ) {
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer) => this.onFrame(new Uint8Array(data)));
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== 'remote') this.send(UPDATE, update);
    });
  }

  static async connect(url: string, framing: Framing, docName: string, token: string, id: number, window: RawClient['window'], relay: Relay): Promise<RawClient> {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    });
    const client = new RawClient(socket, framing, docName, id, window, relay);
    if (framing === 'hocuspocus') {
      const auth = client.encoder(HOCUSPOCUS_AUTH);
      encoding.writeVarUint(auth, 0);
      encoding.writeVarString(auth, token);
      socket.send(encoding.toUint8Array(auth));
    }
    client.send(STEP1, Y.encodeStateVector(client.doc));
    await client.ready;
    return client;
  }

  private encoder(type: number): encoding.Encoder {
    const encoder = encoding.createEncoder();
    if (this.framing === 'hocuspocus') encoding.writeVarString(encoder, this.docName);
    encoding.writeVarUint(encoder, type);
    return encoder;
  }

  private send(syncType: number, payload: Uint8Array): void {
    const encoder = this.encoder(SYNC);
    encoding.writeVarUint(encoder, syncType);
    encoding.writeVarUint8Array(encoder, payload);
    this.socket.send(encoding.toUint8Array(encoder));
  }

  private onFrame(data: Uint8Array): void {
    const decoder = decoding.createDecoder(data);
    if (this.framing === 'hocuspocus') decoding.readVarString(decoder);
    const type = decoding.readVarUint(decoder);
    if (type === HOCUSPOCUS_AUTH && this.framing === 'hocuspocus' && decoding.readVarUint(decoder) === 1) throw new Error('Hocuspocus refused the connection');
    if (type !== SYNC && !(type === HOCUSPOCUS_SYNC_REPLY && this.framing === 'hocuspocus')) return;
    const syncType = decoding.readVarUint(decoder);
    const payload = decoding.readVarUint8Array(decoder);
    if (syncType === STEP1) this.send(STEP2, Y.encodeStateAsUpdate(this.doc, payload));
    else {
      this.received(payload);
      if (syncType === STEP2) this.synced();
    }
  }

  /** A relayed update: every teammate's stamp in it is an edit that reached this client. */
  private received(update: Uint8Array): void {
    this.pending.push(update);
    const now = performance.now();
    for (const match of Buffer.from(update.buffer, update.byteOffset, update.byteLength).toString('latin1').matchAll(STAMP_BYTES)) {
      const sentAt = Number(match[2]);
      const sender = Number(match[1]);
      if (sender === this.id || sentAt < this.window.start || sentAt >= this.window.end) continue;
      this.relay.all.push(now - sentAt);
      (this.relay.instanceOf(sender) === this.relay.instanceOf(this.id) ? this.relay.same : this.relay.across).push(now - sentAt);
    }
  }

  /** One small edit at a random place, stamped with this client and its send time. */
  edit(random: () => number): number {
    if (this.pending.length > 0) {
      const updates = this.pending;
      this.pending = [];
      this.doc.transact(() => updates.forEach((update) => Y.applyUpdate(this.doc, update, 'remote')), 'remote');
    }
    const sentAt = performance.now();
    this.text.insert(Math.floor(random() * (this.text.length + 1)), `⟨${this.id}:${sentAt.toFixed(3)}⟩`);
    return sentAt;
  }

  close(): void {
    this.socket.terminate();
    this.doc.destroy();
  }
}

async function run(plan: ClientsPlan): Promise<void> {
  const relay: Relay = { all: [], same: [], across: [], instanceOf: (client) => plan.instanceOfClient?.[client] ?? 0 };
  const window = { start: Infinity, end: Infinity };
  const clients: RawClient[] = [];
  // Interleaved by room, so a round of sends touches every room.
  const perRoom = plan.rooms[0]!.urls.length;
  for (let i = 0; i < perRoom; i++) {
    clients.push(...(await Promise.all(plan.rooms.map((room) => RawClient.connect(room.urls[i]!, plan.framing, room.docName, room.token, i, window, relay)))));
  }
  process.send!('ready');
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  let seed = 0x5eed;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const started = performance.now();
  window.start = started + plan.warmupMs;
  window.end = window.start + plan.measureMs;
  let sent = 0;
  let sentInWindow = 0;
  let cpuAtStart: NodeJS.CpuUsage | null = null;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (!cpuAtStart && now >= window.start) cpuAtStart = process.cpuUsage();
      if (now >= window.end) {
        clearInterval(timer);
        resolve();
        return;
      }
      for (const due = Math.floor(((now - started) * plan.rate) / 1000); sent < due; sent++) {
        const sentAt = clients[sent % clients.length]!.edit(random);
        if (sentAt >= window.start && sentAt < window.end) sentInWindow++;
      }
    }, 2);
  });
  const cpu = process.cpuUsage(cpuAtStart ?? undefined);
  const expected = sentInWindow * (perRoom - 1);
  const deadline = performance.now() + plan.drainMs;
  while (relay.all.length < expected && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const report: ClientsReport = { relay: relay.all, relaySame: relay.same, relayAcross: relay.across, sentInWindow, expected, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  process.send!(report, () => {
    for (const client of clients) client.close();
    process.exit(0);
  });
}

process.once('message', (plan: ClientsPlan) => {
  run(plan).catch((err: unknown) => {
    process.stderr.write(`relay clients: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
});
