// What one materialiser run writes to project_files and file_activities, decided from what it
// read: the index's entries, the stored rows, and the texts of the files to write. Pure (no
// database, no rooms, no clock), so the decisions are table-tested on their own.
import type { Insertable } from 'kysely';
import type { FileAction, FileKind, ProjectFilesTable } from '../../db/schema.js';
import type { IndexEntry } from '../../common/index-entry.js';
import { countLines, lineStats } from '../../common/text-diff.js';
import { sha256Hex } from '../../common/fs-helpers.js';
import type { StoredFileState } from '../repos/files.js';

/** A file's text now, and as last stored (null when not known or not text). */
export interface TextVersions {
  now: string;
  previous: string | null;
}

/** Who changed what since the last run. */
export interface EditsSinceLastRun {
  /** Files whose content changed, with who changed them last. */
  dirtyFiles: ReadonlyMap<string, string | null>;
  /** Who changed the index last: renames, deletions and new files are theirs. */
  indexChangedBy: string | null;
}

export interface ActivityRow {
  project_id: string;
  file_id: string;
  path: string;
  old_path: string | null;
  action: FileAction;
  user_id: string | null;
  lines_added: number;
  lines_removed: number;
}

/** What a run decided for the files still in the index. */
export interface FileChanges {
  upserts: Insertable<ProjectFilesTable>[];
  activities: ActivityRow[];
  /** The texts it writes, remembered on their rooms once stored. */
  written: { fileId: string; sha256: string; text: string }[];
}

/**
 * Compares each index entry with its stored row: which rows to write and which changes to
 * record (created, renamed, edited). `texts` holds every text file to write.
 */
export function planFileChanges(
  projectId: string,
  entries: ReadonlyMap<string, IndexEntry>,
  rowsById: ReadonlyMap<string, StoredFileState>,
  texts: ReadonlyMap<string, TextVersions>,
  edits: EditsSinceLastRun,
  now: Date,
): FileChanges {
  const changes: FileChanges = { upserts: [], activities: [], written: [] };
  const indexUser = edits.indexChangedBy;
  for (const [path, entry] of entries) {
    const row = rowsById.get(entry.id);
    const dirty = edits.dirtyFiles.has(entry.id);
    const editedBy = dirty ? (edits.dirtyFiles.get(entry.id) ?? null) : indexUser;
    const text = texts.get(entry.id);
    const { content, sha256, size } = versionToStore(entry, row, dirty, text);
    if (content !== null && sha256 !== null) changes.written.push({ fileId: entry.id, sha256, text: content });
    const base = { project_id: projectId, file_id: entry.id, path, user_id: editedBy };
    if (!row) {
      changes.activities.push({ ...base, old_path: null, action: 'created', lines_added: countLines(content ?? ''), lines_removed: 0 });
    } else {
      if (row.path !== path) {
        changes.activities.push({ ...base, user_id: indexUser, old_path: row.path, action: 'renamed', lines_added: 0, lines_removed: 0 });
      }
      if (row.sha256 !== sha256 || row.kind !== entry.kind) {
        const stats = lineStats(text?.previous ?? '', content ?? '');
        changes.activities.push({ ...base, old_path: null, action: 'edited', lines_added: stats.added, lines_removed: stats.removed });
      }
    }
    const changed = !row || row.path !== path || row.sha256 !== sha256 || row.kind !== entry.kind || row.mode !== entry.mode;
    if (changed) {
      changes.upserts.push({
        project_id: projectId,
        file_id: entry.id,
        path,
        kind: entry.kind as FileKind,
        mode: entry.mode,
        size,
        sha256,
        target: entry.target ?? null,
        content,
        updated_at: now,
        updated_by: editedBy,
      });
    }
  }
  return changes;
}

/**
 * The content, hash and size to store for an entry. Content is null for what is not text,
 * and for a text file not edited since it was stored: its row keeps its content.
 */
function versionToStore(
  entry: IndexEntry,
  row: StoredFileState | undefined,
  dirty: boolean,
  text: TextVersions | undefined,
): { content: string | null; sha256: string | null; size: number } {
  if (entry.kind !== 'text') return { content: null, sha256: entry.sha256 ?? null, size: entry.size };
  if (row && row.kind === 'text' && !dirty) return { content: null, sha256: row.sha256, size: row.size };
  if (!text) throw new Error(`no text was read for ${entry.id}`);
  const bytes = Buffer.from(text.now, 'utf8');
  return { content: text.now, sha256: sha256Hex(bytes), size: bytes.byteLength };
}

/** Stored rows whose file is no longer in the index (meaningful after reading the whole index). */
export function rowsMissingFrom(entries: ReadonlyMap<string, IndexEntry>, rowsById: ReadonlyMap<string, StoredFileState>): StoredFileState[] {
  const indexed = new Set([...entries.values()].map((entry) => entry.id));
  return [...rowsById.values()].filter((row) => !indexed.has(row.file_id));
}

/** A deletion entry per removed row, counting the lines its stored text had. */
export function deletionActivities(
  projectId: string,
  removed: StoredFileState[],
  contentById: ReadonlyMap<string, string | null>,
  userId: string | null,
): ActivityRow[] {
  return removed.map((row) => ({
    project_id: projectId,
    file_id: row.file_id,
    path: row.path,
    old_path: null,
    action: 'deleted',
    user_id: userId,
    lines_added: 0,
    lines_removed: countLines(contentById.get(row.file_id) ?? ''),
  }));
}
