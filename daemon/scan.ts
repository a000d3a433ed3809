// One pass over a folder: what is there now, as the index would record it. Used at share time
// and whenever the daemon must compare the disk with the index (start-up, resume after a
// branch switch, a rules change). Ignored folders are never opened, symlinks are never followed,
// and file reads run a bounded number at a time so a large tree neither exhausts file
// descriptors nor holds more than `concurrency` files in memory. Names are listed as bytes, so a
// name that is not UTF-8 is reported instead of being decoded into one that does not exist.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { constants, type Dirent, type PathLike } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, open, opendir, readlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { classifyContent, DEFAULT_MAX_TEXT_BYTES, sha256Hex } from './file-content.js';
import type { IgnoreRules } from '../common/ignore-rules.js';
import { escapeInvalidUtf8 } from './name-bytes.js';
import { hasSignature, statSignature, type StatSignature } from './stat-signature.js';
import { assertSafeIndexPath, checkSymlinkTarget, UnsafePathError } from '../common/safe-path.js';
import { errnoCode } from '../common/fs-helpers.js';
import pMap from 'p-map';
import { byPath } from '../common/paths-in-project.js';

export type ScannedKind = 'text' | 'binary' | 'symlink';

export interface ScannedEntry {
  /** POSIX path relative to the folder root. */
  path: string;
  kind: ScannedKind;
  /** Permission bits only (`mode & 0o777`), e.g. 0o644 or 0o755. */
  mode: number;
  /** Bytes on disk; for a symlink, the byte length of its target. */
  size: number;
  /** Of the file's bytes; for a symlink, of its target string. */
  sha256: string;
  /** Relative symlink target, for kind 'symlink' only. */
  target?: string;
}

export type ScanSkipReason =
  /** A symlink whose target leaves the folder, is absolute, or reaches into .git. */
  | 'unsafe-symlink'
  /** A name the index cannot carry safely to other systems (e.g. a backslash in it). */
  | 'unsafe-path'
  /** A name (or a symlink's target) whose bytes are not valid UTF-8. */
  | 'invalid-name'
  /** A socket, FIFO or device. */
  | 'special-file'
  | 'unreadable'
  /** A file bigger than `maxFileBytes`. */
  | 'too-large'
  /** Removed or replaced between listing and reading; the watcher reports what happened. */
  | 'changed-during-scan';

export type ScanSkip =
  | { path: string; reason: Exclude<ScanSkipReason, 'invalid-name' | 'too-large'>; detail?: string }
  | {
      /** The folder-relative path with the name's bad bytes escaped (see escapeInvalidUtf8). */
      path: string;
      reason: 'invalid-name';
      /** 'folder': nothing below it was scanned; 'symlink-target': the link's own name is fine. */
      detail?: 'folder' | 'symlink-target';
    }
  | { path: string; reason: 'too-large'; /** Bytes on disk. */ size: number; /** maxFileBytes. */ limit: number };

export interface ScanResult {
  /** Sorted by path (UTF-16 code unit order), so two scans of the same tree are equal. */
  entries: ScannedEntry[];
  skipped: ScanSkip[];
  /** Files read and hashed (the others were known by their stat: see ScanOptions.cache). */
  filesRead: number;
}

export interface ScanOptions {
  maxTextBytes?: number;
  /** Files read at once. */
  concurrency?: number;
  logger?: Logger;
  /**
   * What earlier scans found, by path, with the file's stat signature: a file whose signature
   * is unchanged is not read again. The scan keeps it current (adds, updates, drops the gone).
   */
  cache?: ScanCache;
  /** Scan only this folder (a POSIX path relative to root) and what is below it. */
  under?: string;
  /**
   * Files bigger than this are skipped as 'too-large' without being read: the server refuses a
   * blob over its `limits.blobBytes`, so such a file could never be shared. Default: no limit.
   */
  maxFileBytes?: number;
}

/** What a scan found at a path, and the file's stat signature then. */
export interface CachedScan {
  signature: StatSignature;
  entry: ScannedEntry;
}

/** What earlier scans found, by path (a Map, or one kept across restarts: scan-cache.ts). */
export interface ScanCache {
  get(path: string): CachedScan | undefined;
  set(path: string, cached: CachedScan): void;
  delete(path: string): void;
  keys(): IterableIterator<string>;
}

/**
 * A file changed within this long before its stat is not trusted to a cached hash: a write in
 * the same tick of the file system's clock would leave the signature unchanged (git calls
 * this "racily clean").
 */
const RACY_MS = 1000;

const isRacy = (stats: Stats) => Date.now() - Math.max(stats.mtimeMs, stats.ctimeMs) < RACY_MS;

const DEFAULT_CONCURRENCY = 32;
const HASH_CHUNK_BYTES = 1024 * 1024;

type FoundItem = { relPath: string; absPath: string; type: 'file' | 'symlink' };

