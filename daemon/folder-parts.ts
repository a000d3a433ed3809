// The parts one folder's sync is built from, as FolderMirror wires them: the state both sides
// read (the index, the file docs, the bases), the modules that carry changes out (ProjectWrites
// on the docs, DiskWrites on the disk) and the per-path queue every piece of work runs in.
// LocalChanges, RemoteChanges, the start of a folder and a halt's decision take what they use
// of it; none of them holds FolderMirror.
import type { Logger } from 'pino';
import type * as Y from 'yjs';
import { filesMap, parseIndexEntry, type IndexEntry } from '../common/index-entry.js';
import type { IgnoreRules } from '../common/ignore-rules.js';
import type { FolderEvent } from '../common/control-protocol.js';
import type { DiscardGate } from './discard-gate.js';
import type { DiskReader } from './disk-reader.js';
import type { DiskWrites } from './disk-writes.js';
import type { FileDocs } from './file-docs.js';
import type { FolderBases } from './folder-bases.js';
import type { FolderProblems } from './folder-problems.js';
import type { NameCollisions } from './name-collisions.js';
import type { OwnWrites } from './own-writes.js';
import type { ProjectWrites } from './project-writes.js';
import type { RemovalBurst } from './removal-burst.js';
import type { ServerConnection } from './server-connection.js';

export type ActivityAction = 'created' | 'edited' | 'renamed' | 'deleted';
export interface ActivityExtra {
  oldPath?: string;
  added?: number;
  removed?: number;
}

export interface FolderParts {
  root: string;
  log: Logger;
  index: Y.Doc;
  docs: FileDocs;
  bases: FolderBases;
  rules: IgnoreRules;
  diskReader: DiskReader;
  ownWrites: OwnWrites;
  disk: DiskWrites;
  writes: ProjectWrites;
  problems: FolderProblems;
  gate: DiscardGate;
  removals: RemovalBurst;
  collisions: NameCollisions;
  connection: ServerConnection;
  /** The path holds nothing of the project's any more: its base goes, what waited for it is written. */
  forgetBase: (path: string) => void;
  /** Runs `work` after the path's earlier work (see path-queue.ts). */
  enqueue: (path: string, work: () => Promise<void>) => Promise<void>;
  /** Whether remote changes are written to the disk now (from goLive on). */
  mirroring: () => boolean;
  stopped: () => boolean;
  activity: (direction: 'local' | 'remote', action: ActivityAction, path: string, extra?: ActivityExtra) => void;
  event: (event: FolderEvent) => void;
}

/** The index entry at `path`, or null (none, or malformed). */
export function entryAt(index: Y.Doc, path: string): IndexEntry | null {
  return parseIndexEntry(filesMap(index).get(path));
}

/** Whether the folder or the project knows `path` (a base, or an index entry). */
export function knownPath(parts: Pick<FolderParts, 'bases' | 'index'>, path: string): boolean {
  return parts.bases.has(path) || filesMap(parts.index).has(path);
}

/** The index's well-formed entries by path; a malformed one is logged and left out. */
export function indexEntries(index: Y.Doc, log: Logger): Map<string, IndexEntry> {
  const entries = new Map<string, IndexEntry>();
  for (const [path, value] of filesMap(index).entries()) {
    const entry = parseIndexEntry(value);
    if (entry) entries.set(path, entry);
    else log.warn({ path: path.slice(0, 200) }, 'malformed index entry ignored');
  }
  return entries;
}
