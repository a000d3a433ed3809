// The folder's durable local state: every doc the folder follows, in y-leveldb, and what the
// disk held when it last agreed with the docs ("bases", base-store.ts). Edits made offline or
// while the daemon was down are found at start by comparing the disk with these bases, and
// synced by state vector, not by re-sending the project.
//
// y-leveldb runs every operation through one promise chain, one after the other: a share or a
// join of 5,000 files queued 20,000 of them (seconds of waiting). So bases, which change with
// every file written, are kept apart (a LevelDB of their own); and a doc this store has never
// held is created empty without asking LevelDB.
//
// Which docs the store holds is listed after the start, not during it: listing 40,000 docs took
// 0.2 s of a reconnect's 1.1 s. Until then a doc not stored by this run is treated as possibly
// stored (y-leveldb's own reads and writes, right for both); a store empty at open needs no list.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { Logger } from 'pino';
import { LeveldbPersistence } from 'y-leveldb';
import { BaseStore } from './base-store.js';
import { STORED_ORIGIN, isFromServer } from './origins.js';
import { fileIdOfDoc } from '../common/protocol.js';
import * as Y from 'yjs';

/**
 * Records of our own beside y-leveldb's (whose keys start 'v1'), written through its chain so
 * they land in order with the doc updates: the feed position after the updates it covers, a
 * doc's marks before the update that set them: "unsaved" (a local change the server has not
 * acknowledged) and "unwritten" (a teammate's change not yet written to the disk).
 */
const FEED_POSITION_KEY = ['cs_feed_position'];
/** Present once every teammate's change not yet on disk carries its "unwritten" mark (see tracksUnwritten). */
const TRACKS_UNWRITTEN_KEY = ['cs_tracks_unwritten'];
/** The state vector of a doc with nothing in it (what Y.encodeStateVector(new Y.Doc()) gives). */
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Map());
type MarkKind = 'unsaved' | 'unwritten';
const MARK_PREFIX: Record<MarkKind, string> = { unsaved: 'cs_unsaved', unwritten: 'cs_unwritten' };
/** Docs kept as the updates that made them until their first load (see arrivedDocs). */
const ARRIVED_DOCS_KEPT = 50_000;


/**
 * The names under one key prefix: y-leveldb's doc records ('v1_sv', one state vector per doc,
 * as its getAllDocNames reads them) or our marks. The range ends just past the prefix (same
 * length, last letter +1), as y-leveldb bounds its own ranges.
 */
async function namesUnder(db: LevelWithKeys, prefix: string, options: { limit?: number } = {}): Promise<string[]> {
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  return (await db.keys({ gte: [prefix], lt: [end], ...options }).all()).map((key) => String(key[1]));
}

interface LevelWithKeys {
  keys(options: { gte: unknown[]; lt: unknown[]; limit?: number }): { all(): Promise<unknown[][]> };
}

/** y-leveldb's prefix of the record every stored doc has. */
const DOC_RECORD_PREFIX = 'v1_sv';

export class LocalStore {
  private readonly docs: LeveldbPersistence;
  private readonly bound = new Map<Y.Doc, (update: Uint8Array, origin: unknown) => void>();
  /** Docs stored here: listed (see listStoredDocs) or stored by this run. */
  private readonly knownDocs = new Set<string>();
  /** Whether knownDocs holds every stored doc, so any other is new and starts empty. */
  private listed = false;
  private listing: Promise<void> | null = null;
  /** Docs marked in the store, by kind (see markUnsaved, markUnwritten), so a mark is written once, not per keystroke. */
  private marks: Record<MarkKind, Set<string>> = { unsaved: new Set(), unwritten: new Set() };
  private pendingMarks: Map<string, { kind: MarkKind; docName: string; on: boolean }> | null = null;
  private tracksUnwrittenNow = false;
  /**
   * Docs that came into the store from teammates' updates alone and were not loaded since: their
   * updates, so the load that follows (the file is written at once) reads nothing back.
   */
  private readonly arrivedDocs = new Map<string, Uint8Array[]>();
  /** New docs gathered for one LevelDB batch, while that batch waits its turn (see storeNewDoc). */
  private newDocs: { ops: { type: 'put'; key: (string | number)[]; value: Buffer }[]; stored: Promise<void> } | null = null;

