// Disk -> project: the watcher's plain events become per-path work that reads what the path
// holds, decides what that means against the base and the index entry (decisions.ts), and
// carries it out on the docs (project-writes.ts). New paths wait until they settled; removals
// wait for the end of their burst (a rename, or one `rm -rf` for the discard guard); a change
// of a project path passes the discard gate first.
//
// One decision sends work the other way: a disk that still holds the base while the project
// moved on is brought in line with the project (`followProject`, RemoteChanges' writePath).
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LimitFunction } from 'p-limit';
import { MAX_TEXT_BYTES, sharedMode, type IndexEntry } from '../common/index-entry.js';
import { TEMP_FILE_PREFIX } from '../common/atomic-write.js';
import { isIgnoreRulesFile } from '../common/ignore-rules.js';
import { checkSymlinkTarget } from '../common/safe-path.js';
import { classifyContent } from './file-content.js';
import type { WatchedEvent } from './disk-watcher.js';
import { decideContentChange, decideDiskChange } from './decisions.js';
import { NewPaths } from './new-paths.js';
import { PathTimers } from './path-timers.js';
import type { PendingRemoval } from './removal-burst.js';
import type { LocalChange } from './discard-guard.js';
import { entryAt, knownPath, type FolderParts } from './folder-parts.js';

/** A disk change is read again this long after its last event (see scheduleRecheck). */
const RECHECK_DELAY_MS = 200;
/**
 * A file this daemon wrote is looked at again this long after (see wrote): longer than the
 * native watcher's batching (@parcel/watcher waits up to 500 ms to deliver a batch).
 */
const OWN_WRITE_RECHECK_MS = 750;

export type LocalChangesParts = Pick<
  FolderParts,
  'root' | 'index' | 'docs' | 'bases' | 'forgetBase' | 'rules' | 'diskReader' | 'ownWrites' | 'writes' | 'problems' | 'gate' | 'removals' | 'collisions' | 'enqueue' | 'mirroring' | 'stopped'
>;

export interface LocalChangesDeps {
  /** Files open at once (the stat of a watched change counts). */
  diskIo: LimitFunction;
  /** Watches a folder that replaced a file anew (the watcher does not look inside it). */
  rewatch: (path: string) => void;
  /** Compares the whole folder with the project again (the watcher may have missed events). */
  reconcile: () => Promise<void>;
  /** The ignore rules changed: the watcher follows them, then the folder is compared again. */
  rulesChanged: () => Promise<void>;
  /** Brings the disk at `path` in line with the project (RemoteChanges.writePath). */
  followProject: (path: string) => Promise<void>;
  /**
   * Asked again once a path's bytes are read: whether git is still not rewriting the tree and
   * the folder still on its branch. The path's work looked before the read, but a checkout
   * that began between the look and the read wrote what was read (the other branch's file,
   * sent to everyone, seen once on a loaded machine).
   */
  stillReady: (path: string) => Promise<boolean>;
}

export class LocalChanges {
  /** New paths the watcher reported, not shared until they settle (see settling.ts). */
  private readonly newPaths = new NewPaths();
  private readonly rechecks = new PathTimers();
  private readonly ownWriteChecks = new PathTimers();
  /** Folders reported removed, whose files are looked for in one pass (see sweepRemovedFolders). */
  private removedFolders = new Set<string>();
  private folderSweep: NodeJS.Immediate | null = null;

  constructor(
    private readonly parts: LocalChangesParts,
    private readonly deps: LocalChangesDeps,
  ) {}

  /** New paths waiting to settle (the folder is not idle while any do). */
  get waiting(): number {
    return this.newPaths.waiting;
  }

  /** The path's work was skipped (the folder is paused): resuming reconciles what is there. */
  skipped(path: string): void {
    this.newPaths.forget(path);
  }

  stop(): void {
    if (this.folderSweep) clearImmediate(this.folderSweep);
    this.rechecks.clearAll();
    this.ownWriteChecks.clearAll();
    this.newPaths.stop();
  }

