// The file docs a folder holds. Every doc lives in the local store; memory holds a bounded set
// of the recently used ones (DESIGN.md, Scale: daemon docs). A doc is loaded when a path's
// work needs it, written with the folder's client id for this run, held against the server
// while in memory, and known as changed when the server changes it (its paths are then
// written). A teammate's update of a doc not in memory is stored as it arrives, without
// loading the doc; the path's work loads it when it writes the file. Which paths a doc is at
// is the index's business (paths-by-id.ts); this only holds the docs.
import * as Y from 'yjs';
import { contentText, type IndexEntry } from '../common/index-entry.js';
import { fileDocName, fileIdOfDoc } from '../common/protocol.js';
import type { LocalStore } from './local-store.js';
import { STORED_ORIGIN, isFromServer } from './origins.js';

export interface FileDocsHooks {
  /** Hold the doc against the server (the folder decides whether it is live yet). */
  follow: (docName: string, doc: Y.Doc, unsaved: boolean) => void;
  /** Stop holding it: its updates arrive as foreign ones from now on. */
  unfollow: (docName: string) => void;
  /** The server changed the doc with this file id. */
  remoteChange: (id: string) => void;
}

/** File docs kept in memory by default; CODESHARE_DOCS_IN_MEMORY sets another bound. */
export const DEFAULT_DOCS_IN_MEMORY = 1000;

/** How long a doc stays in memory at least after its last use, so a path's work never sees it go. */
const MIN_RESIDENCE_MS = 5000;

export function docsInMemoryLimit(value = process.env.CODESHARE_DOCS_IN_MEMORY): number {
  const limit = value === undefined ? NaN : Number(value);
  return Number.isInteger(limit) && limit >= 1 ? limit : DEFAULT_DOCS_IN_MEMORY;
}

/** The file ids of those of `docNames` that are file docs. */
const fileIdsOf = (docNames: string[]) => docNames.flatMap((docName) => fileIdOfDoc(docName) ?? []);

