// Keeps project_files and file_activities in step with the Yjs docs, so REST, CI and SQL
// read files without Yjs. Changes are gathered per project and written within a second of
// the last edit (debounced, with a ceiling so a steady stream of edits still lands).
//
// A run must not stall the event loop (relays wait meanwhile; on PGlite the queries run on it
// too), so it does O(size of what changed) work, not O(project) or O(file): while the index
// is unchanged only the rows of the edited files are read; the previous text of an edited
// file is kept on its room rather than read back from the database; and line counts diff only
// the lines between the common prefix and suffix.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { sql, type Insertable } from 'kysely';
import type { Database, FileAction, FileKind, ProjectFilesTable } from '../../db/schema.js';
import { contentText, filesMap, parseIndexEntry, type IndexEntry } from '../../common/index-entry.js';
import { INDEX_DOC, fileDocName, fileIdOfDoc } from '../../common/protocol.js';
import { lineStats } from '../../common/text-diff.js';
import type { Room } from './room.js';
import type { RoomRegistry } from './room-registry.js';

interface PendingProject {
  timer: NodeJS.Timeout | null;
  firstChangeAt: number;
  /** Files whose content changed, with who changed them last. */
  dirtyFiles: Map<string, string | null>;
  /** Whether the index changed: renames, deletions and new files come only from it. */
  indexChanged: boolean;
  indexChangedBy: string | null;
}

export interface MaterializerTiming {
  /** Quiet time after the last change before writing. */
  debounceMs: number;
  /** Longest a change waits while edits keep coming. */
  maxDelayMs: number;
}

interface ActivityRow {
  project_id: string;
  file_id: string;
  path: string;
  old_path: string | null;
  action: FileAction;
  user_id: string | null;
  lines_added: number;
  lines_removed: number;
}

