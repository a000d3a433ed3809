// Share's upload of its docs (daemon/doc-upload.ts) against a real HTTP server that stands in
// for a struggling codeshare server: bodies cut below the limit, a failing body retried, a
// refused one given up on at once, and every doc accounted for either way.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DOC_UPDATES_BODY_BYTES, decodeDocUpdates } from '../../common/doc-updates.js';
import { DocUpload } from '../../daemon/doc-upload.js';
import { ProjectApi } from '../../daemon/project-api.js';

const log = pino({ level: 'silent' });

interface Stand {
  url: string;
  bodies: string[][];
  close(): Promise<void>;
}

/** Answers each POST with the next status of `statuses` (then 200), recording the docs it got. */
async function standIn(statuses: number[]): Promise<Stand> {
  const bodies: string[][] = [];
  let position = 0;
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const records = decodeDocUpdates(Buffer.concat(chunks));
    const status = statuses.shift() ?? 200;
    response.writeHead(status, { 'content-type': 'application/json' });
    if (status !== 200) {
      response.end(JSON.stringify({ error: { code: 'CS_ERR_TEST', message: `answered ${status}` } }));
      return;
    }
    bodies.push(records.map((record) => record.docName));
    position += records.length;
    response.end(JSON.stringify({ stored: records.length, position }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let stand: Stand | null = null;
afterEach(async () => {
  await stand?.close();
  stand = null;
});

function upload(url: string, saved: string[]): DocUpload {
  const api = new ProjectApi(url, 'token');
  return new DocUpload((body) => api.storeUpdates('p', body), (docNames) => saved.push(...docNames), log);
}

describe('the upload of share\'s docs', () => {
  it('cuts bodies below the limit and marks every doc saved once its body is stored', async () => {
    stand = await standIn([]);
    const saved: string[] = [];
    const uploading = upload(stand.url, saved);
    const update = new Uint8Array(300 * 1024).fill(7);
    const names = Array.from({ length: 60 }, (_, i) => `file:doc${i}`);
    for (const docName of names) await uploading.add({ docName, update });
    await uploading.finish();
    expect(saved.sort()).toEqual([...names].sort());
    expect(stand.bodies.length).toBeGreaterThan(1);
    expect(Math.max(...stand.bodies.map((body) => body.length * update.byteLength))).toBeLessThanOrEqual(DOC_UPDATES_BODY_BYTES);
    expect(uploading.position).toBe(60);
    expect(uploading.failedDocs).toBe(0);
  });

  it('retries a body the server could not store, and gives up at once on one it refused', async () => {
    stand = await standIn([503, 503]);
    const saved: string[] = [];
    const retried = upload(stand.url, saved);
    await retried.add({ docName: 'file:a', update: Uint8Array.of(1) });
    await retried.finish();
    expect(saved).toEqual(['file:a']);

    await stand.close();
    stand = await standIn([400]);
    const refusedSaved: string[] = [];
    const refused = upload(stand.url, refusedSaved);
    await refused.add({ docName: 'file:b', update: Uint8Array.of(1) });
    await refused.finish();
    // Left unsaved: the live connection sends it when the folder goes live.
    expect(refusedSaved).toEqual([]);
    expect(refused.failedDocs).toBe(1);
    expect(stand.bodies).toEqual([]);
  });
});
