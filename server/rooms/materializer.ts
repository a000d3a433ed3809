// Keeps project_files and file_activities in step with the Yjs docs, so REST, CI and SQL
// read files without Yjs. Changes are gathered per project and written within a second of
// the last edit (debounced, with a ceiling so a steady stream of edits still lands).
//
// A run must not stall the event loop (relays wait meanwhile; on PGlite the queries run on it
// too), so it does O(size of what changed) work, not O(project) or O(file): while the index
// is unchanged only the rows of the edited files are read; the previous text of an edited
// file is kept on its room rather than read back from the database; and line counts diff only
// the lines between the common prefix and suffix.
//
// This class gathers changes, reads and stores; what a run writes is decided in
// file-changes.ts, which does no I/O.
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { contentText, filesMap, parseIndexEntry, type IndexEntry } from '../../common/index-entry.js';
import { INDEX_DOC, fileDocName, fileIdOfDoc } from '../../common/protocol.js';
import { listFileStates, readFileContents, writeMaterializedFiles, type StoredFileState } from '../repos/files.js';
import { deletionActivities, planFileChanges, rowsMissingFrom, type ActivityRow, type TextVersions } from './file-changes.js';
import * as Y from 'yjs';
import { collectGarbageWhenQuiet } from '../../common/idle-gc.js';
import type { DocStore } from './doc-store.js';
import type { Room } from './room.js';
import type { RoomRegistry } from './room-registry.js';
import type { ProjectLeases } from '../cluster/project-leases.js';
import { fileDocsChangedSinceMaterialized } from '../repos/files.js';

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
  /** Index entries a run decides and stores at once (see materialize). */
  entriesPerSlice: number;
}

/** A file's text now and as last stored, with the room that remembers what gets stored (if loaded). */
interface FileText extends TextVersions {
  room: Room | null;
}

