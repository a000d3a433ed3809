// Project -> disk: a teammate's change of the index (a new path, a removal, a rename) or of a
// file doc becomes per-path work that reads what the disk holds, decides against the base
// (decisions.ts) and carries it out on the disk (disk-writes.ts). A path whose local change
// waits for the user's decision (the discard gate) is not written; a text edit on disk the
// watcher has not reported yet is merged in first, so neither side's edit is lost.
//
// One decision sends work the other way: a file a teammate removed that was edited here is
// kept and shared again as a new file (`shareLocal`, LocalChanges' applyDiskChange).
import type * as Y from 'yjs';
import { MAX_TEXT_BYTES, contentText, filesMap, parseIndexEntry, type IndexEntry } from '../common/index-entry.js';
import { unsafePathReason } from '../common/paths-in-project.js';
import { fileDocName } from '../common/protocol.js';
import { applyTextChange, lineStats } from '../common/text-diff.js';
import { classifyContent, sha256Hex } from './file-content.js';
import { decideProjectWrite, decideRemoteRemoval, decideRemoteRename, decideUnreportedEdit, planIndexChanges, type IndexKeyChange } from './decisions.js';
import type { DiskState } from './disk-reader.js';
import { baseFor } from './folder-bases.js';
import type { Base } from './base-store.js';
import { LOCAL_ORIGIN, newFileId } from './project-writes.js';
import { REMOTE_ORIGIN } from './server-connection.js';
import { PathsByFileId } from './paths-by-id.js';
import { mergeText } from './text-merge.js';
import { entryAt, type FolderParts } from './folder-parts.js';

export type RemoteChangesParts = Pick<
  FolderParts,
  'root' | 'log' | 'index' | 'docs' | 'bases' | 'rules' | 'diskReader' | 'ownWrites' | 'disk' | 'gate' | 'collisions' | 'connection' | 'enqueue' | 'mirroring' | 'activity' | 'event'
>;

export interface RemoteChangesDeps {
  /** Shares what the disk holds at `path` (LocalChanges.applyDiskChange). */
  shareLocal: (path: string) => Promise<void>;
  /** Whether the discard gate lets a local change of a project path through (LocalChanges.admitted). */
  admitted: (path: string, entry: IndexEntry, disk: Uint8Array) => Promise<boolean>;
  /** A file was just written or moved here (LocalChanges.wrote: its removal right after may go unreported). */
  wrote: (path: string) => void;
}

export class RemoteChanges {
  private readonly pathsById: PathsByFileId;

  constructor(
    private readonly parts: RemoteChangesParts,
    private readonly deps: RemoteChangesDeps,
  ) {
    this.pathsById = new PathsByFileId(filesMap(parts.index));
  }

  /** Usually one path; two when both sides renamed the same file at once (same id, two keys). */
  pathsOfFileId(id: string): string[] {
    return this.pathsById.of(id);
  }

  /** Writes every path of a file whose doc changed remotely. */
  docChanged(id: string): void {
    if (!this.parts.mirroring()) return;
    const paths = this.pathsOfFileId(id);
    // A stalled soak seed is read from these lines: which remote doc change reached which paths.
    this.parts.log.debug({ id, paths }, 'remote doc change');
    for (const path of paths) void this.parts.enqueue(path, () => this.writePath(path));
  }

  /** A doc whose content was awaited arrived: its paths are written now. */
  docArrived(id: string): void {
    if (!this.parts.mirroring()) return;
    const paths = this.pathsOfFileId(id);
    for (const path of paths) void this.parts.enqueue(path, () => this.writePath(path));
    this.splitSharedIds(paths);
  }

  /** The index's files changed: renames are moved, the other keys written. */
  readonly onFilesChanged = (event: Y.YMapEvent<IndexEntry>): void => {
    if (event.transaction.origin !== REMOTE_ORIGIN) return;
    const files = filesMap(this.parts.index);
    const changes: IndexKeyChange[] = [...event.changes.keys].map(([path, change]) =>
      change.action === 'delete' ? { path, deleted: true, old: parseIndexEntry(change.oldValue) } : { path, deleted: false, entry: parseIndexEntry(files.get(path)) },
    );
    for (const action of planIndexChanges(changes)) {
      if (action.do === 'rename') void this.parts.enqueue(action.to, () => this.applyRemoteRename(action.from, action.to));
      else void this.parts.enqueue(action.path, () => this.writePath(action.path));
    }
    this.splitSharedIds(changes.filter((change) => !change.deleted && change.entry).map((change) => change.path));
  };

