// The file docs a folder holds: each loaded from the local store once, written with the
// folder's client id for this run, followed on the server once the folder is live, and known as
// changed when the server changes it (its paths are then written). Which paths a doc is at is
// the index's business (paths-by-id.ts); this only holds the docs.
import * as Y from 'yjs';
import { contentText } from '../common/index-entry.js';
import { fileDocName, fileIdOfDoc } from '../common/protocol.js';
import type { LocalStore } from './local-store.js';
import { REMOTE_ORIGIN } from './server-connection.js';

export interface FileDocsHooks {
  /** Follow the doc on the server (the folder decides whether it is live yet). */
  follow: (docName: string, doc: Y.Doc) => void;
  /** The server changed the doc with this file id. */
  remoteChange: (id: string) => void;
}

export class FileDocs {
  private readonly docs = new Map<string, Y.Doc>();
  private readonly loading = new Map<string, Promise<Y.Doc>>();
  /**
   * File docs changed by the server since their paths were last written. A rescan writes these
   * (and paths whose index entry differs from the base) rather than every file of the project.
   */
  readonly changedByServer = new Set<string>();
  /** Docs whose paths wait for the server's state (see writeWhenSynced). */
  private readonly awaitingSync = new Set<string>();

  constructor(
    private readonly store: LocalStore,
    private readonly clientId: number,
    private readonly hooks: FileDocsHooks,
  ) {}

  get(id: string): Y.Doc | undefined {
    return this.docs.get(id);
  }

  get size(): number {
    return this.docs.size;
  }

  entries(): IterableIterator<[string, Y.Doc]> {
    return this.docs.entries();
  }

  /**
   * The file's doc, loaded once: two paths' work may ask for the same id at once, and two
   * loads would register two docs of which only the first is followed, so edits to the
   * other would never reach the server.
   */
  ensure(id: string): Promise<Y.Doc> {
    const known = this.docs.get(id);
    if (known) return Promise.resolve(known);
    let loading = this.loading.get(id);
    if (!loading) {
      loading = this.store.loadDoc(fileDocName(id)).then((doc) => this.register(id, doc));
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
    await this.store.storeNewDoc(fileDocName(id), doc);
    return this.register(id, doc);
  }

  /**
   * Writes the doc's paths once the server's state of it has arrived. The arrival of new
   * content would do that by itself, but not an arrival with nothing new: a file emptied
   * since its entry recorded a size, whose doc came from the local store, would wait for the
   * next rescan.
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
  private register(id: string, doc: Y.Doc): Y.Doc {
    // This folder's id for this run, before any edit of ours: teammates can tell whose text it is.
    doc.clientID = this.clientId;
    this.docs.set(id, doc);
    doc.on('update', (_update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE_ORIGIN) return;
      this.changedByServer.add(id);
      this.hooks.remoteChange(id);
    });
    this.hooks.follow(fileDocName(id), doc);
    return doc;
  }
}
