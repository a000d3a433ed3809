// The project's side carried out on the disk: the bytes an entry stands for (a doc's text, a
// downloaded blob checked against its hash), written atomically, and the way to a path cleared
// when a teammate replaced a file with a folder of the same name (or a folder with a file),
// whose new paths and removals may arrive in either order.
import type { Stats } from 'node:fs';
import { mkdir, rename, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LimitFunction } from 'p-limit';
import type * as Y from 'yjs';
import { contentText, type IndexEntry } from '../common/index-entry.js';
import { createSymlinkSafe, removeFileSafe, writeFileAtomic } from '../common/atomic-write.js';
import { resolveInside, type CheckedFolders } from '../common/safe-path.js';
import { errnoCode } from '../common/fs-helpers.js';
import { SyncLater } from '../common/sync-later.js';
import type { StoredBase } from './base-store.js';
import { sha256Hex } from './file-content.js';
import { baseFor, type FolderBases } from './folder-bases.js';
import type { FileDocs } from './file-docs.js';
import type { OwnWrites } from './own-writes.js';

/** The bytes the project holds for an entry; `text` for a text entry. */
export interface ProjectBytes {
  bytes: Uint8Array;
  sha256: string;
  text?: string;
}

export interface DiskWritesDeps {
  root: string;
  /** Files open at once. */
  diskIo: LimitFunction;
  /** Blob downloads at once. */
  transfers: LimitFunction;
  downloadBlob: (sha256: string) => Promise<Uint8Array>;
  docs: FileDocs;
  bases: FolderBases;
  ownWrites: OwnWrites;
  files: () => Y.Map<IndexEntry>;
  /** A file this daemon wrote, with its stat: a rescan need not read it back (see FolderProblems.noteWritten). */
  written: (path: string, stats: Stats, bytes: Uint8Array, sha256: string) => void;
}

/** A write that is part of a bulk write: folders checked once for all, durability per batch. */
export interface BulkWrite {
  checked: CheckedFolders;
  batch: WriteBatch;
}

/**
 * Part of a bulk write (a join): its files made durable together rather than one by one, and
 * their bases recorded only then, so a base never names bytes a crash could still take away.
 */
export class WriteBatch {
  readonly syncLater = new SyncLater();
  private readonly bases: [string, StoredBase][] = [];

  recordBase(path: string, base: StoredBase): void {
    this.bases.push([path, base]);
  }

  /** Makes the batch's files durable, then records their bases. */
  async commit(bases: FolderBases): Promise<void> {
    await this.syncLater.flush();
    for (const [path, base] of this.bases) bases.set(path, base);
    this.bases.length = 0;
  }
}

export class DiskWrites {
  /**
   * Paths not written because a file of ours stands in their way (where they need a folder, or
   * inside the folder that stands where they need a file), by that file's path: its removal
   * releases them.
   */
  private readonly waitingFor = new Map<string, Set<string>>();

  constructor(private readonly deps: DiskWritesDeps) {}

  /** The project's bytes for an entry (text from its doc, binary from its blob). */
  async projectBytes(entry: IndexEntry): Promise<ProjectBytes> {
    if (entry.kind === 'text') {
      const text = contentText(await this.deps.docs.ensure(entry.id)).toString();
      const bytes = Buffer.from(text, 'utf8');
      return { bytes, sha256: sha256Hex(bytes), text };
    }
    if (entry.kind === 'symlink') {
      const bytes = Buffer.from(entry.target ?? '', 'utf8');
      return { bytes, sha256: sha256Hex(bytes) };
    }
    const bytes = await this.deps.transfers(() => this.deps.downloadBlob(entry.sha256!));
    const sha256 = sha256Hex(bytes);
    if (sha256 !== entry.sha256) throw new Error(`blob ${entry.sha256} arrived with the wrong content`);
    return { bytes, sha256 };
  }

