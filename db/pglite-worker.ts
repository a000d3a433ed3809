// The embedded database's thread (see pglite-thread.ts): PGlite, a WebAssembly Postgres, runs
// each statement synchronously on the thread that calls it. Here that is this worker, not the
// server's main thread, so a slow statement delays only what waits for its result, never the
// relaying of live edits. Statements arrive as messages and run one at a time, in order.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, types } from '@electric-sql/pglite';
import { byteaFromHex, byteaToHex, int8AsNumber } from './value-parsers.js';

export interface PgliteWorkerData {
  dataDir: string;
  startParams: string[];
}

export type PgliteRequest = { id: number; sql: string; params: unknown[] } | { id: number; close: true };

export type PgliteReply =
  | { id: number; rows: unknown[]; affectedRows: number | undefined }
  | { id: number; error: { message: string; [field: string]: unknown } }
  | { ready: true }
  | { failed: string };

/** The fields of a database error that callers read (code, detail, constraint...), as plain data. */
function errorFields(err: unknown): { message: string; [field: string]: unknown } {
  if (!(err instanceof Error)) return { message: String(err) };
  const fields: { message: string; [field: string]: unknown } = { message: err.message };
  for (const [key, value] of Object.entries(err)) if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  return fields;
}

async function serve(): Promise<void> {
  const port = parentPort!;
  const { dataDir, startParams } = workerData as PgliteWorkerData;
  const client = new PGlite(dataDir, {
    startParams,
    parsers: { [types.INT8]: int8AsNumber, [types.BYTEA]: byteaFromHex },
    serializers: { [types.BYTEA]: byteaToHex },
  });
  try {
    await client.waitReady;
  } catch (err) {
    port.postMessage({ failed: err instanceof Error ? err.message : String(err) } satisfies PgliteReply);
    return;
  }
  // One statement at a time, in the order they came (PGlite has one session).
  let chain = Promise.resolve();
  port.on('message', (request: PgliteRequest) => {
    chain = chain.then(async () => {
      if ('close' in request) {
        await client.close();
        port.postMessage({ id: request.id, rows: [], affectedRows: undefined } satisfies PgliteReply);
        port.close();
        return;
      }
      try {
        const result = await client.query(request.sql, request.params);
        port.postMessage({ id: request.id, rows: result.rows, affectedRows: result.affectedRows } satisfies PgliteReply);
      } catch (err) {
        port.postMessage({ id: request.id, error: errorFields(err) } satisfies PgliteReply);
      }
    });
  });
  port.postMessage({ ready: true } satisfies PgliteReply);
}

void serve();
