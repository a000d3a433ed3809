// One chunk index per project, built on the first question and brought up to date before each
// one by comparing project_files' versions (path, hash, size, time) with what the index holds.
// That reads one row of metadata per file and the content of changed files only, and it sees
// every writer of project_files alike: the materializer of this instance or of another one,
// an import, a test. Indexes of projects nobody asked about lately leave memory first.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { listIndexableFiles, readFileContents } from '../repos/files.js';
import { ProjectChunkIndex } from './chunk-index.js';

const CONTENT_BATCH = 200;

export interface RefreshReport {
  indexed: number;
  removed: number;
  ms: number;
}

interface Entry {
  index: ProjectChunkIndex;
  /** Refreshes of one project run one after another. */
  queue: Promise<unknown>;
}

export class ProjectIndexes {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly capacity: number,
  ) {}

  /** The project's index, current with project_files as of this call. */
  async current(projectId: string): Promise<{ index: ProjectChunkIndex; refresh: RefreshReport }> {
    let entry = this.entries.get(projectId);
    if (entry) {
      // Most recently used last: Map keeps insertion order, so the first key is the one to evict.
      this.entries.delete(projectId);
    } else {
      entry = { index: new ProjectChunkIndex(), queue: Promise.resolve() };
    }
    this.entries.set(projectId, entry);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    const { index } = entry;
    const run = entry.queue.then(() => refreshIndex(this.db, projectId, index));
    entry.queue = run.catch(() => undefined);
    return { index, refresh: await run };
  }
}

const versionOf = (row: { path: string; sha256: string | null; size: number; updated_at: Date }) =>
  `${row.path}\0${row.sha256 ?? ''}\0${row.size}\0${row.updated_at.getTime()}`;

export async function refreshIndex(db: Kysely<Database>, projectId: string, index: ProjectChunkIndex): Promise<RefreshReport> {
  const started = performance.now();
  const rows = await listIndexableFiles(db, projectId);
  const known = index.versions();
  const current = new Map(rows.map((row) => [row.file_id, versionOf(row)]));
  const changed = rows.filter((row) => known.get(row.file_id) !== current.get(row.file_id)).map((row) => row.file_id);
  let removed = 0;
  for (const fileId of known.keys()) {
    if (!current.has(fileId)) {
      index.remove(fileId);
      removed++;
    }
  }
  for (let i = 0; i < changed.length; i += CONTENT_BATCH) {
    const batch = await readFileContents(db, projectId, changed.slice(i, i + CONTENT_BATCH));
    for (const row of batch) {
      const version = current.get(row.file_id);
      if (version === undefined || row.content === null) continue;
      index.upsert({ fileId: row.file_id, path: row.path, content: row.content, version });
    }
  }
  return { indexed: changed.length, removed, ms: performance.now() - started };
}