  /** The path holds nothing of the project's any more: its base goes, what waited for it is written. */
  forgetBase(path: string): void {
    this.parts.bases.delete(path);
    this.parts.ownWrites.forget(path);
    for (const child of this.parts.disk.released(path)) void this.parts.enqueue(child, () => this.writePath(child));
  }

  /**
   * Whether `path` can be written (see DiskWrites.clearWayTo). A file of ours in its way that
   * the project no longer has is brought in line first: its removal runs on its own path.
   */
  async clearWayTo(path: string, folderAtPath: boolean): Promise<boolean> {
    for (const ancestor of this.parts.disk.staleAncestors(path)) await this.parts.enqueue(ancestor, () => this.writePath(ancestor));
    return this.parts.disk.clearWayTo(path, folderAtPath);
  }

  /**
   * Two keys with one id: both sides renamed the same file at once. The two files would share
   * one doc (an edit of one would rewrite the other) and the server keeps one path per id, so
   * every path but the first in sort order (the same choice on every side) becomes a copy with
   * an id of its own. Both sides may split at once; the index keeps one of the new ids, and
   * both copies hold the same text.
   */
  splitSharedIds(paths: Iterable<string>): void {
    for (const path of paths) {
      const id = (filesMap(this.parts.index).get(path) as IndexEntry | undefined)?.id;
      if (typeof id !== 'string' || this.pathsById.count(id) < 2) continue;
      if (this.sharedIdToSplit(path)) void this.parts.enqueue(path, () => this.giveOwnId(path));
    }
  }

  private sharedIdToSplit(path: string): IndexEntry | null {
    const entry = entryAt(this.parts.index, path);
    if (!entry) return null;
    const sharing = this.pathsOfFileId(entry.id).sort();
    return sharing.length > 1 && sharing[0] !== path ? entry : null;
  }

  private async giveOwnId(path: string): Promise<void> {
    const { docs, bases, index } = this.parts;
    const entry = this.sharedIdToSplit(path);
    if (!entry) return;
    const id = newFileId();
    if (entry.kind === 'text') {
      if (await this.awaitingContent(entry)) return; // Writing the path once it arrived splits it then.
      await docs.create(id, contentText(await docs.ensure(entry.id)).toString());
    }
    index.transact(() => filesMap(index).set(path, { ...entry, id }), LOCAL_ORIGIN);
    const base = bases.get(path);
    if (base?.id === entry.id) await bases.setFrom(path, path, { id });
    this.parts.log.info({ path, from: entry.id, to: id }, 'a path sharing its file id with another became a copy');
    await this.writePath(path);
  }

  /** An index path this folder will not write (outside it, or not a path), reported. */
  refusePath(path: string): boolean {
    const reason = unsafePathReason(path);
    if (!reason) return false;
    this.parts.log.warn({ path: path.slice(0, 300), reason }, 'refused an index entry');
    this.parts.event({ type: 'error', root: this.parts.root, message: `refused ${JSON.stringify(path.slice(0, 100))}: ${reason}` });
    return true;
  }

  private async applyRemoteRename(oldPath: string, newPath: string): Promise<void> {
    const { bases, diskReader, gate } = this.parts;
    if (this.refusePath(newPath)) return;
    // Held here: the resume that decides reconciles the folder, which moves what is left.
    if (gate.holds(oldPath) || gate.holds(newPath)) return;
    const base = bases.get(oldPath);
    const disk = await diskReader.read(oldPath);
    const target = await diskReader.read(newPath);
    if (base && decideRemoteRename(base, disk, target !== null) === 'move' && (await this.parts.disk.moveFile(oldPath, newPath))) {
      await bases.setFrom(newPath, oldPath);
      this.forgetBase(oldPath);
      this.deps.wrote(newPath);
      this.parts.activity('remote', 'renamed', newPath, { oldPath });
    } else {
      // Something changed (or went) locally meanwhile: handle as a delete and an add. A file
      // removed here between the look and the move used to fail the path until the next rescan.
      await this.writePath(oldPath);
    }
    await this.writePath(newPath);
  }

