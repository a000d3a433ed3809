// Every change the network makes to the folder lands through these three functions. A write is
// a temp file in the same folder, fsynced, then renamed over the target: an editor or build
// tool reading the file sees the old bytes or the new ones, never half of each, and a crash
// leaves at worst a stray temp file that IgnoreRules hides. Paths go through resolveInside
// first, and folders created on the way are checked again as they are made.
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, realpath, rename, rmdir, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { checkSymlinkTarget, resolveInside, UnsafePathError, type CheckedFolders } from './safe-path.js';
import { errnoCode } from './fs-helpers.js';
import type { SyncLater } from './sync-later.js';

/** Name prefix of the daemon's temp files; IgnoreRules ignores it so the watcher never syncs one. */
export const TEMP_FILE_PREFIX = '.codeshare-tmp-';

export interface WriteFileOptions {
  /**
   * Permission bits for the file. Without it an existing file keeps its mode and a new one gets
   * the usual 0o666 minus the umask. Only the 0o777 bits are applied: a peer must not be able to
   * plant a setuid or setgid file.
   */
  mode?: number;
  /** Folders a bulk write already checked (see CheckedFolders). */
  checked?: CheckedFolders;
  /**
   * A bulk write's durability: the file is not fsynced here but noted, and made durable with
   * the others by the caller's flush (see sync-later.ts).
   */
  syncLater?: SyncLater;
}

export interface WrittenFile {
  absPath: string;
  mode: number;
  /**
   * The written file's stat, taken from its own handle before it was moved into place: what
   * the file at absPath looks like while nobody else has written it (the move keeps inode,
   * size and mtime). A stat of absPath after the move could already show someone else's write.
   */
  stats: Stats;
}

