// What this folder has that the project does not get, and why (too large, unreadable, a FIFO,
// a symlink out of the folder, a name that is not UTF-8), by path: FolderStatus.problems. Scans
// replace what an earlier scan of their part said; the watcher's single paths are noted one by
// one as they are read.
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import type { FolderProblem } from '../common/control-protocol.js';
import type { IgnoreRules } from '../common/ignore-rules.js';
import { MAX_SHARED_FILE_BYTES, MAX_TEXT_BYTES } from '../common/index-entry.js';
import type { DiskReader, DiskState } from './disk-reader.js';
import { listFolderPaths, scanFolder, type ScanSkip, type ScannedEntry } from './scan.js';
import { KeptScanCache } from './scan-cache.js';
import type { ScanRecords } from './scan-records.js';
import { problemOfSkip, problemsFromScan } from './unshared.js';
import { contentKind } from './file-content.js';
import { statSignature } from './stat-signature.js';

export interface FolderProblemsDeps {
  root: string;
  rules: () => IgnoreRules;
  diskIo: LimitFunction;
  diskReader: DiskReader;
  log: Logger;
  changed: () => void;
  /** Where the scan's cache is kept across restarts; null before the local store is open. */
  scanRecords: () => ScanRecords | null;
}

export class FolderProblems {
  private readonly problems = new Map<string, FolderProblem>();
  /** What the last scans found, so a rescan reads only files whose stat changed. */
  private readonly scanCache: KeptScanCache;

  constructor(private readonly deps: FolderProblemsDeps) {
    this.scanCache = new KeptScanCache(deps.scanRecords, MAX_TEXT_BYTES);
  }

  values(): IterableIterator<FolderProblem> {
    return this.problems.values();
  }

  /** The path is shared (or gone): it is no problem any more. */
  clear(path: string): void {
    if (this.problems.delete(path)) this.deps.changed();
  }

  /** The paths on disk the index could hold, without reading the files (a scan reads them all). */
  listPaths(): Promise<string[]> {
    return listFolderPaths(this.deps.root, this.deps.rules());
  }

  /** A problem found while applying a change (an unsafe symlink, say). */
  note(skip: ScanSkip): void {
    const problem = problemOfSkip(skip);
    if (problem) this.problems.set(problem.path, problem);
    this.deps.changed();
  }

  /**
   * This daemon wrote `bytes` (of that hash) at `path`; `stats` is the written file's own (see
   * writeFileAtomic). A scan trusts that while the file's stat is unchanged, as the watcher
   * trusts OwnWrites: the rescan after a 40,000-file join read and hashed every file it had
   * just written. Without ctime, which the move into place changes.
   */
  noteWritten(path: string, stats: Stats, bytes: Uint8Array, sha256: string): void {
    if (bytes.byteLength > MAX_SHARED_FILE_BYTES) return;
    const entry: ScannedEntry = { path, kind: contentKind(bytes, MAX_TEXT_BYTES), mode: stats.mode & 0o777, size: bytes.byteLength, sha256 };
    this.scanCache.set(path, { signature: statSignature(stats, { withCtime: false }), entry });
  }

  /** What is on disk (under a folder, or all of it), as the index would record it. */
  async scan(under = ''): Promise<ScannedEntry[]> {
    await this.scanCache.load();
    const options = { maxTextBytes: MAX_TEXT_BYTES, maxFileBytes: MAX_SHARED_FILE_BYTES, logger: this.deps.log, cache: this.scanCache, under };
    const { entries, skipped } = await scanFolder(this.deps.root, this.deps.rules(), options);
    for (const path of this.problems.keys()) if (under === '' || path.startsWith(`${under}/`)) this.problems.delete(path);
    for (const problem of problemsFromScan(skipped)) this.problems.set(problem.path, problem);
    if (skipped.length > 0) this.deps.log.info({ skipped: skipped.slice(0, 20), count: skipped.length }, 'not shared');
    this.deps.changed();
    return entries;
  }

  /**
   * The watcher reported a path that reads as nothing: a FIFO, socket or device, or a name that
   * is not UTF-8 (the watcher's lossy name cannot be opened). Said in the status, not only in
   * the log; a scan of its folder names it exactly.
   */
  async noteUnshareable(path: string): Promise<void> {
    if (path.includes('\uFFFD')) {
      await this.scan(path.includes('/') ? dirname(path) : '');
      return;
    }
    const stats = await lstat(join(this.deps.root, path)).catch(() => null);
    const problem = stats && !stats.isFile() && !stats.isDirectory() && !stats.isSymbolicLink() ? problemOfSkip({ path, reason: 'special-file' }) : null;
    if (problem) this.problems.set(path, problem);
    else if (!this.problems.delete(path)) return;
    this.deps.changed();
  }

  /** DiskReader.readSettled; a file this user may not read is listed as not shared instead. */
  readOrNoteUnreadable(path: string): Promise<DiskState | 'unreadable'> {
    return this.deps.diskReader.readSettled(path).catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM') throw err;
      this.note({ path, reason: 'unreadable', detail: code });
      return 'unreadable' as const;
    });
  }

  /** A file over the size limit stays here, and says so. `known`: its stats, if read already. */
  async tooLargeToShare(path: string, known?: Stats | null): Promise<boolean> {
    const stats = known !== undefined ? known : await this.deps.diskIo(() => lstat(join(this.deps.root, path))).catch(() => null);
    if (!stats?.isFile() || stats.size <= MAX_SHARED_FILE_BYTES) return false;
    this.note({ path, reason: 'too-large', size: stats.size, limit: MAX_SHARED_FILE_BYTES });
    return true;
  }
}