  private constructor(
    readonly dir: string,
    /** What the disk held at each path when it last agreed with the docs. */
    readonly bases: BaseStore,
  ) {
    this.docs = new LeveldbPersistence(join(dir, 'docs'));
  }

  static async open(dir: string, log?: Logger): Promise<LocalStore> {
    await mkdir(dir, { recursive: true });
    const store = new LocalStore(dir, await BaseStore.open(dir, log));
    store.listed = (await store.docs._transact((db) => namesUnder(db, DOC_RECORD_PREFIX, { limit: 1 }))).length === 0;
    store.marks = { unsaved: await store.loadMarks('unsaved'), unwritten: await store.loadMarks('unwritten') };
    store.tracksUnwrittenNow = (await store.record(TRACKS_UNWRITTEN_KEY)) !== undefined;
    // A store with no docs has no teammate's change unwritten: it tracks them from the start.
    if (!store.tracksUnwrittenNow && store.listed) store.noteTracksUnwritten();
    return store;
  }

  /**
   * Lists the docs the store holds, once; the folder calls it when its start is done. Read
   * beside y-leveldb's chain, not in it, so it delays no doc's load or store; a doc stored
   * meanwhile is in knownDocs already.
   */
  listStoredDocs(): Promise<void> {
    this.listing ??= (async () => {
      if (this.listed) return;
      const db = await this.docs._transact(async (db) => db);
      for (const name of await namesUnder(db, DOC_RECORD_PREFIX)) this.knownDocs.add(name);
      this.listed = true;
    })();
    return this.listing;
  }

  /** Whether the store holds the doc: true, false, or undefined while that is not known (see listStoredDocs). */
  private holds(docName: string): boolean | undefined {
    return this.knownDocs.has(docName) || (this.listed ? false : undefined);
  }

  /** One of our own records, read in y-leveldb's chain; undefined when there is none. */
  private record(key: string[]): Promise<Uint8Array | undefined> {
    return this.docs._transact(async (db) => {
      try {
        return await db.get(key);
      } catch {
        return undefined;
      }
    });
  }

  private async loadMarks(kind: MarkKind): Promise<Set<string>> {
    return new Set(await this.docs._transact((db) => namesUnder(db, MARK_PREFIX[kind])));
  }

  /** How many docs the store holds; null until they are listed. */
  get docCount(): number | null {
    return this.listed ? this.knownDocs.size : null;
  }

  /** Docs holding local changes the server has not acknowledged, as of the last run. */
  get unsavedDocs(): string[] {
    return [...this.marks.unsaved];
  }

  /** The doc holds local changes the server has not acknowledged: marked before they are stored. */
  markUnsaved(docName: string): void {
    this.mark('unsaved', docName, true);
  }

  isMarkedUnsaved(docName: string): boolean {
    return this.marks.unsaved.has(docName);
  }

  markSaved(docName: string): void {
    this.mark('unsaved', docName, false);
  }

  /** File docs holding a teammate's change that was not written to the disk, as of the last run. */
  get unwrittenDocs(): string[] {
    return [...this.marks.unwritten];
  }

  /** The doc's teammates' changes are on the disk (the mark is set as each is stored). */
  markWritten(docName: string): void {
    this.mark('unwritten', docName, false);
  }

  /**
   * Whether every teammate's change not yet on the disk is marked: a store a release before the
   * marks wrote is not, until one look at every path (noteTracksUnwritten after it).
   */
  get tracksUnwritten(): boolean {
    return this.tracksUnwrittenNow;
  }