  /** The project path a name on disk stands for (see NameCollisions.projectPath). */
  projectPath(diskPath: string): string {
    return this.parts.collisions.projectPath(diskPath, (path) => knownPath(this.parts, path));
  }

  onWatcherEvent(event: WatchedEvent): void {
    // What goes on on the disk, told apart from the reports of this daemon's own writes.
    if (!('path' in event && this.parts.ownWrites.justWrote(event.path))) this.parts.removals.noteDiskEvent();
    switch (event.type) {
      case 'changed':
        return this.onDiskEvent(event.path);
      case 'removed':
        return this.onDiskUnlink(event.path);
      case 'mode':
        return void this.checkMode(event.path);
      case 'folder':
        // A folder where the project has a file: the file was replaced by it.
        if (knownPath(this.parts, event.path)) this.onDiskEvent(event.path);
        return;
      case 'removed-folder':
        return this.onFolderRemoved(event.path);
      case 'rescan':
        return void this.deps.reconcile();
    }
  }

  /**
   * A folder is gone and the watcher said nothing of what it held (a `mv` out of the folder):
   * the files it had here are removed. Many folders go at once in an `rm -rf`, so they are
   * gathered and the bases looked through once.
   */
  private onFolderRemoved(path: string): void {
    this.removedFolders.add(path);
    this.folderSweep ??= setImmediate(() => this.sweepRemovedFolders());
  }