  /** Brings the disk at `path` in line with the index and the file's doc. */
  async writePath(path: string): Promise<void> {
    const { bases, gate } = this.parts;
    if (this.refusePath(path) || this.parts.rules.ignores(path, false) || this.parts.collisions.has(path)) return;
    // A local change of the path waits for the user's decision: writing now would fold it in.
    if (gate.holds(path)) return;
    const entry = entryAt(this.parts.index, path);
    const base = bases.get(path);
    if (entry?.kind === 'text' && (await this.awaitingContent(entry))) return;
    const disk = await this.parts.diskReader.readSettled(path);
    if (!entry) return this.writeRemoval(path, disk, base);
    if (!(await this.clearWayTo(path, disk?.kind === 'dir'))) return;
    if (entry.kind === 'text') {
      // Only bytes that differ from the base can be an unreported edit: the rest is not classified.
      const local = disk?.kind === 'file' && disk.sha256 !== base?.sha256 ? classifyContent(disk.bytes, MAX_TEXT_BYTES) : null;
      const unreported = decideUnreportedEdit(disk, base, local?.kind ?? null, entry.kind);
      if (unreported === 'share-local') return this.deps.shareLocal(path);
      return this.writeText(path, entry, disk, base, unreported === 'merge-text' && local?.kind === 'text' ? local.text : null);
    }
    // The entry names its bytes by hash: a disk that holds them needs no download.
    const wantedSha256 = entry.kind === 'symlink' ? sha256Hex(Buffer.from(entry.target ?? '', 'utf8')) : entry.sha256!;
    if (decideProjectWrite(disk, { kind: entry.kind, sha256: wantedSha256, mode: entry.mode }) === 'record-base') {
      bases.set(path, baseFor(entry, { sha256: wantedSha256 }));
      return;
    }
    if (decideUnreportedEdit(disk, base, null, entry.kind) === 'share-local') return this.deps.shareLocal(path);
    const wanted = await this.parts.disk.projectBytes(entry);
    await this.parts.disk.writeEntry(path, entry, wanted);
    this.deps.wrote(path);
    this.parts.activity('remote', base ? 'edited' : 'created', path);
  }

  /** The project no longer has `path`. */
  private async writeRemoval(path: string, disk: DiskState | null, base: Base | undefined): Promise<void> {
    const removal = decideRemoteRemoval(disk, base);
    if (removal === 'nothing') return;
    if (removal === 'remove-local') await this.parts.disk.removeFile(path);
    this.forgetBase(path);
    if (removal === 'remove-local') this.parts.activity('remote', 'deleted', path);
    if (removal === 'keep-local-as-new') await this.deps.shareLocal(path);
  }

  /** `localText`: an edit here the watcher has not reported, merged into the doc first. */
  private async writeText(path: string, entry: IndexEntry, disk: DiskState | null, base: Base | undefined, localText: string | null): Promise<void> {
    const { docs, bases } = this.parts;
    if (await this.awaitingContent(entry)) return;
    const doc = await docs.ensure(entry.id);
    const ytext = contentText(doc);
    let text = ytext.toString();
    if (localText !== null && disk?.kind === 'file') {
      // Folded in first (also when the entry now names another doc, e.g. a copy made when both
      // sides renamed the file at once), so neither side's edit is lost.
      if (!(await this.deps.admitted(path, entry, disk.bytes))) return;
      const merged = mergeText((await bases.text(path))!, localText, text);
      doc.transact(() => applyTextChange(ytext, text, merged), LOCAL_ORIGIN);
      text = merged;
    }
    const bytes = Buffer.from(text, 'utf8');
    const sha256 = sha256Hex(bytes);
    docs.changedByServer.delete(entry.id);
    const written = { id: entry.id, kind: 'text' as const, mode: entry.mode, sha256, text };
    if (decideProjectWrite(disk, { kind: 'text', sha256, mode: entry.mode }) === 'record-base') {
      this.parts.log.debug({ path }, 'the disk already holds the project\'s text');
      bases.set(path, written);
      docs.writtenToDisk(entry.id);
      return;
    }
    const previous = (await bases.text(path)) ?? '';
    await this.parts.disk.writeFile(path, bytes, entry.mode, { sha256 });
    this.deps.wrote(path);
    bases.set(path, written);
    docs.writtenToDisk(entry.id);
    this.parts.activity('remote', base ? 'edited' : 'created', path, lineStats(previous, text));
  }

  /**
   * Whether a text entry's content has yet to arrive (its doc is empty, not synced, and the
   * entry says it has bytes): its arrival writes the path, so nothing is read or written now.
   */
  private async awaitingContent(entry: IndexEntry): Promise<boolean> {
    const doc = await this.parts.docs.ensure(entry.id);
    if (this.parts.connection.isSynced(fileDocName(entry.id)) || contentText(doc).length > 0 || entry.size === 0) return false;
    this.parts.docs.writeWhenSynced(entry.id);
    this.parts.connection.requestSync(fileDocName(entry.id));
    return true;
  }
}
