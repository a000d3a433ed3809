// Before each question the project's chunk index is brought up to date by comparing
// project_files' versions (path, hash, size, time) with the versions chunked_files holds, a
// page of files at a time: the server reads the content of changed files only, a batch at a
// time, and it sees every writer of project_files alike (the materializer of this instance or
// another one, an import, a test). The index itself lives in the database, so nothing here grows with a project: the
// only state is the refresh in progress per project, so that two questions about one project
// on this instance refresh one after the other.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { listFileVersions, listIndexableFileIds, readFilesToIndex } from '../repos/files.js';
import { chunkDocuments, MAX_INDEXED_BYTES, ProjectChunkIndex, unindexedReason } from './chunk-index.js';
import { analyzeChunkTables, chunkedVersions, deleteChunkedFiles, listChunkedFiles, replaceFileChunks, type FileChunks } from './chunk-store.js';

/** Files compared per page (ids in one `in (...)` list). */
const VERSION_PAGE = 2000;
/** Files read and re-chunked per transaction: bounds the contents in memory at once. */
const CONTENT_BATCH = 100;
/** A refresh that wrote or removed this many files updates the tables' statistics. */
const ANALYZE_AFTER = 1000;

export interface RefreshReport {
  /** Files (re-)chunked by this refresh. */
  indexed: number;
  /** Files the index held that are gone. */
  removed: number;
  ms: number;
}

export class ProjectIndexes {
  /** The refresh running or queued last per project; gone once it settles. */
  private readonly refreshes = new Map<string, Promise<RefreshReport>>();

  constructor(private readonly db: Kysely<Database>) {}

  /** The project's index, current with project_files as of this call. */
  async current(projectId: string): Promise<{ index: ProjectChunkIndex; refresh: RefreshReport }> {
    const previous = this.refreshes.get(projectId);
    const run = (previous ?? Promise.resolve()).catch(() => undefined).then(() => refreshIndex(this.db, projectId));
    this.refreshes.set(projectId, run);
    const settled = () => {
      if (this.refreshes.get(projectId) === run) this.refreshes.delete(projectId);
    };
    run.then(settled, settled);
    return { index: new ProjectChunkIndex(this.db, projectId), refresh: await run };
  }
}

/** Chunks of one file as read from project_files: none for a file left out (it is still recorded, so it is not read again). */
function chunked(file: { file_id: string; path: string; version: string; content: string | null }): FileChunks {
  const leftOut = file.content === null ? 'too large' : unindexedReason(file.path, file.content);
  const chunks = file.content !== null && leftOut === null ? chunkDocuments(file.path, file.content) : [];
  return { fileId: file.file_id, path: file.path, version: file.version, leftOut, chunks };
}

/** Forgets the files the index holds that are gone from project_files or no longer text. */
async function removeVanished(db: Kysely<Database>, projectId: string): Promise<number> {
  let removed = 0;
  for (let after: string | null = null; ; ) {
    const page = await listChunkedFiles(db, projectId, { after, limit: VERSION_PAGE });
    if (page.length === 0) return removed;
    const present = await listIndexableFileIds(db, projectId, page);
    removed += await deleteChunkedFiles(db, projectId, page.filter((fileId) => !present.has(fileId)));
    after = page[page.length - 1]!;
  }
}

/** (Re-)chunks the text files whose version the index does not hold. */
async function indexChanged(db: Kysely<Database>, projectId: string): Promise<number> {
  let indexed = 0;
  for (let after: string | null = null; ; ) {
    const page = await listFileVersions(db, projectId, { after, limit: VERSION_PAGE });
    if (page.length === 0) return indexed;
    const indexable = page.filter((row) => row.indexable);
    const held = await chunkedVersions(db, projectId, indexable.map((row) => row.file_id));
    const stale = indexable.filter((row) => held.get(row.file_id) !== row.version).map((row) => row.file_id);
    for (let i = 0; i < stale.length; i += CONTENT_BATCH) {
      const files = await readFilesToIndex(db, projectId, stale.slice(i, i + CONTENT_BATCH), MAX_INDEXED_BYTES);
      indexed += await replaceFileChunks(db, projectId, files.map(chunked));
    }
    after = page[page.length - 1]!.file_id;
  }
}

/**
 * Brings the project's chunk index up to date with project_files, a page of files at a time:
 * every query is a lookup by key, so the work is one pass over the project whatever the
 * planner knows about the tables.
 */
export async function refreshIndex(db: Kysely<Database>, projectId: string): Promise<RefreshReport> {
  const started = performance.now();
  const removed = await removeVanished(db, projectId);
  const indexed = await indexChanged(db, projectId);
  if (indexed + removed >= ANALYZE_AFTER) await analyzeChunkTables(db);
  return { indexed, removed, ms: performance.now() - started };
}