function isFolderError(path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${path} is a folder`);
  err.code = 'EISDIR';
  err.path = path;
  return err;
}

// A random stem per process and a counter: unique names without a call into the system's
// random source per file (a visible share of a 40,000-file join). O_EXCL still refuses a name
// that is somehow taken.
const tempStem = `${randomBytes(6).toString('hex')}-${process.pid}-`;
let tempCounter = 0;

function tempPathBeside(absPath: string): string {
  return join(dirname(absPath), `${TEMP_FILE_PREFIX}${tempStem}${(tempCounter++).toString(36)}`);
}

/**
 * Creates the missing folders between root and the target one at a time, checking after each
 * step that what stands there is a real folder: a symlink slipped in since resolveInside looked
 * is refused rather than followed.
 */
async function ensureParentFolders(root: string, relPath: string, checked?: CheckedFolders): Promise<void> {
  const rootReal = checked?.rootReal ?? (await realpath(root));
  const segments = relPath.split('/').slice(0, -1);
  let current = rootReal;
  for (const [index, segment] of segments.entries()) {
    current = join(current, segment);
    if (checked?.folders.has(current)) continue;
    // Usually there: looked at first, made only when missing (a failed mkdir costs an error).
    let stats = await lstat(current).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
      return null;
    });
    if (!stats) {
      try {
        await mkdir(current);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      stats = await lstat(current);
    }
    if (stats.isSymbolicLink()) {
      throw new UnsafePathError(relPath, 'symlink-ancestor', segments.slice(0, index + 1).join('/'));
    }
    if (!stats.isDirectory()) {
      const err: NodeJS.ErrnoException = new Error(`${current} is not a folder`);
      err.code = 'ENOTDIR';
      err.path = current;
      throw err;
    }
    checked?.folders.add(current);
  }
}

async function syncFolder(folder: string): Promise<void> {
  // Makes the rename itself durable. Some file systems refuse fsync on a folder; the data is
  // already synced, so that only weakens crash ordering, it does not lose the file.
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // best effort, see above
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Writes `bytes` to `relPath` under root atomically. Throws UnsafePathError for a refused path. */
export async function writeFileAtomic(
  root: string,
  relPath: string,
  bytes: Uint8Array,
  options: WriteFileOptions = {},
): Promise<WrittenFile> {
  const absPath = await resolveInside(root, relPath, options.checked);
  await ensureParentFolders(root, relPath, options.checked);
  // Without a mode given, an existing file keeps its own. With one, the target is not looked
  // at: a folder standing there makes the rename fail, and that failure says so.
  const mode = options.mode === undefined ? await modeToKeep(absPath) : options.mode & 0o777;

  const tempPath = tempPathBeside(absPath);
  let handle: FileHandle | undefined;
  try {
    // O_EXCL: never open something already there, including a symlink planted at that name.
    handle = await open(tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode ?? 0o666);
    await handle.writeFile(bytes);
    let stats = await handle.stat();
    // The umask may have taken bits the mode asks for: only then a chmod (and a stat again).
    if (mode !== undefined && (stats.mode & 0o777) !== mode) {
      await handle.chmod(mode);
      stats = await handle.stat();
    }
    if (!options.syncLater) await handle.sync();
    await handle.close();
    handle = undefined;
    await renameOver(tempPath, absPath);
    if (options.syncLater) options.syncLater.note(absPath, stats.dev);
    else await syncFolder(dirname(absPath));
    return { absPath, mode: stats.mode & 0o777, stats };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(tempPath).catch(() => undefined);
    throw err;
  }
}

/** The mode of the file at absPath, to keep when it is replaced; undefined when there is none. */
async function modeToKeep(absPath: string): Promise<number | undefined> {
  try {
    const existing = await lstat(absPath);
    if (existing.isDirectory()) throw isFolderError(absPath);
    // A symlink being replaced by a file has no mode worth keeping.
    return existing.isFile() ? existing.mode & 0o777 : undefined;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    return undefined;
  }
}

/** rename(2), with a folder in the way reported as such (EISDIR, or ENOTEMPTY/EEXIST elsewhere). */
async function renameOver(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    const isFolder = await lstat(to).then((stats) => stats.isDirectory(), () => false);
    throw isFolder ? isFolderError(to) : err;
  }
}

/**
 * Removes the file or symlink at `relPath` (never follows it), then removes parent folders
 * the removal left empty, up to but never including root. A folder still holding anything,
 * ignored files included, stays. Resolves to false when there was nothing to remove.
 */
export async function removeFileSafe(root: string, relPath: string): Promise<boolean> {
  const absPath = await resolveInside(root, relPath);
  let stats;
  try {
    stats = await lstat(absPath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
  if (stats.isDirectory()) throw isFolderError(absPath);
  await unlink(absPath);

  const rootReal = await realpath(root);
  let folder = dirname(absPath);
  while (folder.startsWith(rootReal + sep)) {
    try {
      await rmdir(folder);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT' || code === 'EBUSY' || code === 'EACCES' || code === 'EPERM') break;
      throw err;
    }
    folder = dirname(folder);
  }
  return true;
}

/**
 * Creates (or atomically replaces) a symlink at `relPath` pointing to `target`, which must stay
 * inside the folder (see checkSymlinkTarget). Throws UnsafePathError otherwise.
 */
export async function createSymlinkSafe(root: string, relPath: string, target: string): Promise<string> {
  const absPath = await resolveInside(root, relPath);
  const verdict = await checkSymlinkTarget(root, relPath, target);
  if (!verdict.safe) throw new UnsafePathError(relPath, verdict.reason, `symlink target ${JSON.stringify(target)}`);
  await ensureParentFolders(root, relPath);
  try {
    if ((await lstat(absPath)).isDirectory()) throw isFolderError(absPath);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const tempPath = tempPathBeside(absPath);
  try {
    await symlink(target, tempPath);
    await rename(tempPath, absPath);
  } catch (err) {
    await unlink(tempPath).catch(() => undefined);
    throw err;
  }
  await syncFolder(dirname(absPath));
  return absPath;
}
