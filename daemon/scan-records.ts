// What each file held as of its stat, kept across restarts beside the bases (as git's index keeps
// stat data beside blob hashes): a start's rescan of an unchanged 40,000-file folder then stats
// the files instead of reading and hashing 137 MB of them. One record per path in the bases'
// LevelDB, written behind; the scan's text limit is stored with them, and records made under
// another limit (a file's kind may differ) are dropped at load.
import type { Level } from 'level';
import type { Logger } from 'pino';
import type { CachedScan, ScannedKind } from './scan.js';
import { WriteBehind } from './write-behind.js';

/** [ino, size, mtimeMs, mode, ctimeMs, kind, entry mode, entry size, sha256, symlink target]. */
type ScanRecord = [number, number, number, number, number, ScannedKind, number, number, string, string?];
/** Not a path (no path is empty): the limit the records were made under. */
const LIMIT_KEY = '';

export class ScanRecords {
  private readonly records;
  private readonly writes: WriteBehind<ScanRecord>;

  constructor(db: Level<string, string>, log?: Logger) {
    this.records = db.sublevel<string, ScanRecord | { maxTextBytes: number }>('scan', { valueEncoding: 'json' });
    const failed = (err: unknown, count: number) => log?.warn({ err, count }, 'storing scan records failed');
    this.writes = new WriteBehind<ScanRecord>(
      db,
      (batch, path, record) => (record ? batch.put(path, record, { sublevel: this.records }) : batch.del(path, { sublevel: this.records })),
      failed,
    );
  }

  /** Every record made under `maxTextBytes` (those of another limit are dropped). */
  async loadAll(maxTextBytes: number): Promise<Map<string, CachedScan>> {
    const loaded = new Map<string, CachedScan>();
    let limit: number | undefined;
    for (const [path, value] of await this.records.iterator().all()) {
      if (path === LIMIT_KEY) limit = (value as { maxTextBytes: number }).maxTextBytes;
      else loaded.set(path, fromRecord(path, value as ScanRecord));
    }
    if (limit === maxTextBytes) return loaded;
    await this.records.clear();
    await this.records.put(LIMIT_KEY, { maxTextBytes });
    return new Map();
  }

  /** `ctimeMs` is required: see KeptScanCache. */
  set(path: string, { signature, entry }: CachedScan & { signature: { ctimeMs: number } }): void {
    const { ino, size, mtimeMs, mode, ctimeMs } = signature;
    const record: ScanRecord = [ino, size, mtimeMs, mode, ctimeMs, entry.kind, entry.mode, entry.size, entry.sha256];
    if (entry.target !== undefined) record.push(entry.target);
    this.writes.set(path, record);
  }

  delete(path: string): void {
    this.writes.set(path, null);
  }

  settled(): Promise<void> {
    return this.writes.settled();
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }
}

function fromRecord(path: string, [ino, size, mtimeMs, mode, ctimeMs, kind, entryMode, entrySize, sha256, target]: ScanRecord): CachedScan {
  return {
    signature: { ino, size, mtimeMs, mode, ctimeMs },
    entry: { path, kind, mode: entryMode, size: entrySize, sha256, ...(target !== undefined ? { target } : {}) },
  };
}
