// y-leveldb ships no type declarations; these cover the API codeshare uses.
declare module 'y-leveldb' {
  /** The LevelDB handle y-leveldb's chain hands a transaction: keys are arrays of strings and numbers. */
  interface LeveldbHandle {
    batch(ops: ({ type: 'put'; key: (string | number)[]; value: Buffer } | { type: 'del'; key: (string | number)[] })[]): Promise<void>;
    put(key: (string | number)[], value: Buffer): Promise<void>;
    del(key: (string | number)[]): Promise<void>;
    get(key: (string | number)[]): Promise<Uint8Array | undefined>;
    keys(range: { gte: (string | number)[]; lt: (string | number)[] }): { all(): Promise<(string | number)[][]> };
  }

  import type * as Y from 'yjs';

  export class LeveldbPersistence {
    constructor(location: string, options?: { Level?: unknown; levelOptions?: Record<string, unknown> });
    getYDoc(docName: string): Promise<Y.Doc>;
    storeUpdate(docName: string, update: Uint8Array): Promise<number>;
    getStateVector(docName: string): Promise<Uint8Array>;
    getDiff(docName: string, stateVector: Uint8Array): Promise<Uint8Array>;
    flushDocument(docName: string): Promise<void>;
    clearDocument(docName: string): Promise<void>;
    setMeta(docName: string, metaKey: string, value: unknown): Promise<void>;
    getMeta(docName: string, metaKey: string): Promise<unknown>;
    delMeta(docName: string, metaKey: string): Promise<void>;
    getMetas(docName: string): Promise<Map<string, unknown>>;
    getAllDocNames(): Promise<string[]>;
    destroy(): Promise<void>;
    clearAll(): Promise<void>;
    /**
     * Private in y-leveldb 0.2: runs `f` in its transaction chain with the raw database (keys are
     * arrays of strings and numbers, values Buffers). codeshare batches new docs through it.
     */
    _transact<T>(f: (db: LeveldbHandle) => Promise<T>): Promise<T>;
  }
}
