// The scan's cache (scan.ts: a file whose stat is unchanged is not read again), kept in the
// local store across restarts (scan-records.ts). A resume after a night offline rescans the whole
// folder; with only memory's cache it read and hashed every file, 5 s of a 40,000-file resume.
//
// Only entries with ctime are kept: while the daemon is stopped no watcher sees the folder, and
// a file rewritten in place at the same size with its mtime put back (cp -p, rsync -t, touch -r)
// keeps inode, size, mtime and mode but not ctime. The daemon's own writes are noted without
// ctime (their move into place changes it) and gain it at the next scan that finds them unchanged.
import type { CachedScan, ScanCache } from './scan.js';
import type { ScanRecords } from './scan-records.js';

export class KeptScanCache implements ScanCache {
  private readonly entries = new Map<string, CachedScan>();
  private loading: Promise<void> | null = null;
  /** Paths set or deleted before the stored records were loaded: the stored ones are older. */
  private touchedBeforeLoad: Set<string> | null = new Set();

  constructor(
    /** The store's records; null until the folder's local store is open. */
    private readonly records: () => ScanRecords | null,
    private readonly maxTextBytes: number,
  ) {}

  /** Reads the stored records, once; a scan awaits it first. */
  load(): Promise<void> {
    const records = this.records();
    if (!records) return Promise.resolve();
    this.loading ??= records.loadAll(this.maxTextBytes).then((loaded) => {
      for (const [path, cached] of loaded) if (!this.touchedBeforeLoad?.has(path)) this.entries.set(path, cached);
      this.touchedBeforeLoad = null;
    });
    return this.loading;
  }

  get(path: string): CachedScan | undefined {
    return this.entries.get(path);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  set(path: string, cached: CachedScan): void {
    const known = this.entries.get(path);
    this.entries.set(path, cached);
    this.touchedBeforeLoad?.add(path);
    const { ctimeMs } = cached.signature;
    if (ctimeMs !== undefined) this.records()?.set(path, { ...cached, signature: { ...cached.signature, ctimeMs } });
    // A stored record of an older state goes (a join's writes have none: nothing to remove). One
    // not loaded yet stays, harmless: the file it describes was replaced, its inode and times differ.
    else if (known?.signature.ctimeMs !== undefined) this.records()?.delete(path);
  }

  delete(path: string): void {
    const known = this.entries.get(path);
    this.entries.delete(path);
    this.touchedBeforeLoad?.add(path);
    if (known?.signature.ctimeMs !== undefined) this.records()?.delete(path);
  }
}