export class FileMaterializer {
  private readonly projects = new Map<string, PendingProject>();
  /**
   * The run in progress per project. Kept apart from `projects`: a run takes its
   * PendingProject out of that map, so changes arriving meanwhile gather in a fresh one,
   * and that one must wait for this run (two runs at once would both see a new file as
   * missing from project_files and record it as created twice).
   */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly registry: RoomRegistry,
    private readonly timing: MaterializerTiming,
    private readonly log: Logger,
  ) {
    registry.onChange((room, userId) => this.markChanged(room, userId));
  }

  private markChanged(room: Room, userId: string | null): void {
    let pending = this.projects.get(room.projectId);
    if (!pending) {
      pending = { timer: null, firstChangeAt: Date.now(), dirtyFiles: new Map(), indexChanged: false, indexChangedBy: null };
      this.projects.set(room.projectId, pending);
    }
    const fileId = fileIdOfDoc(room.docName);
    if (fileId) pending.dirtyFiles.set(fileId, userId);
    else if (room.docName === INDEX_DOC) {
      pending.indexChanged = true;
      pending.indexChangedBy = userId;
    }
    if (pending.timer) clearTimeout(pending.timer);
    const wait = Math.max(0, Math.min(this.timing.debounceMs, pending.firstChangeAt + this.timing.maxDelayMs - Date.now()));
    pending.timer = setTimeout(() => void this.run(room.projectId), wait);
  }

  private run(projectId: string): Promise<void> {
    const current = this.running.get(projectId);
    if (current) return current.then(() => this.run(projectId));
    const pending = this.projects.get(projectId);
    if (!pending) return Promise.resolve();
    if (pending.timer) clearTimeout(pending.timer);
    this.projects.delete(projectId);
    const running = this.materialize(projectId, pending)
      .catch((err: unknown) => {
        this.log.error({ err, projectId }, 'materialising files failed');
      })
      .finally(() => this.running.delete(projectId));
    this.running.set(projectId, running);
    return running;
  }

  /** Writes every pending change now, after any run in progress (tests, shutdown). */
  async flushAll(): Promise<void> {
    const projectIds = new Set([...this.projects.keys(), ...this.running.keys()]);
    await Promise.all([...projectIds].map((projectId) => this.run(projectId)));
  }

  /** Stored rows (without content) of a project, or of some of its files. */
  private async readRows(projectId: string, fileIds?: string[]) {
    const query = this.db
      .selectFrom('project_files')
      .select(['file_id', 'path', 'kind', 'mode', 'sha256', 'size'])
      .where('project_id', '=', projectId);
    if (!fileIds) return query.execute();
    const rows = [];
    for (let i = 0; i < fileIds.length; i += 500) rows.push(...(await query.where('file_id', 'in', fileIds.slice(i, i + 500)).execute()));
    return rows;
  }

  /** Stored content of some files, for line counts. */
  private async readContent(projectId: string, fileIds: string[]): Promise<Map<string, string | null>> {
    const content = new Map<string, string | null>();
    if (fileIds.length === 0) return content;
    for (let i = 0; i < fileIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('project_files')
        .select(['file_id', 'content'])
        .where('project_id', '=', projectId)
        .where('file_id', 'in', fileIds.slice(i, i + 500))
        .execute();
      for (const row of rows) content.set(row.file_id, row.content);
    }
    return content;
  }

  private async materialize(projectId: string, pending: PendingProject): Promise<void> {
    // Without an index change no file was added, renamed or removed: only the edited files'
    // entries and rows matter, so a one-line edit in a 5,000-file project reads one row, not 5,000.
    const fullScan = pending.indexChanged;
    const dirtyIds = [...pending.dirtyFiles.keys()];
    const entries = await this.registry.withRoom(projectId, INDEX_DOC, (room) =>
      readIndex(room, this.log, fullScan ? null : new Set(dirtyIds)),
    );
    const rows = fullScan ? await this.readRows(projectId) : await this.readRows(projectId, dirtyIds);
    const rowsById = new Map(rows.map((row) => [row.file_id, row]));

    // The text of each file to write (edited, new to project_files, or newly text) now, and as
    // last written: kept on its room, so read back from the database only after the room was
    // unloaded or another instance wrote it.
    const texts = new Map<string, { now: string; previous: string | null; room: Room }>();
    const edited = [...entries.values()].filter((entry) => {
      const row = rowsById.get(entry.id);
      return entry.kind === 'text' && (pending.dirtyFiles.has(entry.id) || !row || row.kind !== 'text');
    });
    // Acquired a chunk at a time, so docs that must be loaded are loaded together (one query).
    for (let i = 0; i < edited.length; i += 256) {
      await Promise.all(
        edited.slice(i, i + 256).map((entry) =>
          this.registry.withRoom(projectId, fileDocName(entry.id), (room) => {
            const row = rowsById.get(entry.id);
            const previous = row ? room.materializedText(row.sha256) : null;
            texts.set(entry.id, { now: contentText(room.doc).toString(), previous, room });
          }),
        ),
      );
    }
    const unknownPrevious = [...texts].filter(([id, text]) => text.previous === null && rowsById.get(id)?.kind === 'text').map(([id]) => id);
    for (const [id, content] of await this.readContent(projectId, unknownPrevious)) {
      const text = texts.get(id);
      if (text) text.previous = content;
    }
    const upserts: Insertable<ProjectFilesTable>[] = [];
    const activities: ActivityRow[] = [];
    const indexUser = pending.indexChangedBy;
    const now = new Date();
    const written: { fileId: string; sha256: string; text: string }[] = [];

    for (const [path, entry] of entries) {
      const row = rowsById.get(entry.id);
      rowsById.delete(entry.id);
      const editedBy = pending.dirtyFiles.has(entry.id) ? (pending.dirtyFiles.get(entry.id) ?? null) : indexUser;
      let content: string | null = null;
      let sha256 = entry.sha256 ?? null;
      let size = entry.size;
      if (entry.kind === 'text') {
        if (row && row.kind === 'text' && !pending.dirtyFiles.has(entry.id)) {
          content = null; // unchanged: the row keeps its content
          sha256 = row.sha256;
          size = row.size;
        } else {
          content = texts.get(entry.id)!.now;
          const bytes = Buffer.from(content, 'utf8');
          size = bytes.byteLength;
          sha256 = createHash('sha256').update(bytes).digest('hex');
          written.push({ fileId: entry.id, sha256, text: content });
        }
      }
      const base = { project_id: projectId, file_id: entry.id, path, user_id: editedBy };
      if (!row) {
        activities.push({ ...base, old_path: null, action: 'created', lines_added: countLines(content), lines_removed: 0 });
      } else {
        if (row.path !== path) {
          activities.push({ ...base, user_id: indexUser, old_path: row.path, action: 'renamed', lines_added: 0, lines_removed: 0 });
        }
        if (row.sha256 !== sha256 || row.kind !== entry.kind) {
          const stats = lineStats(texts.get(entry.id)?.previous ?? '', content ?? '');
          activities.push({ ...base, old_path: null, action: 'edited', lines_added: stats.added, lines_removed: stats.removed });
        }
      }
      const changed = !row || row.path !== path || row.sha256 !== sha256 || row.kind !== entry.kind || row.mode !== entry.mode;
      if (changed) {
        upserts.push({
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
    // Rows left over are files no longer in the index; only a full scan can tell.
    const removed = fullScan ? [...rowsById.values()] : [];
    const removedContent = await this.readContent(
      projectId,
      removed.filter((row) => row.kind === 'text').map((row) => row.file_id),
    );
    for (const row of removed) {
      activities.push({
        project_id: projectId,
        file_id: row.file_id,
        path: row.path,
        old_path: null,
        action: 'deleted',
        user_id: indexUser,
        lines_added: 0,
        lines_removed: countLines(removedContent.get(row.file_id) ?? null),
      });
    }
    // Once stored, this is the text the next run of each file diffs against.
    const remember = () => {
      for (const { fileId, sha256, text } of written) {
        texts.get(fileId)?.room.rememberMaterialized(sha256, text);
      }
    };
    if (upserts.length === 0 && removed.length === 0 && activities.length === 0) {
      remember();
      return;
    }

    await this.db.transaction().execute(async (trx) => {
      if (removed.length > 0) {
        await trx
          .deleteFrom('project_files')
          .where('project_id', '=', projectId)
          .where(
            'file_id',
            'in',
            removed.map((r) => r.file_id),
          )
          .execute();
      }
      for (let i = 0; i < upserts.length; i += 500) {
        await trx
          .insertInto('project_files')
          .values(upserts.slice(i, i + 500))
          .onConflict((oc) =>
            oc.columns(['project_id', 'file_id']).doUpdateSet((eb) => ({
              path: eb.ref('excluded.path'),
              kind: eb.ref('excluded.kind'),
              mode: eb.ref('excluded.mode'),
              size: eb.ref('excluded.size'),
              sha256: eb.ref('excluded.sha256'),
              target: eb.ref('excluded.target'),
              // An unchanged text file is upserted without its content (null): keep the stored one.
              content: sql<string | null>`case when excluded.kind = 'text' then coalesce(excluded.content, project_files.content) else null end`,
              updated_at: eb.ref('excluded.updated_at'),
              updated_by: eb.ref('excluded.updated_by'),
            })),
          )
          .execute();
      }
      for (let i = 0; i < activities.length; i += 500) {
        await trx.insertInto('file_activities').values(activities.slice(i, i + 500)).execute();
      }
    });
    remember();
  }
}

/**
 * The index's entries keyed by path; malformed entries and duplicate ids are skipped. With
 * `onlyIds`, just the entries of those ids (the same ones a full read would pick), without
 * parsing the others.
 */
function readIndex(room: Room, log: Logger, onlyIds: ReadonlySet<string> | null): Map<string, IndexEntry> {
  const entries = new Map<string, IndexEntry>();
  const seenIds = new Set<string>();
  for (const [path, value] of filesMap(room.doc).entries()) {
    if (onlyIds && !onlyIds.has((value as { id?: unknown } | null)?.id as string)) continue;
    const entry = parseIndexEntry(value);
    if (!entry || seenIds.has(entry.id) || path.length === 0 || path.length > 4096) {
      log.warn({ projectId: room.projectId, path: path.slice(0, 200) }, 'index entry skipped: malformed or duplicate id');
      continue;
    }
    seenIds.add(entry.id);
    entries.set(path, entry);
  }
  return entries;
}

function countLines(text: string | null): number {
  if (!text) return 0;
  let lines = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < text.length - 1; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}