  noteTracksUnwritten(): void {
    if (this.tracksUnwrittenNow) return;
    this.tracksUnwrittenNow = true;
    void this.docs._transact((db) => db.put(TRACKS_UNWRITTEN_KEY, Buffer.alloc(0)));
  }

  /** A teammate's change to a file doc is about to be stored: marked unwritten first. */
  private markUnwrittenIfFile(docName: string): void {
    if (fileIdOfDoc(docName)) this.mark('unwritten', docName, true);
  }

  /**
   * Marks go in one batch per turn of y-leveldb's chain (a burst marks thousands of docs). The
   * batch is queued at its first mark and takes every mark until it runs, so a mark always
   * lands before the update stored after it.
   */
  private mark(kind: MarkKind, docName: string, on: boolean): void {
    const marked = this.marks[kind];
    if (marked.has(docName) === on) return;
    if (on) marked.add(docName);
    else marked.delete(docName);
    if (!this.pendingMarks) {
      const pending: NonNullable<LocalStore['pendingMarks']> = new Map();
      this.pendingMarks = pending;
      void this.docs._transact(async (db) => {
        if (this.pendingMarks === pending) this.pendingMarks = null;
        await db.batch(
          [...pending.values()].map(({ kind: k, docName: name, on: set }) =>
            set ? { type: 'put' as const, key: [MARK_PREFIX[k], name], value: Buffer.alloc(0) } : { type: 'del' as const, key: [MARK_PREFIX[k], name] },
          ),
        );
      });
    }
    this.pendingMarks.set(`${kind}:${docName}`, { kind, docName, on });
  }

  /** The feed position stored last (0: none, a store from before the feed). */
  async loadFeedPosition(): Promise<number> {
    const value = await this.record(FEED_POSITION_KEY);
    return value && value.byteLength > 0 ? decoding.readVarUint(decoding.createDecoder(value)) : 0;
  }