/** File docs read at once while reading texts. */
const DOCS_PER_CHUNK = 256;

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
    private readonly store: DocStore,
    private readonly timing: MaterializerTiming,
    private readonly leases: ProjectLeases,
    private readonly log: Logger,
  ) {
    registry.onChange((projectId, docName, userId) => this.markChanged(projectId, docName, userId));
  }

  private markChanged(projectId: string, docName: string, userId: string | null): void {
    let pending = this.projects.get(projectId);
    if (!pending) {
      pending = { timer: null, firstChangeAt: Date.now(), dirtyFiles: new Map(), indexChanged: false, indexChangedBy: null };
      this.projects.set(projectId, pending);
    }
    const fileId = fileIdOfDoc(docName);
    if (fileId) pending.dirtyFiles.set(fileId, userId);
    else if (docName === INDEX_DOC) {
      pending.indexChanged = true;
      pending.indexChangedBy = userId;
    }
    if (pending.timer) clearTimeout(pending.timer);
    const wait = Math.max(0, Math.min(this.timing.debounceMs, pending.firstChangeAt + this.timing.maxDelayMs - Date.now()));
    pending.timer = setTimeout(() => void this.run(projectId), wait);
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

  /** Whether changes of the project wait here to be written, or are being written. */
  hasWork(projectId: string): boolean {
    return this.projects.has(projectId) || this.running.has(projectId);
  }

  /** Writes every pending change now, after any run in progress (tests, shutdown). */
  async flushAll(): Promise<void> {
    const projectIds = new Set([...this.projects.keys(), ...this.running.keys()]);
    await Promise.all([...projectIds].map((projectId) => this.run(projectId)));
  }

  /**
   * One run: read the index and the stored rows, then a slice of the index at a time: read the
   * texts to write, decide what changes, store it in a transaction, and remember on each room
   * what was stored. Slices keep a share's run in bounded memory: the whole of a 40,000-file
   * project's texts at once, with their query parameters, was hundreds of MiB at its peak, and
   * glibc kept much of it after. A reader between two slices sees some files newer than others,
   * as it would between two runs.
   */
  private async materialize(projectId: string, pending: PendingProject): Promise<void> {
    // One instance materialises a project (see cluster/project-leases.ts): the others leave it
    // their changes, which it heard of too. A new owner also writes what the last one left undone.
    const lease = await this.leases.hold(projectId);
    if (lease === 'elsewhere') return;
    if (lease === 'taken-over') {
      pending.indexChanged = true;
      for (const fileId of await fileDocsChangedSinceMaterialized(this.db, projectId)) if (!pending.dirtyFiles.has(fileId)) pending.dirtyFiles.set(fileId, null);
    }
    const { entries, rowsById } = await this.readIndexAndRows(projectId, pending);
    // Rows left over are files no longer in the index; only a full scan can tell.
    const removed = pending.indexChanged ? rowsMissingFrom(entries, rowsById) : [];
    const deletions = await this.deletions(projectId, removed, pending.indexChangedBy);
    const listed = [...entries];
    const now = new Date();
    const perSlice = this.timing.entriesPerSlice;
    // At least one slice: an index emptied of files still has its deletions to store.
    for (let i = 0; i === 0 || i < listed.length; i += perSlice) {
      const slice = new Map(listed.slice(i, i + perSlice));
      const texts = await this.readTexts(projectId, slice, rowsById, pending.dirtyFiles);
      const changes = planFileChanges(projectId, slice, rowsById, texts, pending, now);
      const removedHere = i === 0 ? removed : [];
      if (i === 0) changes.activities.push(...deletions);
      if (changes.upserts.length > 0 || removedHere.length > 0 || changes.activities.length > 0) {
        await writeMaterializedFiles(this.db, projectId, {
          removedFileIds: removedHere.map((row) => row.file_id),
          upserts: changes.upserts,
          activities: changes.activities,
        });
      }
      // Once stored, this is the text the next run of each file diffs against.
      for (const { fileId, sha256, text } of changes.written) texts.get(fileId)?.room?.rememberMaterialized(sha256, text);
    }
    if (listed.length > perSlice) collectGarbageWhenQuiet();
  }

  private async storedText(projectId: string, docName: string): Promise<string> {
    const stored = await this.store.load(projectId, docName);
    // Given a guid, Y.Doc draws no random one (32 calls into the system's random source: 1.3 s
    // of a 10,000-file share's materialisation).
    const doc = new Y.Doc({ guid: docName });
    if (stored.update) Y.applyUpdate(doc, stored.update);
    const text = contentText(doc).toString();
    doc.destroy();
    return text;
  }

  /**
   * The index's entries and the stored rows to compare them with. Without an index change no
   * file was added, renamed or removed: only the edited files' entries and rows matter, so a
   * one-line edit in a 5,000-file project reads one row, not 5,000.
   */
  private async readIndexAndRows(
    projectId: string,
    pending: PendingProject,
  ): Promise<{ entries: Map<string, IndexEntry>; rowsById: Map<string, StoredFileState> }> {
    const fullScan = pending.indexChanged;
    const dirtyIds = [...pending.dirtyFiles.keys()];
    const entries = await this.registry.withRoom(projectId, INDEX_DOC, (room) =>
      readIndex(room, this.log, fullScan ? null : new Set(dirtyIds)),
    );
    const rows = fullScan ? await listFileStates(this.db, projectId) : await listFileStates(this.db, projectId, dirtyIds);
    return { entries, rowsById: new Map(rows.map((row) => [row.file_id, row])) };
  }

  /**
   * The text of each file to write (edited, new to project_files, or newly text) now, and as
   * last written: kept on its room, so read back from the database only after the room was
   * unloaded or another instance wrote it.
   */
  private async readTexts(
    projectId: string,
    entries: Map<string, IndexEntry>,
    rowsById: Map<string, StoredFileState>,
    dirtyFiles: Map<string, string | null>,
  ): Promise<Map<string, FileText>> {
    const texts = new Map<string, FileText>();
    const edited = [...entries.values()].filter((entry) => {
      const row = rowsById.get(entry.id);
      return entry.kind === 'text' && (dirtyFiles.has(entry.id) || !row || row.kind !== 'text');
    });
    // A doc loaded here has its text in memory, and the text last stored; any other is read
    // from the store, a chunk at a time (one query each), without loading a room for it: a
    // share of 40,000 files would keep 40,000 rooms for the idle time.
    for (let i = 0; i < edited.length; i += DOCS_PER_CHUNK) {
      await Promise.all(
        edited.slice(i, i + DOCS_PER_CHUNK).map(async (entry) => {
          const room = this.registry.loaded(projectId, fileDocName(entry.id));
          const row = rowsById.get(entry.id);
          const previous = room && row ? room.materializedText(row.sha256) : null;
          const now = room ? contentText(room.doc).toString() : await this.storedText(projectId, fileDocName(entry.id));
          texts.set(entry.id, { now, previous, room });
        }),
      );
    }
    const unknownPrevious = [...texts].filter(([id, text]) => text.previous === null && rowsById.get(id)?.kind === 'text').map(([id]) => id);
    for (const row of await readFileContents(this.db, projectId, unknownPrevious)) {
      const text = texts.get(row.file_id);
      if (text) text.previous = row.content;
    }
    return texts;
  }

  /** A deletion entry per removed row, counting the lines its text had. */
  private async deletions(projectId: string, removed: StoredFileState[], userId: string | null): Promise<ActivityRow[]> {
    const textIds = removed.filter((row) => row.kind === 'text').map((row) => row.file_id);
    const removedContent = new Map((await readFileContents(this.db, projectId, textIds)).map((row) => [row.file_id, row.content]));
    return deletionActivities(projectId, removed, removedContent, userId);
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
