// The bases of a folder's local store: what the disk held at each path when disk and project
// last agreed (see folder-bases.ts). A LevelDB of its own, beside y-leveldb's docs, written
// behind, many per batch: bases change with every file written, and y-leveldb's one chain
// would queue them behind every doc update. A base written late is safe: a restart that finds
// the disk ahead of an older base merges the two and finds no change.
//
// A base's text (needed only to merge a disk edit with a concurrent remote one) is kept apart
// from the rest, so a start reads ~100 bytes per path, not the folder's whole text: in the first
// format (the `bases` folder, one JSON record per path, text included) a 40,000-file folder's
// start read and parsed 80 MB to drop it again, 0.8 s of a reconnect. That format is upgraded
// at open (upgradeFirstFormat) and its folder removed once copied.
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import type { Logger } from 'pino';
import { ScanRecords } from './scan-records.js';
import { WriteBehind, type ChainedBatch } from './write-behind.js';

/** What a path held on disk when disk and project last agreed, as the store keeps it. */
export interface StoredBase {
  id: string;
  kind: 'text' | 'binary' | 'symlink';
  mode: number;
  sha256: string;
  /** Text files: the text itself, needed to merge a disk edit with a concurrent remote one. */
  text?: string;
  target?: string;
}

/**
 * A base as memory holds it: the length of its text, not the text, which is read from the
 * store when a merge needs it (the bases of a 40,000-file tree would hold all of its text).
 */
export interface Base extends Omit<StoredBase, 'text'> {
  textLength?: number;
}

export function baseInMemory({ text, ...base }: StoredBase): Base {
  return text === undefined ? base : { ...base, textLength: text.length };
}

/** The first format's folder, and the one that replaced it. */
const FIRST_FORMAT_DIR = 'bases';
const BASES_DIR = 'bases-v2';
/** Records copied per batch when upgrading the first format. */
const UPGRADE_BATCH = 1_000;

export class BaseStore {
  private readonly db: Level<string, string>;
  private readonly meta;
  private readonly texts;
  private readonly writes: WriteBehind<StoredBase>;
  /** The scan's records of what each file held as of its stat (see scan-cache.ts), in the same LevelDB. */
  readonly scans: ScanRecords;

  private constructor(
    dir: string,
    private readonly log?: Logger,
  ) {
    this.db = new Level<string, string>(join(dir, BASES_DIR));
    this.meta = this.db.sublevel<string, Base>('meta', { valueEncoding: 'json' });
    this.texts = this.db.sublevel<string, string>('text', { valueEncoding: 'utf8' });
    const failed = (err: unknown, count: number) => log?.warn({ err, count }, 'storing bases failed');
    this.writes = new WriteBehind<StoredBase>(this.db, (batch, path, base) => this.putOps(batch, path, base), failed);
    this.scans = new ScanRecords(this.db, log);
  }

  static async open(dir: string, log?: Logger): Promise<BaseStore> {
    const store = new BaseStore(dir, log);
    await store.db.open();
    await store.upgradeFirstFormat(join(dir, FIRST_FORMAT_DIR));
    return store;
  }

  /**
   * Copies the first format's records, then removes its folder. A crash part-way leaves that
   * folder, and the next open copies it again (the same records over the same keys).
   */
  private async upgradeFirstFormat(oldDir: string): Promise<void> {
    if (!(await stat(oldDir).catch(() => null))) return;
    const old = new Level<string, StoredBase>(oldDir, { valueEncoding: 'json' });
    await old.open();
    let copied = 0;
    let batch = this.db.batch();
    for await (const [path, base] of old.iterator()) {
      this.putOps(batch, path, base);
      if (++copied % UPGRADE_BATCH === 0) {
        await batch.write();
        batch = this.db.batch();
      }
    }
    await batch.write();
    await old.close();
    await rm(oldDir, { recursive: true, force: true });
    this.log?.info({ bases: copied }, 'upgraded the local store: base texts kept apart');
  }

  /** A base's records in the batch; null: the path's removal. */
  private putOps(batch: ChainedBatch, path: string, base: StoredBase | null): void {
    if (!base) batch.del(path, { sublevel: this.meta }).del(path, { sublevel: this.texts });
    else {
      batch.put(path, baseInMemory(base), { sublevel: this.meta });
      if (base.text === undefined) batch.del(path, { sublevel: this.texts });
      else batch.put(path, base.text, { sublevel: this.texts });
    }
  }

  /** Every base, without its text. */
  async loadAll(): Promise<Map<string, Base>> {
    return new Map(await this.meta.iterator().all());
  }

  /** The text of the path's base as last set (written or still waiting to be). */
  async text(path: string): Promise<string | undefined> {
    const waiting = this.writes.waiting(path);
    if (waiting) return waiting.value?.text;
    try {
      return await this.texts.get(path);
    } catch (err) {
      if ((err as { code?: string }).code === 'LEVEL_NOT_FOUND') return undefined;
      throw err;
    }
  }

  set(path: string, base: StoredBase): void {
    this.writes.set(path, base);
  }

  delete(path: string): void {
    this.writes.set(path, null);
  }

  /** Resolves once every base set so far reached LevelDB. */
  async settled(): Promise<void> {
    await Promise.all([this.writes.settled(), this.scans.settled()]);
  }

  async close(): Promise<void> {
    await Promise.all([this.writes.flush(), this.scans.flush()]);
    await this.db.close();
  }
}