  /**
   * Writes an entry's bytes at `path` and records them as the path's base; in a bulk write's
   * batch, the base is recorded once the batch is durable (see WriteBatch).
   */
  async writeEntry(path: string, entry: IndexEntry, wanted: ProjectBytes, bulk?: BulkWrite): Promise<void> {
    if (entry.kind === 'symlink') {
      await this.deps.diskIo(() => createSymlinkSafe(this.deps.root, path, entry.target!));
    } else {
      await this.writeFile(path, wanted.bytes, entry.mode, { bulk, sha256: wanted.sha256 });
    }
    if (bulk) bulk.batch.recordBase(path, baseFor(entry, wanted));
    else this.deps.bases.set(path, baseFor(entry, wanted));
  }

  /** Writes a file atomically and remembers it as this daemon's own write; `sha256`: of `bytes`, where known. */
  async writeFile(path: string, bytes: Uint8Array, mode: number, { bulk, sha256 }: { bulk?: BulkWrite | undefined; sha256?: string } = {}): Promise<void> {
    // A fresh CheckedFolders by default: the write checks each folder once, not once in each of two steps.
    const options = { mode, checked: bulk?.checked ?? { folders: new Set<string>() }, ...(bulk ? { syncLater: bulk.batch.syncLater } : {}) };
    const written = await this.deps.diskIo(() => writeFileAtomic(this.deps.root, path, bytes, options));
    this.deps.ownWrites.note(path, written.stats);
    this.deps.written(path, written.stats, bytes, sha256 ?? sha256Hex(bytes));
  }

  /** Removes the file at `path`; whether there was one. */
  removeFile(path: string): Promise<boolean> {
    return this.deps.diskIo(() => removeFileSafe(this.deps.root, path));
  }

  /**
   * Moves the file at `from` to `to` (a teammate's rename); false when `from` is gone: removed
   * here between the caller's look and the move (a local deletion racing the remote rename).
   */
  async moveFile(from: string, to: string): Promise<boolean> {
    const source = await resolveInside(this.deps.root, from);
    const target = await resolveInside(this.deps.root, to);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(source, target);
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Files of ours on the way to `path` (at an ancestor of it) that the project no longer has:
   * the caller brings each in line (removes it) before asking clearWayTo.
   */
  staleAncestors(path: string): string[] {
    return this.ancestorsWithBase(path).filter((ancestor) => !this.deps.files().has(ancestor));
  }

  /**
   * Whether `path` can be written: no file of ours stands where it needs a folder, no folder
   * where it needs a file. A file of ours still on the way is about to go (the project has it
   * elsewhere, or its removal is queued): the path waits for its removal (see released).
   */
  async clearWayTo(path: string, folderAtPath: boolean): Promise<boolean> {
    const { bases } = this.deps;
    const blocker = this.ancestorsWithBase(path)[0];
    if (blocker !== undefined) {
      this.waitFor(blocker, path);
      return false;
    }
    if (!folderAtPath) return true;
    // A folder where the project has a file (a teammate replaced a folder with a file of the
    // same name): its files leave first; removing the last one removes the folder.
    const inside = [...bases.keys()].filter((other) => other.startsWith(`${path}/`));
    for (const blocker of inside) this.waitFor(blocker, path);
    if (inside.length > 0) return false;
    await rmdir(await resolveInside(this.deps.root, path)).catch((err: unknown) => {
      throw new Error(`a folder with files the project does not have stands where it has a file (${(err as Error).message})`);
    });
    return true;
  }

  private ancestorsWithBase(path: string): string[] {
    const found: string[] = [];
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const ancestor = path.slice(0, slash);
      if (this.deps.bases.has(ancestor)) found.push(ancestor);
    }
    return found;
  }

  /** The file at `blocker` is gone: the paths that waited for it, to be written now. */
  released(blocker: string): string[] {
    const waiting = this.waitingFor.get(blocker);
    if (!waiting) return [];
    this.waitingFor.delete(blocker);
    return [...waiting];
  }

  private waitFor(blocker: string, path: string): void {
    const waiting = this.waitingFor.get(blocker) ?? new Set<string>();
    this.waitingFor.set(blocker, waiting.add(path));
  }
}