  private sweepRemovedFolders(): void {
    const folders = this.removedFolders;
    this.removedFolders = new Set();
    this.folderSweep = null;
    for (const [path] of this.parts.bases) {
      for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
        if (!folders.has(path.slice(0, slash))) continue;
        this.onDiskUnlink(path);
        break;
      }
    }
  }

  private onDiskEvent(diskPath: string): void {
    if (diskPath.split('/').pop()!.startsWith(TEMP_FILE_PREFIX)) return;
    const { rules } = this.parts;
    const path = this.projectPath(diskPath);
    if (isIgnoreRulesFile(path)) {
      void rules.reloadFile(path).then((changed) => (changed ? this.deps.rulesChanged() : undefined));
    }
    if (rules.ignores(path, false)) return;
    if (!knownPath(this.parts, path)) {
      // A new path is read once, when it settled; at once only when it may be a rename's target.
      const verdict = this.newPaths.noteEvent(path);
      if (this.parts.removals.size === 0 && !verdict.settled) return this.applyOnceSettled(path, verdict.recheckInMs);
    }
    void this.parts.enqueue(path, () => this.applyWatchedChange(path));
    this.scheduleRecheck(path);
  }

  /**
   * Looks at the path again a little later. An event may be read mid-write: `writeFile`
   * truncates, then writes, and when both land within one tick of the kernel's coarse file
   * clock the watcher sees one mtime and reports one change, which may have read the empty
   * file. Without a second look the truncated text would stand until the next rescan.
   */
  private scheduleRecheck(path: string): void {
    this.rechecks.set(path, RECHECK_DELAY_MS, () => {
      // Only a change is looked for: a removal has its own event.
      if (!this.parts.stopped()) void this.parts.enqueue(path, () => this.applyWatchedChange(path, { onlyIfThere: true }));
    });
  }

  /**
   * This daemon just wrote the file at `path`. A watcher that batches folds "created, then
   * removed" into nothing (@parcel/watcher does), so a user's deletion right after a teammate's
   * file arrived would be reported by no event: the path is looked at once more, a little later.
   */
  wrote(path: string): void {
    this.ownWriteChecks.set(path, OWN_WRITE_RECHECK_MS, () => {
      if (!this.parts.stopped()) void this.parts.enqueue(path, () => this.applyDiskUnlink(path));
    });
  }

  private async checkMode(path: string): Promise<void> {
    const base = this.parts.bases.get(path);
    if (!base || base.kind === 'symlink') return;
    const stats = await lstat(join(this.parts.root, path)).catch(() => null);
    if (stats?.isFile() && sharedMode(stats.mode) !== base.mode) this.onDiskEvent(path);
  }

  private onDiskUnlink(diskPath: string): void {
    const path = this.projectPath(diskPath);
    if (this.parts.rules.ignores(path, false)) return;
    this.parts.problems.clear(path);
    void this.parts.enqueue(path, () => this.applyDiskUnlink(path));
  }

  /**
   * applyDiskChange for what the watcher reported. Each remote change written here comes back
   * from the watcher, often twice (the event and its recheck): known by its stat, it is not read
   * and hashed again, which was most of what a burst cost the receiving side. A rescan reads
   * every changed file regardless, so an edit made within the instant between a write and its
   * stat (same size, same clock tick) is still found.
   */
  private async applyWatchedChange(path: string, { onlyIfThere = false } = {}): Promise<void> {
    const stats = await this.deps.diskIo(() => lstat(join(this.parts.root, path))).catch(() => null);
    if (stats ? this.parts.ownWrites.isOwn(path, stats) : onlyIfThere) return;
    return this.applyDiskChange(path, stats);
  }

  /**
   * Reads the path and carries what it holds over to the project. `decided`: the user (or the
   * end of its burst) let this change through the discard gate.
   */
  async applyDiskChange(path: string, known?: Stats | null, decided = false): Promise<void> {
    const { problems, bases, writes } = this.parts;
    if (await problems.tooLargeToShare(path, known)) return;
    const disk = await problems.readOrNoteUnreadable(path);
    if (disk === 'unreadable' || !(await this.deps.stillReady(path))) return;
    if (!disk || disk.kind === 'dir' || knownPath(this.parts, path)) this.newPaths.forget(path);
    if (!disk) {
      await problems.noteUnshareable(path);
      return this.applyDiskUnlink(path);
    }
    problems.clear(path);
    const base = bases.get(path);
    const entry = entryAt(this.parts.index, path);
    const action = decideDiskChange(disk, base, entry);
    switch (action.do) {
      case 'became-folder':
        return this.fileBecameFolder(path);
      case 'symlink':
        return disk.kind === 'symlink' ? this.applyDiskSymlink(path, disk, entry) : undefined;
      case 'unchanged':
        if (action.mode !== null && base && entry) {
          writes.setMode(path, entry, action.mode);
          await bases.setFrom(path, path, { mode: action.mode });
        }
        return;
      case 'follow-project':
        return this.deps.followProject(path);
    }
    if (disk.kind !== 'file') return;
    if (entry && !decided && !(await this.admitted(path, entry, disk.bytes))) return;
    const content = classifyContent(disk.bytes, MAX_TEXT_BYTES);
    const change = decideContentChange(entry, content.kind);
    if (change === 'new-file' || !entry) return this.applyNewDiskFile(path, disk, content);
    if (change === 'edit-text' && content.kind === 'text') return writes.editText(path, entry, base, disk, content.text);
    return writes.putContent(path, entry, base, disk, content);
  }

  /** A symlink on disk: shared when it stays inside the folder, listed as not shared when not. */
  private async applyDiskSymlink(path: string, disk: { target: string; sha256: string }, entry: IndexEntry | null): Promise<void> {
    const verdict = await checkSymlinkTarget(this.parts.root, path, disk.target);
    if (!verdict.safe) {
      this.parts.problems.note({ path, reason: 'unsafe-symlink', detail: `${verdict.reason}: ${JSON.stringify(disk.target)}` });
      return;
    }
    this.parts.writes.setSymlink(path, disk, entry);
  }

  /** A file at a path the project does not have: a rename's target, or (once settled) a new file. */
  private async applyNewDiskFile(path: string, disk: { bytes: Buffer; sha256: string; mode: number }, content: ReturnType<typeof classifyContent>): Promise<void> {
    const renamed = this.parts.removals.takeRenameSource(disk.sha256);
    if (renamed) {
      // The same bytes as the removed file's base: its text, when it is text.
      this.parts.writes.rename(renamed, path, disk.mode, content.kind === 'text' ? content.text : undefined);
      this.newPaths.forget(path);
      // A teammate's edit that had not reached the old path yet is written at the new one (the
      // disk holds the base there; soak: an edit of theta.md arriving as it was renamed here).
      if (renamed.entry.kind === 'text' && this.parts.docs.changedByServer.has(renamed.entry.id)) await this.deps.followProject(path);
      return;
    }
    const verdict = this.newPaths.verdict(path);
    if (!verdict.settled) return this.applyOnceSettled(path, verdict.recheckInMs);
    this.newPaths.forget(path);
    return this.parts.writes.putContent(path, null, undefined, disk, content);
  }

  /**
   * A folder stands where the project has a file: the file was removed and a folder of the same
   * name made. The watcher reports that as a change of the file (or as a new folder) and does
   * not look inside, so the folder is watched and the tree scanned for what it holds.
   */
  private async fileBecameFolder(path: string): Promise<void> {
    if (!knownPath(this.parts, path)) return;
    const seen = this.parts.removals.has(path);
    await this.applyDiskUnlink(path);
    // Once: the new watch lists the folder again, which reports the folder again.
    if (!seen) this.deps.rewatch(path);
  }

  private applyOnceSettled(path: string, ms: number): void {
    this.newPaths.readLater(path, ms, () => {
      if (!this.parts.stopped()) void this.parts.enqueue(path, () => this.applyDiskChange(path));
    });
  }

  /** The file is gone from disk: once its burst ended (and it was no rename), it is gone from the project. */
  async applyDiskUnlink(path: string): Promise<void> {
    const { bases, removals } = this.parts;
    if (await this.parts.diskReader.fileAt(path)) return;
    const base = bases.get(path);
    const entry = entryAt(this.parts.index, path);
    if (!entry) {
      if (base) this.parts.forgetBase(path);
      return;
    }
    if (removals.has(path)) return;
    removals.add({ path, base: base ?? { id: entry.id, kind: entry.kind, mode: entry.mode, sha256: entry.sha256 ?? '' }, entry });
  }

  /**
   * Asks the discard gate whether a local change of a project path may be sent. Share and join
   * decide for themselves (a join's --keep-local is the user's word), so only a live folder asks.
   */
  async admitted(path: string, entry: IndexEntry, disk: Uint8Array | null): Promise<boolean> {
    if (!this.parts.mirroring()) return true;
    const doc = entry.kind === 'text' ? await this.parts.docs.ensure(entry.id) : null;
    if (await this.parts.gate.admit({ path, entry, doc, disk })) return true;
    if (this.parts.gate.waitingRemovals > 0) this.parts.removals.schedule();
    return false;
  }

  /**
   * The burst of removals ended: what is still gone (no rename took it) is classified, and the
   * discard gate sends it or holds it, as one burst.
   */
  async endRemovalBurst(pending: PendingRemoval[]): Promise<void> {
    const { gate, enqueue } = this.parts;
    const deleted: LocalChange[] = [];
    await Promise.all(
      pending.map(({ path, entry }) =>
        enqueue(path, async () => {
          const current = entryAt(this.parts.index, path);
          if (current?.id !== entry.id || (await this.parts.diskReader.fileAt(path))) return;
          const doc = current.kind === 'text' ? await this.parts.docs.ensure(current.id) : null;
          deleted.push(await gate.classify({ path, entry: current, doc, disk: null }));
        }),
      ),
    );
    const ids = new Map(pending.map(({ path, entry }) => [path, entry.id]));
    for (const change of await gate.decideRemovals(deleted)) {
      const id = ids.get(change.path);
      if (change.effect === 'emptied' || id === undefined) void enqueue(change.path, () => this.applyDiskChange(change.path, undefined, true));
      else void enqueue(change.path, () => this.deleteFromProject(change.path, id));
    }
  }

  /** Removes the file from the project, unless it came back or the path names another file now. */
  async deleteFromProject(path: string, id: string): Promise<void> {
    if (await this.parts.diskReader.fileAt(path)) return;
    if (entryAt(this.parts.index, path)?.id !== id) return;
    this.parts.writes.delete(path);
  }
}