async function entryType(entry: Dirent<Buffer>, absPath: PathLike): Promise<'dir' | 'file' | 'symlink' | 'special'> {
  if (entry.isDirectory()) return 'dir';
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice()) return 'special';
  // Some file systems do not report types while listing (DT_UNKNOWN); ask directly.
  const stats = await lstat(absPath);
  if (stats.isDirectory()) return 'dir';
  if (stats.isFile()) return 'file';
  if (stats.isSymbolicLink()) return 'symlink';
  return 'special';
}

async function hashInChunks(handle: FileHandle): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  let size = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    size += bytesRead;
  }
  return { size, sha256: hash.digest('hex') };
}

interface FileLimits {
  maxTextBytes: number;
  maxFileBytes: number;
}

async function scanFile(item: FoundItem, limits: FileLimits, cache: ScanCache | undefined, counts: { read: number }): Promise<ScannedEntry | ScanSkip> {
  if (cache) {
    const known = cache.get(item.relPath);
    const stats = known ? await lstat(item.absPath).catch(() => null) : null;
    // The size check covers a cache filled by a scan with a higher limit.
    if (known && stats?.isFile() && hasSignature(stats, known.signature) && stats.size <= limits.maxFileBytes) {
      // A daemon's own write is noted without ctime (its move into place changes it): taken now,
      // the file no longer racy, so the record can be trusted after a restart (scan-cache.ts).
      if (known.signature.ctimeMs === undefined && !isRacy(stats)) cache.set(item.relPath, { signature: statSignature(stats, { withCtime: true }), entry: known.entry });
      return known.entry;
    }
  }
  const result = await readAndHash(item, limits);
  counts.read++;
  if (cache) {
    if ('reason' in result.scanned || !result.stats || isRacy(result.stats)) {
      cache.delete(item.relPath);
    } else {
      // inode, size, mtime, ctime and mode: any write, rename over, or chmod changes one of them.
      cache.set(item.relPath, { signature: statSignature(result.stats, { withCtime: true }), entry: result.scanned });
    }
  }
  return result.scanned;
}