export class FileDocs {
  /** In memory, least recently used first (a Map keeps insertion order; a use moves a doc last). */
  private readonly docs = new Map<string, { doc: Y.Doc; usedAt: number }>();
  private readonly loading = new Map<string, Promise<Y.Doc>>();
  /** Remote updates that arrived while their doc was being loaded: applied once it is. */
  private readonly arrivedWhileLoading = new Map<string, Uint8Array[]>();
  /**
   * Docs holding changes the server has not acknowledged (made here, or left so by the last
   * run): they stay in memory until it has, so the connection keeps resending them.
   */
  private readonly unsaved = new Set<string>();
  /**
   * File docs changed by the server since their paths were last written. A rescan writes these
   * (and paths whose index entry differs from the base) rather than every file of the project.
   * Durable as the store's "unwritten" marks, so a restart knows them too (see writtenToDisk).
   */
  readonly changedByServer = new Set<string>();
  /** Docs whose paths wait for the server's state (see writeWhenSynced). */
  private readonly awaitingSync = new Set<string>();
  private evictTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: LocalStore,
    private readonly clientId: number,
    private readonly hooks: FileDocsHooks,
    private readonly limit = docsInMemoryLimit(),
  ) {
    for (const id of fileIdsOf(store.unsavedDocs)) this.unsaved.add(id);
    for (const id of fileIdsOf(store.unwrittenDocs)) this.changedByServer.add(id);
  }

  /**
   * The doc's paths were written (their bases recorded) from it as it was when changedByServer
   * let go of it: unless the server changed it again since, its "unwritten" mark goes too.
   */
  writtenToDisk(id: string): void {
    if (!this.changedByServer.has(id)) this.store.markWritten(fileDocName(id));
  }

  /** Marks of docs no index entry names any more (deleted files) go; nothing would write them. */
  forgetUnwrittenExcept(entries: Iterable<IndexEntry>): void {
    if (this.changedByServer.size === 0) return;
    const ids = new Set<string>();
    for (const entry of entries) ids.add(entry.id);
    for (const id of this.changedByServer) {
      if (ids.has(id)) continue;
      this.changedByServer.delete(id);
      this.store.markWritten(fileDocName(id));
    }
  }

  get(id: string): Y.Doc | undefined {
    return this.docs.get(id)?.doc;
  }

  /** Docs in memory now. */
  get size(): number {
    return this.docs.size;
  }

  entries(): [string, Y.Doc][] {
    return [...this.docs].map(([id, held]) => [id, held.doc]);
  }

  /** File ids with changes the server has not acknowledged, in memory or not. */
  unsavedIds(): string[] {
    return [...this.unsaved];
  }

  isUnsaved(id: string): boolean {
    return this.unsaved.has(id);
  }

  /** The server acknowledged everything the doc holds: it may leave memory again. */
  saved(docName: string): void {
    const id = fileIdOfDoc(docName);
    if (id && this.unsaved.delete(id)) this.store.markSaved(docName);
    this.scheduleEviction();
  }

  /**
   * The file's doc, loaded once: two paths' work may ask for the same id at once, and two
   * loads would register two docs of which only the first is followed, so edits to the
   * other would never reach the server.
   */
  ensure(id: string): Promise<Y.Doc> {
    const held = this.docs.get(id);
    if (held) {
      this.touch(id, held);
      return Promise.resolve(held.doc);
    }
    let loading = this.loading.get(id);
    if (!loading) {
      loading = this.store.loadDoc(fileDocName(id)).then((doc) => this.register(id, doc, this.unsaved.has(id)));
      this.loading.set(id, loading);
      void loading.then(
        () => this.loading.delete(id),
        () => this.loading.delete(id),
      );
    }
    return loading;
  }

  /** A file doc made here from disk content (share, a new file): stored, then registered. */
  async create(id: string, text: string): Promise<Y.Doc> {
    // A guid of our own: Yjs's default draws 32 random numbers per doc, a visible cost of a burst.
    const doc = new Y.Doc({ guid: fileDocName(id) });
    doc.clientID = this.clientId;
    contentText(doc).insert(0, text);
    this.unsaved.add(id);
    this.store.markUnsaved(fileDocName(id));
    await this.store.storeNewDoc(fileDocName(id), doc);
    return this.register(id, doc, true);
  }

  /**
   * A file doc made here for share's upload: stored and marked unsaved like create's, but not
   * held in memory (a share of 40,000 files would hold them all). Its update, to upload.
   */
  async createForUpload(id: string, text: string): Promise<Uint8Array> {
    const doc = new Y.Doc({ guid: fileDocName(id) });
    doc.clientID = this.clientId;
    contentText(doc).insert(0, text);
    const update = Y.encodeStateAsUpdate(doc);
    doc.destroy();
    this.unsaved.add(id);
    this.store.markUnsaved(fileDocName(id));
    await this.store.storeNewUpdate(fileDocName(id), update);
    return update;
  }

  /**
   * A teammate's update of a doc not in memory: stored at once (so a feed position stored
   * after it covers it), and applied to the doc when a load of it is under way.
   */
  foreignUpdate(docName: string, update: Uint8Array): void {
    this.store.storeRemoteUpdate(docName, update);
    const id = fileIdOfDoc(docName);
    if (!id) return;
    if (this.loading.has(id)) {
      const arrived = this.arrivedWhileLoading.get(id) ?? [];
      arrived.push(update);
      this.arrivedWhileLoading.set(id, arrived);
      return;
    }
    this.changedByServer.add(id);
    this.hooks.remoteChange(id);
  }

  /**
   * Writes the doc's paths once the server's state of it has arrived. The arrival of new
   * content would do that by itself, but not an arrival with nothing new: a file emptied
   * since its entry recorded a size would wait for the next rescan.
   */
  writeWhenSynced(id: string): void {
    this.awaitingSync.add(fileDocName(id));
  }

  /** The server's state of a doc arrived: the file id whose paths wait for it, if any. */
  takeAwaited(docName: string): string | null {
    if (!this.awaitingSync.delete(docName)) return null;
    return fileIdOfDoc(docName);
  }

  /** Makes a file doc part of the folder: remote changes to it are reported. */
  private register(id: string, doc: Y.Doc, unsaved: boolean): Y.Doc {
    // This folder's id for this run, before any edit of ours: teammates can tell whose text it is.
    doc.clientID = this.clientId;
    this.docs.set(id, { doc, usedAt: Date.now() });
    doc.on('update', (update: Uint8Array, origin: unknown) => this.onDocUpdate(id, doc, update, origin));
    this.hooks.follow(fileDocName(id), doc, unsaved);
    const arrived = this.arrivedWhileLoading.get(id);
    this.arrivedWhileLoading.delete(id);
    // Already stored as they arrived: applied, reported, not stored again.
    if (arrived) doc.transact(() => arrived.forEach((update) => Y.applyUpdate(doc, update, STORED_ORIGIN)), STORED_ORIGIN);
    this.scheduleEviction();
    return doc;
  }

  private onDocUpdate(id: string, doc: Y.Doc, update: Uint8Array, origin: unknown): void {
    const held = this.docs.get(id);
    if (held?.doc !== doc) {
      // A change made through a doc that left memory while a path's work still held it: it
      // goes into the doc as it is now (loaded again or not), so it is stored and sent.
      if (!isFromServer(origin)) void this.ensure(id).then((current) => Y.applyUpdate(current, update, origin));
      return;
    }
    if (isFromServer(origin)) {
      this.changedByServer.add(id);
      this.hooks.remoteChange(id);
    } else {
      this.unsaved.add(id);
    }
  }

  private touch(id: string, held: { doc: Y.Doc; usedAt: number }): void {
    held.usedAt = Date.now();
    this.docs.delete(id);
    this.docs.set(id, held);
  }

  private scheduleEviction(): void {
    if (this.docs.size <= this.limit || this.evictTimer) return;
    this.evictTimer = setTimeout(() => {
      this.evictTimer = null;
      this.evict();
    }, MIN_RESIDENCE_MS / 5);
    this.evictTimer.unref();
  }

  /** Least recently used docs out, down to the bound: none unsaved, none used in the last seconds. */
  private evict(): void {
    const usedSince = Date.now() - MIN_RESIDENCE_MS;
    for (const [id, held] of this.docs) {
      if (this.docs.size <= this.limit) break;
      if (held.usedAt > usedSince) break;
      if (this.unsaved.has(id) || this.awaitingSync.has(fileDocName(id))) continue;
      this.docs.delete(id);
      this.hooks.unfollow(fileDocName(id));
      this.store.release(held.doc);
    }
    this.scheduleEviction();
  }

  stop(): void {
    if (this.evictTimer) clearTimeout(this.evictTimer);
    this.evictTimer = null;
  }
}
