// A raw multiplexed-protocol client for tests: real WebSocket, real Y.Docs, and a record of
// every denied and persisted frame it received.
import WebSocket from 'ws';
import * as Y from 'yjs';
import { PROTOCOL_VERSION,
  decodeFrame,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  messageDenied,
  messagePersisted,
  messageSync,
  messageAwareness,
} from '../../common/protocol.js';

export class LiveTestClient {
  readonly docs = new Map<string, Y.Doc>();
  readonly denied: { docName: string; reason: string }[] = [];
  readonly persisted = new Map<string, Uint8Array>();
  readonly awareness: Uint8Array[] = [];
  closeCode: number | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer) => this.onFrame(new Uint8Array(data)));
    socket.on('close', (code) => {
      this.closeCode = code;
      this.notify();
    });
  }

  static async connect(baseUrl: string, projectId: string, token: string): Promise<LiveTestClient> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/projects/${encodeURIComponent(projectId)}/ws?protocol=${PROTOCOL_VERSION}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    return new LiveTestClient(socket);
  }

  doc(docName: string): Y.Doc {
    let doc = this.docs.get(docName);
    if (!doc) {
      doc = new Y.Doc();
      this.docs.set(docName, doc);
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin !== this) this.socket.send(encodeUpdate(docName, update));
      });
    }
    return doc;
  }

  subscribe(docName: string): Y.Doc {
    const doc = this.doc(docName);
    this.socket.send(encodeSyncStep1(docName, doc));
    return doc;
  }

  send(frame: Uint8Array): void {
    this.socket.send(frame);
  }

  private onFrame(data: Uint8Array): void {
    const frame = decodeFrame(data);
    if (frame.type === messageSync) {
      const doc = this.doc(frame.docName);
      if (frame.sync.kind === 'step1') {
        this.socket.send(encodeSyncStep2(frame.docName, Y.encodeStateAsUpdate(doc, frame.sync.stateVector)));
      } else {
        Y.applyUpdate(doc, frame.sync.update, this);
      }
    } else if (frame.type === messageDenied) {
      this.denied.push({ docName: frame.docName, reason: frame.reason });
    } else if (frame.type === messagePersisted) {
      this.persisted.set(frame.docName, frame.stateVector);
    } else if (frame.type === messageAwareness) {
      this.awareness.push(frame.update);
    }
    this.notify();
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves when `check` holds, re-checked after every frame; rejects after `ms`. */
  async until(check: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('condition not met in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Waits until the server acknowledged this client's own edits to the doc. `persisted` goes
   * to the sender of an edit, so edits relayed from others are covered only by chance.
   */
  async untilPersisted(docName: string, ms = 5000): Promise<void> {
    const doc = this.doc(docName);
    await this.until(() => {
      const sv = this.persisted.get(docName);
      if (!sv) return false;
      const own = Y.decodeStateVector(Y.encodeStateVector(doc)).get(doc.clientID) ?? 0;
      return (Y.decodeStateVector(sv).get(doc.clientID) ?? 0) >= own;
    }, ms);
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}