async function readAndHash(item: FoundItem, { maxTextBytes, maxFileBytes }: FileLimits): Promise<{ scanned: ScannedEntry | ScanSkip; stats?: Stats }> {
  const scanned = (entry: ScannedEntry | ScanSkip, stats?: Stats) => ({ scanned: entry, ...(stats ? { stats } : {}) });
  let handle: FileHandle | undefined;
  try {
    // O_NOFOLLOW: a file swapped for a symlink since the listing is not followed out of the folder.
    // O_NONBLOCK: a file swapped for a FIFO would otherwise block the open forever.
    handle = await open(item.absPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    // Taken before the read: a write during the read changes ctime, so the next scan reads again.
    const stats = await handle.stat();
    if (!stats.isFile()) return scanned({ path: item.relPath, reason: 'changed-during-scan', detail: 'no longer a regular file' });
    if (stats.size > maxFileBytes) return scanned({ path: item.relPath, reason: 'too-large', size: stats.size, limit: maxFileBytes });
    const mode = stats.mode & 0o777;
    if (stats.size > maxTextBytes) {
      // Too big to be text whatever it holds: hash it without holding it in memory.
      const { size, sha256 } = await hashInChunks(handle);
      return scanned({ path: item.relPath, kind: 'binary', mode, size, sha256 }, stats);
    }
    const bytes = await handle.readFile();
    const content = classifyContent(bytes, maxTextBytes);
    return scanned({ path: item.relPath, kind: content.kind, mode, size: bytes.byteLength, sha256: sha256Hex(bytes) }, stats);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') {
      return scanned({ path: item.relPath, reason: 'changed-during-scan', detail: code });
    }
    if (code === 'EACCES' || code === 'EPERM') return scanned({ path: item.relPath, reason: 'unreadable', detail: code });
    throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function scanSymlink(root: string, item: FoundItem): Promise<ScannedEntry | ScanSkip> {
  let targetBytes: Buffer;
  let mode: number;
  try {
    targetBytes = await readlink(item.absPath, { encoding: 'buffer' });
    mode = (await lstat(item.absPath)).mode & 0o777;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'EINVAL') return { path: item.relPath, reason: 'changed-during-scan', detail: code };
    if (code === 'EACCES' || code === 'EPERM') return { path: item.relPath, reason: 'unreadable', detail: code };
    throw err;
  }
  // Decoded lossily, the target would name a file that exists nowhere.
  if (!isUtf8(targetBytes)) return { path: item.relPath, reason: 'invalid-name', detail: 'symlink-target' };
  const target = targetBytes.toString('utf8');
  const verdict = await checkSymlinkTarget(root, item.relPath, target);
  if (!verdict.safe) {
    return { path: item.relPath, reason: 'unsafe-symlink', detail: `${verdict.reason}: ${JSON.stringify(target)}` };
  }
  return { path: item.relPath, kind: 'symlink', mode, size: Buffer.byteLength(target), sha256: sha256Hex(target), target };
}

/**
 * Every file and symlink below `under` that the rules do not ignore, and what is left out and
 * why; null when `under` itself is gone. Ignored folders are never opened.
 */
async function listTree(rootAbs: string, under: string, rules: IgnoreRules): Promise<{ found: FoundItem[]; skipped: ScanSkip[] } | null> {
  const found: FoundItem[] = [];
  const skipped: ScanSkip[] = [];
  const pending: string[] = [under];
  while (pending.length > 0) {
    const folder = pending.pop() as string;
    let dir;
    try {
      // The types admit only string encodings; Node lists Buffer names for 'buffer'.
      dir = (await opendir(join(rootAbs, folder), { encoding: 'buffer' as BufferEncoding })) as unknown as AsyncIterable<Dirent<Buffer>>;
    } catch (err) {
      const code = errnoCode(err);
      if (folder !== '' && (code === 'ENOENT' || code === 'ENOTDIR')) {
        if (folder === under) return null;
        skipped.push({ path: folder, reason: 'changed-during-scan', detail: code });
        continue;
      }
      if (folder !== '' && (code === 'EACCES' || code === 'EPERM')) {
        skipped.push({ path: folder, reason: 'unreadable', detail: code });
        continue;
      }
      throw err;
    }
    for await (const entry of dir) {
      const validName = isUtf8(entry.name);
      // For a name that is not UTF-8 this is the lossy decoding (U+FFFD for each bad byte): only
      // matched against the ignore rules, so `*.log` still ignores such a log file.
      const name = entry.name.toString('utf8');
      const relPath = folder === '' ? name : `${folder}/${name}`;
      const absPath = join(rootAbs, relPath);
      let type;
      try {
        type = await entryType(entry, validName ? absPath : Buffer.concat([Buffer.from(`${join(rootAbs, folder)}/`), entry.name]));
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue;
        throw err;
      }
      // Decided before the name check, so nothing inside an ignored folder is ever reported.
      if (rules.ignores(relPath, type === 'dir')) continue;
      if (!validName) {
        const shownPath = `${folder === '' ? '' : `${folder}/`}${escapeInvalidUtf8(entry.name)}`;
        // Never entered: nothing below it can be opened by a string path either.
        skipped.push(type === 'dir' ? { path: shownPath, reason: 'invalid-name', detail: 'folder' } : { path: shownPath, reason: 'invalid-name' });
        continue;
      }
      try {
        assertSafeIndexPath(relPath);
      } catch (err) {
        if (!(err instanceof UnsafePathError)) throw err;
        skipped.push({ path: relPath, reason: 'unsafe-path', detail: err.reason });
        continue;
      }
      if (type === 'dir') pending.push(relPath);
      else if (type === 'special') skipped.push({ path: relPath, reason: 'special-file' });
      else found.push({ relPath, absPath, type });
    }
  }
  return { found, skipped };
}

/** The paths of every file and symlink under root that `rules` does not ignore, without reading one. */
export async function listFolderPaths(root: string, rules: IgnoreRules): Promise<string[]> {
  const listed = await listTree(resolve(root), '', rules);
  return listed ? listed.found.map((item) => item.relPath) : [];
}

/** Lists every file and symlink under root that `rules` does not ignore, with type, mode and hash. */
export async function scanFolder(root: string, rules: IgnoreRules, options: ScanOptions = {}): Promise<ScanResult> {
  const rootAbs = resolve(root);
  const limits: FileLimits = {
    maxTextBytes: options.maxTextBytes ?? DEFAULT_MAX_TEXT_BYTES,
    maxFileBytes: options.maxFileBytes ?? Number.POSITIVE_INFINITY,
  };
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const started = performance.now();

  const under = options.under ?? '';
  const listed = await listTree(rootAbs, under, rules);
  if (!listed) return { entries: [], skipped: [], filesRead: 0 };
  const { found, skipped } = listed;

  const entries: ScannedEntry[] = [];
  const counts = { read: 0 };
  await pMap(found, async (item) => {
    const result = item.type === 'file' ? await scanFile(item, limits, options.cache, counts) : await scanSymlink(rootAbs, item);
    if ('reason' in result) skipped.push(result);
    else entries.push(result);
  }, { concurrency });

  if (options.cache) {
    const found = new Set(entries.map((e) => e.path));
    const inScope = (path: string) => under === '' || path.startsWith(`${under}/`);
    for (const path of options.cache.keys()) if (inScope(path) && !found.has(path)) options.cache.delete(path);
  }
  entries.sort(byPath);
  skipped.sort(byPath);
  options.logger?.debug(
    { root: rootAbs, files: entries.length, read: counts.read, skipped: skipped.length, ms: Math.round(performance.now() - started) },
    'folder scanned',
  );
  return { entries, skipped, filesRead: counts.read };
}
