// What a path of the folder holds right now, read without following a symlink and without
// trusting a file caught mid-write. Every read goes through the folder's disk I/O limit: a burst
// queues thousands of paths, which would otherwise all open at once.
import { constants } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { LimitFunction } from 'p-limit';
import { sharedMode } from '../common/index-entry.js';
import { unsafePathReason } from '../common/paths-in-project.js';
import { errnoCode, sha256Hex } from '../common/fs-helpers.js';

/**
 * What a path holds. `changedWhileRead`: the file's size or mtime moved during the read, or the
 * bytes read are not its size: a write is under way, and the bytes may be half of it.
 */
export type DiskState =
  | { kind: 'file'; bytes: Buffer; sha256: string; mode: number; changedWhileRead: boolean }
  | { kind: 'symlink'; target: string; sha256: string }
  | { kind: 'dir' }
  | null;

/**
 * A file that had content and reads empty, or changes while it is read, is read again after
 * these pauses (see readSettled): a save is a truncate and a write, usually a millisecond
 * apart; the sum is how long a file emptied on purpose waits.
 */
const SETTLE_PAUSES_MS = [2, 5, 10, 20, 30, 33];
const EMPTY_SHA256 = sha256Hex(new Uint8Array(0));

export class DiskReader {
  /** `baseSha256`: the hash the path held when disk and project last agreed, if any. */
  constructor(
    private readonly root: string,
    private readonly limit: LimitFunction,
    private readonly baseSha256: (path: string) => string | undefined,
  ) {}

  /** What is at `path` now. */
  read(path: string): Promise<DiskState> {
    return this.limit(() => this.readNow(path));
  }

  /**
   * read, for deciding what changed here. `writeFile` truncates before it writes: read in
   * between, a file is empty, and syncing that deletes its whole text for everyone, garbling a
   * teammate's edit made meanwhile (seen in the e2e concurrent test). So a file that had
   * content and reads empty is read again a moment later; a file really emptied costs only
   * that moment.
   */
  async readSettled(path: string): Promise<DiskState> {
    let disk = await this.read(path);
    for (const pause of SETTLE_PAUSES_MS) {
      const base = this.baseSha256(path);
      const emptied = disk?.kind === 'file' && disk.bytes.byteLength === 0 && base !== undefined && base !== EMPTY_SHA256;
      const midWrite = disk?.kind === 'file' && disk.changedWhileRead;
      if (!emptied && !midWrite) break;
      await new Promise((resolve) => setTimeout(resolve, pause));
      disk = await this.read(path);
    }
    return disk;
  }

  /** Whether a file or symlink is at `path`: a folder that took a file's name means the file is gone. */
  async fileAt(path: string): Promise<boolean> {
    const disk = await this.read(path);
    return disk !== null && disk.kind !== 'dir';
  }

  private async readNow(path: string): Promise<DiskState> {
    if (unsafePathReason(path)) return null;
    const absPath = join(this.root, path);
    try {
      const stats = await lstat(absPath);
      if (stats.isSymbolicLink()) {
        const target = await readlink(absPath);
        return { kind: 'symlink', target, sha256: sha256Hex(Buffer.from(target, 'utf8')) };
      }
      if (stats.isDirectory()) return { kind: 'dir' };
      if (!stats.isFile()) return null;
      // O_NOFOLLOW: swapped for a symlink since the lstat is not followed out of the folder.
      const handle = await open(absPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        const before = await handle.stat();
        const bytes = await handle.readFile();
        const after = await handle.stat();
        const changedWhileRead = before.size !== after.size || after.size !== bytes.byteLength || before.mtimeMs !== after.mtimeMs;
        return { kind: 'file', bytes, sha256: sha256Hex(bytes), mode: sharedMode(after.mode), changedWhileRead };
      } finally {
        await handle.close();
      }
    } catch (err) {
      // ELOOP: the file became a symlink between the lstat and the open; read what it is now.
      if (errnoCode(err) === 'ELOOP') return this.readNow(path);
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return null;
      throw err;
    }
  }
}
