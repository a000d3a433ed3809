// What the sync engine does about what it saw, decided without I/O, timers or class state: from
// the path's base (what disk and project held when they last agreed), what the disk holds now
// and the project's index entry, to one action. The folder mirror reads, asks here, and carries
// the action out; the tables in test/daemon/decisions.test.ts pin every row (the shape of
// Mutagen's reconcile_test.go).
import { sharedMode, type IndexEntry } from '../common/index-entry.js';
import type { ConnectionState, SyncState } from '../common/control-protocol.js';
import type { Base } from './base-store.js';

/** What the disk holds at a path, as far as deciding needs: its kind, bytes' hash and mode. */
export type DiskFacts = { kind: 'file'; sha256: string; mode: number } | { kind: 'symlink'; sha256: string } | { kind: 'dir' } | null;

export type DiskChangeAction =
  /** Nothing is there any more: the file was removed here. */
  | { do: 'removed' }
  /** A folder took the file's name. */
  | { do: 'became-folder' }
  | { do: 'symlink' }
  /**
   * The bytes are the base's: our own write echoing back, a touch, or a chmod here. `mode`: the
   * mode changed here (it differs from the base), to share unless the entry has it already.
   */
  | { do: 'unchanged'; mode: number | null }
  /**
   * Nothing changed here since the last sync, yet the project moved on (the path was removed or
   * given another file there): this is the echo of our own earlier write. Sharing it would undo
   * the teammate's change on every side; the disk follows the project instead.
   */
  | { do: 'follow-project' }
  /** The file changed here: what that means depends on its content (see decideContentChange). */
  | { do: 'changed-here' };

/** A disk change of a path, read now. */
export function decideDiskChange(disk: DiskFacts, base: Base | undefined, entry: IndexEntry | null): DiskChangeAction {
  if (!disk) return { do: 'removed' };
  if (disk.kind === 'dir') return { do: 'became-folder' };
  if (disk.kind === 'symlink') return { do: 'symlink' };
  if (base && entry && base.id === entry.id && base.sha256 === disk.sha256) {
    // Only a mode that differs from the base was changed here; one that differs only from the
    // entry is a teammate's chmod not written yet, and must not be reverted.
    return { do: 'unchanged', mode: disk.mode !== base.mode ? disk.mode : null };
  }
  if (base && base.sha256 === disk.sha256 && base.mode === disk.mode) return { do: 'follow-project' };
  return { do: 'changed-here' };
}

export type ContentChangeAction =
  /** A file at a path the project does not have: a rename's target, or a new file. */
  | 'new-file'
  /** Text edited here: diffed against the base into the doc, merged with what the doc has meanwhile. */
  | 'edit-text'
  /** Binary content, or a change of kind: the entry is replaced. */
  | 'replace-content';

/** A file changed here (decideDiskChange said so), by what its bytes are now. */
export function decideContentChange(entry: IndexEntry | null, content: 'text' | 'binary'): ContentChangeAction {
  if (!entry) return 'new-file';
  return entry.kind === 'text' && content === 'text' ? 'edit-text' : 'replace-content';
}

/** What a rescan found at a path the disk has. */
export interface ScanFinding {
  sha256: string;
  kind: 'text' | 'binary' | 'symlink';
  mode: number;
}

export type RescanAction =
  /** The disk changed since the base (or has a file the base does not know): read it. */
  | 'read-disk'
  /** The project removed or changed the path since the base: bring the disk in line. */
  | 'write-project'
  | 'nothing';

/**
 * A rescan's verdict on a path the disk has. `projectAhead`: the project holds something other
 * than the base there (see projectAheadOfBase); `checkEveryPath`: the periodic full check.
 */
export function decideRescanFinding(
  found: ScanFinding,
  base: Base | undefined,
  inProject: boolean,
  { projectAhead, checkEveryPath }: { projectAhead: boolean; checkEveryPath: boolean },
): RescanAction {
  // Deleted from the project since it was last here: removed, or kept if changed here.
  if (base && !inProject) return 'write-project';
  const mode = found.kind === 'symlink' ? 0o777 : sharedMode(found.mode);
  if (!base || base.sha256 !== found.sha256 || base.mode !== mode) return 'read-disk';
  return checkEveryPath || projectAhead ? 'write-project' : 'nothing';
}

/**
 * Whether the project holds something other than the base at a path whose disk holds the base.
 * `docLength`: a text entry's doc length now (Yjs keeps it, so this costs nothing and catches
 * most text that drifted), undefined when the doc is not loaded; `docChanged`: the server
 * changed the doc since the path was last written.
 */
export function projectAheadOfBase(base: Base, entry: IndexEntry | null, text: { docLength: number | undefined; docChanged: boolean }): boolean {
  if (!entry) return true;
  if (entry.id !== base.id || entry.kind !== base.kind || entry.mode !== base.mode) return true;
  if (entry.kind === 'text') return text.docChanged || (text.docLength !== undefined && base.textLength !== undefined && text.docLength !== base.textLength);
  if (entry.kind === 'binary') return entry.sha256 !== base.sha256;
  return entry.target !== base.target;
}

export type RemovalAction =
  /** Nothing to do: the path was never here. */
  | 'nothing'
  /** The file is gone here too: only the base is forgotten. */
  | 'forget-base'
  /** The disk still holds what the project last had: the file is removed here too. */
  | 'remove-local'
  /** Deleted there, changed here: the local version stays, as a new file of the project. */
  | 'keep-local-as-new';