  /** Stored after every update asked to be stored before it: it never covers an update lost in a crash. */
  storeFeedPosition(position: number): void {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, position);
    void this.docs._transact((db) => db.put(FEED_POSITION_KEY, Buffer.from(encoding.toUint8Array(encoder))));
  }

  /** The stored doc's state vector (empty for a doc never stored), without loading the doc. */
  async stateVector(docName: string): Promise<Uint8Array> {
    if (this.holds(docName) === false) return EMPTY_STATE_VECTOR;
    return this.docs.getStateVector(docName);
  }

  /** A teammate's update of a doc not in memory: stored as it is, without loading the doc. */
  storeRemoteUpdate(docName: string, update: Uint8Array): void {
    const arrived = this.arrivedDocs.get(docName);
    if (arrived) arrived.push(update);
    if (this.holds(docName) !== false) {
      this.knownDocs.add(docName);
      this.markUnwrittenIfFile(docName);
      void this.docs.storeUpdate(docName, update);
      return;
    }
    void this.writeAsNew(docName, update, { unwritten: true });
    this.arrivedDocs.set(docName, [update]);
    // Bounded: a doc past the bound is read back from LevelDB when loaded, as any other.
    if (this.arrivedDocs.size > ARRIVED_DOCS_KEPT) this.arrivedDocs.delete(this.arrivedDocs.keys().next().value!);
  }

  /** The stored doc (empty when new), kept stored: every later update is written too. */
  async loadDoc(docName: string): Promise<Y.Doc> {
    // A guid of our own: Yjs's default draws 32 random numbers per doc, a visible cost of a burst.
    const arrived = this.arrivedDocs.get(docName);
    this.arrivedDocs.delete(docName);
    let doc: Y.Doc;
    if (arrived || this.holds(docName) === false) {
      doc = new Y.Doc({ guid: docName });
      if (arrived) doc.transact(() => arrived.forEach((update) => Y.applyUpdate(doc, update)), STORED_ORIGIN);
    } else {
      doc = await this.docs.getYDoc(docName);
    }
    this.keepStored(docName, doc);
    return doc;
  }

  /**
   * A doc that starts with content made here (share, a new file): stored from the start.
   *
   * y-leveldb stores a doc's first update with a read and two writes, one doc at a time; a share
   * of 5,000 files waited 6 s for that. New docs are written instead in one batch per turn of
   * y-leveldb's chain, as the records y-leveldb 0.2 itself writes (a state vector at clock 0
   * under ['v1_sv', name], the update under ['v1', name, 'update', 0]; the local-store test
   * reads them back through y-leveldb). The batch is queued in the chain at once and takes
   * every new doc until it runs, so an update stored later for the same doc lands after it.
   */
  async storeNewDoc(docName: string, doc: Y.Doc): Promise<void> {
    const stored = this.writeAsNew(docName, Y.encodeStateAsUpdate(doc));
    this.keepStored(docName, doc);
    await stored;
  }

  /** A new doc stored from its first update alone, without holding it (share's upload). */
  storeNewUpdate(docName: string, update: Uint8Array): Promise<void> {
    return this.writeAsNew(docName, update);
  }

  /**
   * Queues an update as a new doc's records in the next batch (see storeNewDoc); a teammate's
   * (`unwritten`) with its mark in the same batch, which may run before the next batch of marks.
   */
  private writeAsNew(docName: string, update: Uint8Array, { unwritten = false } = {}): Promise<void> {
    this.knownDocs.add(docName);
    if (!this.newDocs) {
      const batch: NonNullable<LocalStore['newDocs']> = { ops: [], stored: Promise.resolve() };
      batch.stored = this.docs._transact(async (db) => {
        if (this.newDocs === batch) this.newDocs = null;
        await db.batch(batch.ops);
      });
      this.newDocs = batch;
    }
    const stateVector = encoding.createEncoder();
    encoding.writeVarUint(stateVector, 0);
    encoding.writeVarUint8Array(stateVector, Y.encodeStateVectorFromUpdate(update));
    this.newDocs.ops.push(
      { type: 'put', key: ['v1_sv', docName], value: Buffer.from(encoding.toUint8Array(stateVector)) },
      { type: 'put', key: ['v1', docName, 'update', 0], value: Buffer.from(update) },
    );
    if (unwritten && fileIdOfDoc(docName) && !this.marks.unwritten.has(docName)) {
      this.marks.unwritten.add(docName);
      this.newDocs.ops.push({ type: 'put', key: [MARK_PREFIX.unwritten, docName], value: Buffer.alloc(0) });
    }
    return this.newDocs.stored;
  }

  private keepStored(docName: string, doc: Y.Doc): void {
    const store = (update: Uint8Array, origin: unknown) => {
      if (origin === STORED_ORIGIN) return;
      const remote = isFromServer(origin);
      if (!remote) this.markUnsaved(docName);
      // A doc's first content (a teammate's file arriving) goes in the batch of new docs too.
      if (this.holds(docName) === false) void this.writeAsNew(docName, Y.encodeStateAsUpdate(doc), { unwritten: remote });
      else {
        this.knownDocs.add(docName);
        if (remote) this.markUnwrittenIfFile(docName);
        void this.docs.storeUpdate(docName, update);
      }
    };
    doc.on('update', store);
    this.bound.set(doc, store);
  }

  /** Resolves once every write asked for so far reached LevelDB (a join's run on for seconds). */
  async settled(): Promise<void> {
    await this.docs._transact(async () => undefined);
    await this.bases.settled();
  }

  release(doc: Y.Doc): void {
    const store = this.bound.get(doc);
    if (store) doc.off('update', store);
    this.bound.delete(doc);
  }

  async close(): Promise<void> {
    await this.listing;
    for (const [doc, store] of this.bound) doc.off('update', store);
    this.bound.clear();
    await this.bases.close();
    await this.docs.destroy();
  }
}
