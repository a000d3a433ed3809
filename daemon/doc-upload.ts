// Share's upload of its files' docs (DESIGN.md, Scale: bulk share): records gathered into bodies
// of at most DOC_UPDATES_BODY_BYTES, a few requests in flight, each body's docs marked saved once
// the server stored it. A body that still fails after its retries leaves its docs unsaved: the
// connection sends them when the folder goes live, as it sends any unsaved doc.
import pLimit from 'p-limit';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import { DOC_UPDATES_BODY_BYTES, encodeDocUpdates, encodedSize, type DocUpdate } from '../common/doc-updates.js';
import { HttpError } from '../common/http-client.js';

/** Requests in flight: one being stored while the next travels. */
const REQUESTS_IN_FLIGHT = 2;
/** Bodies waiting for a request at most; past that, add() waits (reading outruns storing). */
const BODIES_WAITING = 2;
const RETRIES = 4;

export class DocUpload {
  private records: DocUpdate[] = [];
  private bytes = 0;
  private readonly requests = pLimit(REQUESTS_IN_FLIGHT);
  private readonly bodies = new Set<Promise<void>>();
  /** Docs whose body could not be stored (they stay unsaved). */
  failedDocs = 0;
  /** The highest feed position the server answered with. */
  position = 0;
  /** Docs added and bodies sent (for the log). */
  docsAdded = 0;
  bodiesSent = 0;

  constructor(
    private readonly send: (body: Uint8Array) => Promise<number>,
    private readonly stored: (docNames: string[]) => void,
    private readonly log: Logger,
  ) {}

  /** Queues a doc's update; waits while enough bodies are already waiting. */
  async add(record: DocUpdate): Promise<void> {
    const size = encodedSize(record);
    if (this.records.length > 0 && this.bytes + size > DOC_UPDATES_BODY_BYTES) this.cut();
    this.records.push(record);
    this.docsAdded++;
    this.bytes += size;
    while (this.bodies.size > REQUESTS_IN_FLIGHT + BODIES_WAITING) await Promise.race(this.bodies);
  }

  /** Resolves once every doc added so far was stored, or given up on (see failedDocs). */
  async finish(): Promise<void> {
    if (this.records.length > 0) this.cut();
    while (this.bodies.size > 0) await Promise.all(this.bodies);
  }

  private cut(): void {
    const records = this.records;
    this.records = [];
    this.bytes = 0;
    const docNames = records.map((record) => record.docName);
    const body = encodeDocUpdates(records);
    this.bodiesSent++;
    const sent = this.requests(() =>
      pRetry(() => this.send(body).catch((err: unknown) => {
        // A refusal of the body itself (4xx) would be refused again: no retry.
        if (err instanceof HttpError && err.status !== undefined && err.status < 500) throw new AbortError(err);
        throw err;
      }), { retries: RETRIES, minTimeout: 200 }),
    ).then(
      (position) => {
        this.position = Math.max(this.position, position);
        this.stored(docNames);
      },
      (err: unknown) => {
        this.failedDocs += docNames.length;
        this.log.warn({ err: (err as Error).message, docs: docNames.length }, 'uploading docs failed; they go by the live connection instead');
      },
    );
    const tracked = sent.finally(() => this.bodies.delete(tracked));
    this.bodies.add(tracked);
  }
}
