// The embedded database (PGlite) in a worker thread of its own (pglite-worker.ts), seen from the
// server's thread as the client kysely-pglite-dialect drives: `query(sql, params)` and `close()`.
// PGlite runs a statement synchronously on the thread that calls it; on the main thread a
// 50 ms statement was 50 ms in which no live edit was relayed (issue: PGlite's appends on the
// main thread set the relay's tail under load).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PgliteReply, PgliteRequest, PgliteWorkerData } from './pglite-worker.js';

interface QueryResult {
  rows: unknown[];
  affectedRows?: number;
}

/** The built worker beside this module; run from the sources (the tests), the built one in dist/. */
function workerScript(): URL {
  const beside = new URL('./pglite-worker.js', import.meta.url);
  return existsSync(fileURLToPath(beside)) ? beside : new URL('../dist/db/pglite-worker.js', import.meta.url);
}

export class PgliteThread {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (result: QueryResult) => void; reject: (err: Error) => void }>();
  private stopped: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: PgliteReply) => {
      if (!('id' in reply)) return;
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if ('error' in reply) waiter?.reject(Object.assign(new Error(reply.error.message), reply.error));
      else waiter?.resolve({ rows: reply.rows.map(withBuffers), ...(reply.affectedRows !== undefined ? { affectedRows: reply.affectedRows } : {}) });
    });
    const stop = (err: Error) => {
      this.stopped ??= err;
      for (const waiter of this.waiting.values()) waiter.reject(this.stopped);
      this.waiting.clear();
    };
    worker.on('error', (err) => stop(new Error(`the embedded database stopped: ${err.message}`)));
    worker.on('exit', (code) => stop(new Error(`the embedded database's thread exited (${code})`)));
  }

  /** Opens PGlite on `dataDir` in its thread; resolves once it is ready. */
  static async start(data: PgliteWorkerData): Promise<PgliteThread> {
    const worker = new Worker(workerScript(), { workerData: data });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: PgliteReply) => {
        if ('ready' in reply) resolve();
        else if ('failed' in reply) reject(new Error(`the embedded database did not open: ${reply.failed}`));
        else return;
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the embedded database's thread exited (${code}) while opening`)));
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    return new PgliteThread(worker);
  }

  query(sql: string, params: unknown[] = []): Promise<QueryResult> {
    return this.request({ id: this.nextId++, sql, params });
  }

  /** Closes the database (its files consistent), then the thread. */
  async close(): Promise<void> {
    if (this.stopped) return;
    await this.request({ id: this.nextId++, close: true }).catch(() => undefined);
    await this.worker.terminate();
  }

  private request(request: PgliteRequest): Promise<QueryResult> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      this.waiting.set(request.id, { resolve, reject });
      this.worker.postMessage(request);
    });
  }
}

/** bytea values arrive as Uint8Array (a Buffer does not survive the message): Buffers, as from pg. */
function withBuffers(row: unknown): unknown {
  if (row && typeof row === 'object') {
    const record = row as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const value = record[key];
      if (value instanceof Uint8Array && !Buffer.isBuffer(value)) record[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return row;
}
