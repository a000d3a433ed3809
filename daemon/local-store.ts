// The folder's durable local state, in y-leveldb: every doc the folder follows, and what the
// disk held when it last agreed with the docs ("bases"). Edits made offline or while the
// daemon was down are found at start by comparing the disk with these bases, and synced by
// state vector, not by re-sending the project.
import { mkdir } from 'node:fs/promises';
import { LeveldbPersistence } from 'y-leveldb';
import * as Y from 'yjs';

/** What a path held on disk when disk and project last agreed. */
export interface Base {
  id: string;
  kind: 'text' | 'binary' | 'symlink';
  mode: number;
  sha256: string;
  /** Text files: the text itself, needed to merge a disk edit with a concurrent remote one. */
  text?: string;
  target?: string;
}

const BASES_DOC = 'codeshare:bases';
const SETTINGS_DOC = 'codeshare:settings';

export class LocalStore {
  private readonly leveldb: LeveldbPersistence;
  private readonly bound = new Map<Y.Doc, (update: Uint8Array) => void>();

  private constructor(readonly dir: string) {
    this.leveldb = new LeveldbPersistence(dir);
  }

  static async open(dir: string): Promise<LocalStore> {
    await mkdir(dir, { recursive: true });
    return new LocalStore(dir);
  }

  /** The stored doc (empty when new), kept stored: every later update is written too. */
  async loadDoc(docName: string): Promise<Y.Doc> {
    const doc = await this.leveldb.getYDoc(docName);
    const store = (update: Uint8Array) => void this.leveldb.storeUpdate(docName, update);
    doc.on('update', store);
    this.bound.set(doc, store);
    return doc;
  }

  /** A doc that starts with content made here (share, a new file): stored from the start. */
  async storeNewDoc(docName: string, doc: Y.Doc): Promise<void> {
    await this.leveldb.storeUpdate(docName, Y.encodeStateAsUpdate(doc));
    const store = (update: Uint8Array) => void this.leveldb.storeUpdate(docName, update);
    doc.on('update', store);
    this.bound.set(doc, store);
  }

  release(doc: Y.Doc): void {
    const store = this.bound.get(doc);
    if (store) doc.off('update', store);
    this.bound.delete(doc);
  }

  async loadBases(): Promise<Map<string, Base>> {
    const metas = await this.leveldb.getMetas(BASES_DOC);
    return new Map([...metas].map(([path, value]) => [path, value as Base]));
  }

  setBase(path: string, base: Base): Promise<void> {
    return this.leveldb.setMeta(BASES_DOC, path, base);
  }

  deleteBase(path: string): Promise<void> {
    return this.leveldb.delMeta(BASES_DOC, path);
  }

  async getSetting<T>(key: string): Promise<T | undefined> {
    return (await this.leveldb.getMeta(SETTINGS_DOC, key)) as T | undefined;
  }

  setSetting(key: string, value: unknown): Promise<void> {
    return this.leveldb.setMeta(SETTINGS_DOC, key, value);
  }

  async close(): Promise<void> {
    for (const [doc, store] of this.bound) doc.off('update', store);
    this.bound.clear();
    await this.leveldb.destroy();
  }
}