/** The project no longer has the path (a teammate deleted it): what happens to the disk's copy. */
export function decideRemoteRemoval(disk: DiskFacts, base: Base | undefined): RemovalAction {
  if (!base) return 'nothing';
  if (!disk) return 'forget-base';
  return disk.kind !== 'dir' && disk.sha256 === base.sha256 ? 'remove-local' : 'keep-local-as-new';
}

/**
 * The one word a folder's status shows. A pause (a branch switch, a halted burst) comes first:
 * it is the user's to resolve. Then the connection; then whether anything is still on its way
 * (`pending`: paths queued, new files settling, removals waiting for their burst to end).
 */
export function syncStateOf({ paused, connection, unsaved, pending }: { paused: boolean; connection: ConnectionState; unsaved: number; pending: boolean }): SyncState {
  if (paused) return 'paused';
  if (connection === 'refused') return 'refused';
  if (connection !== 'online') return 'offline';
  return unsaved > 0 || pending ? 'unsaved' : 'synced';
}

/** One key of a remote change of the index: added or updated (with its entry now), or deleted (with its entry before). */
export type IndexKeyChange = { path: string; deleted: false; entry: IndexEntry | null } | { path: string; deleted: true; old: IndexEntry | null };

export type IndexChangeAction = { do: 'rename'; from: string; to: string } | { do: 'write'; path: string };

/**
 * What a remote change of the index means for the disk. A deleted key whose file id reappears
 * under a new key was renamed: the file is moved, not removed and written again. One new key
 * takes the file over; a second new key with the same id (both sides renamed it at once) is
 * written as a file of its own. Every other key is written as the project now has it.
 */
export function planIndexChanges(changes: readonly IndexKeyChange[]): IndexChangeAction[] {
  const addedById = new Map<string, string[]>();
  for (const change of changes) {
    if (!change.deleted && change.entry) addedById.set(change.entry.id, [...(addedById.get(change.entry.id) ?? []), change.path]);
  }
  const actions: IndexChangeAction[] = [];
  const renameTargets = new Set<string>();
  for (const change of changes) {
    if (!change.deleted) continue;
    const to = change.old ? addedById.get(change.old.id)?.find((candidate) => !renameTargets.has(candidate)) : undefined;
    if (to) {
      renameTargets.add(to);
      actions.push({ do: 'rename', from: change.path, to });
    } else {
      actions.push({ do: 'write', path: change.path });
    }
  }
  for (const change of changes) if (!change.deleted && !renameTargets.has(change.path)) actions.push({ do: 'write', path: change.path });
  return actions;
}

export type ProjectWriteAction =
  /** The disk already holds the project's bytes and mode: only the base is recorded. */
  | 'record-base'
  /** The disk holds something else (or nothing): the project's version is written. */
  | 'write';

/**
 * Whether the disk at a path already holds what the project wants there (`wanted`: the entry's
 * kind, the hash of its bytes or symlink target, its mode). A symlink stands for a symlink
 * entry only, a file for a text or binary one; so a file is never "already" a symlink.
 */
export function decideProjectWrite(disk: DiskFacts, wanted: { kind: IndexEntry['kind']; sha256: string; mode: number }): ProjectWriteAction {
  if (!disk || disk.kind === 'dir' || disk.sha256 !== wanted.sha256) return 'write';
  if (wanted.kind === 'symlink') return disk.kind === 'symlink' ? 'record-base' : 'write';
  return disk.kind === 'file' && disk.mode === wanted.mode ? 'record-base' : 'write';
}

export type UnreportedEditAction =
  /** The disk holds what was last synced (or nothing of ours): the project's version is written. */
  | 'none'
  /** A text edit here: merged into the doc against the base's text first, then written. */
  | 'merge-text'
  /**
   * A change here that cannot be merged (binary bytes, a text over a binary base, any edit of a
   * binary entry), or a removal here: it is shared first, as the watcher's report of it would
   * have been, and the disk is not overwritten. Writing the project's version would lose it
   * without a trace.
   */
  | 'share-local';

/**
 * Before writing a remote change of a project file: whether the disk holds an edit the watcher
 * has not reported yet, and what becomes of it. Without a base there is nothing to tell an
 * edit by (the project's version is written, as join does).
 */
export function decideUnreportedEdit(disk: DiskFacts, base: Base | undefined, diskContent: 'text' | 'binary' | null, entryKind: IndexEntry['kind']): UnreportedEditAction {
  // Gone since the base: removed here (a second write of a teammate's new file undid a
  // deletion made the instant the first one landed).
  if (!disk) return base ? 'share-local' : 'none';
  if (disk.kind !== 'file' || !base || disk.sha256 === base.sha256) return 'none';
  if (entryKind === 'text' && diskContent === 'text' && base.textLength !== undefined) return 'merge-text';
  return 'share-local';
}

export type RemoteRenameAction =
  /** The file here is as last synced and the new path is free: the file is moved. */
  | 'move'
  /** Something changed (or went) here meanwhile: the old path and the new one are written apart. */
  | 'delete-and-add';

/** A teammate renamed a file: what its move means here. */
export function decideRemoteRename(base: Base | undefined, disk: DiskFacts, targetTaken: boolean): RemoteRenameAction {
  if (!base || !disk || disk.kind === 'dir' || disk.sha256 !== base.sha256 || targetTaken) return 'delete-and-add';
  return 'move';
}
