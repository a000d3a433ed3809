// The materialised file tree, and the only module that queries project_files. The live rooms
// write it (through writeMaterializedFiles); REST, CI and the AI context only read it, so
// nobody needs Yjs to list or read a project.
import { sql, type Insertable, type Kysely } from 'kysely';
import type { Database, FileActivitiesTable, ProjectFile, ProjectFilesTable } from '../../db/schema.js';
import { toPage } from '../pagination.js';
import type { ProjectFileDto } from '../schemas.js';
import { recordFileActivities } from './activity.js';

/** Ids per `in (...)` list and rows per insert: statements stay modest on big projects. */
const FILE_BATCH = 500;

type FileRow = Omit<ProjectFile, 'content'> & { updated_by_username: string | null };

export function toProjectFileDto(row: FileRow): ProjectFileDto {
  return {
    path: row.path,
    fileId: row.file_id,
    kind: row.kind,
    mode: row.mode,
    size: row.size,
    sha256: row.sha256,
    target: row.target,
    updatedAt: row.updated_at.toISOString(),
    updatedBy: row.updated_by_username,
  };
}

/** Files in path order, after the path `after`, optionally only those under `prefix`. */
export async function listProjectFiles(
  db: Kysely<Database>,
  projectId: string,
  options: { limit: number; after?: string | undefined; prefix?: string | undefined },
) {
  let query = db
    .selectFrom('project_files as f')
    .leftJoin('users as u', 'u.id', 'f.updated_by')
    .select([
      'f.project_id',
      'f.file_id',
      'f.path',
      'f.kind',
      'f.mode',
      'f.size',
      'f.sha256',
      'f.target',
      'f.updated_at',
      'f.updated_by',
      'u.username as updated_by_username',
    ])
    .where('f.project_id', '=', projectId);
  // starts_with rather than LIKE: a path may contain % or _.
  if (options.prefix) query = query.where((eb) => eb.fn<boolean>('starts_with', ['f.path', eb.val(options.prefix)]));
  // Byte order, as git lists files, whatever the database's collation; the cursor compares
  // in the same order or pages would overlap.
  const path = sql<string>`f.path collate "C"`;
  if (options.after !== undefined) query = query.where(path, '>', sql<string>`${options.after} collate "C"`);
  const rows = await query.orderBy(path).limit(options.limit + 1).execute();
  const page = toPage(rows, options.limit, (r) => [r.path]);
  return { items: page.items.map(toProjectFileDto), nextCursor: page.nextCursor };
}

/**
 * One file with its materialised content as UTF-8 bytes (null for binaries, symlinks and
 * blob-backed text). Bytes, not a string: a driver decoding text with a default TextDecoder
 * (PGlite does) drops a leading byte-order mark, and files must come back byte for byte.
 */
export async function findProjectFileByPath(
  db: Kysely<Database>,
  projectId: string,
  path: string,
): Promise<(Pick<ProjectFile, 'path' | 'kind' | 'size' | 'sha256' | 'target'> & { content: Uint8Array | null }) | undefined> {
  return db
    .selectFrom('project_files')
    .select(['path', 'kind', 'size', 'sha256', 'target', sql<Uint8Array | null>`convert_to(content, 'UTF8')`.as('content')])
    .where('project_id', '=', projectId)
    .where('path', '=', path)
    .executeTakeFirst();
}

/** A stored file without its content: what the materialiser compares the index with. */
export type StoredFileState = Pick<ProjectFile, 'file_id' | 'path' | 'kind' | 'mode' | 'sha256' | 'size'>;

/** The stored state of every file of a project, or (with `fileIds`) of those files only. */
export async function listFileStates(db: Kysely<Database>, projectId: string, fileIds?: string[]): Promise<StoredFileState[]> {
  const query = db
    .selectFrom('project_files')
    .select(['file_id', 'path', 'kind', 'mode', 'sha256', 'size'])
    .where('project_id', '=', projectId);
  if (!fileIds) return query.execute();
  const rows = [];
  for (let i = 0; i < fileIds.length; i += FILE_BATCH) {
    rows.push(...(await query.where('file_id', 'in', fileIds.slice(i, i + FILE_BATCH)).execute()));
  }
  return rows;
}

/** The stored content of some files (null where there is none), with their paths. */
export async function readFileContents(
  db: Kysely<Database>,
  projectId: string,
  fileIds: string[],
): Promise<Pick<ProjectFile, 'file_id' | 'path' | 'content'>[]> {
  const rows = [];
  for (let i = 0; i < fileIds.length; i += FILE_BATCH) {
    rows.push(
      ...(await db
        .selectFrom('project_files')
        .select(['file_id', 'path', 'content'])
        .where('project_id', '=', projectId)
        .where('file_id', 'in', fileIds.slice(i, i + FILE_BATCH))
        .execute()),
    );
  }
  return rows;
}

/**
 * A file's version as one string: path, hash, size and time (to the microsecond, whatever the
 * session's time zone). It moves whenever the file does, through any writer of project_files.
 */
const fileVersion = sql<string>`f.path || E'\\n' || coalesce(f.sha256, '') || E'\\n' || f.size || E'\\n' || (extract(epoch from f.updated_at) * 1000000)::bigint`;

export interface FileToIndex {
  file_id: string;
  path: string;
  version: string;
  /** Null when the text is longer than `maxChars`: it is not read, only recorded as too large. */
  content: string | null;
}

/**
 * One page of a project's files in file id order after `after`: each id, its version, and
 * whether it is text the chunk index can hold. Read through the primary key alone, with no join
 * whose plan depends on statistics (PGlite never gathers any).
 */
export async function listFileVersions(
  db: Kysely<Database>,
  projectId: string,
  options: { after: string | null; limit: number },
): Promise<{ file_id: string; version: string; indexable: boolean }[]> {
  let query = db
    .selectFrom('project_files as f')
    .select(['f.file_id', fileVersion.as('version'), sql<boolean>`f.kind = 'text' and f.content is not null`.as('indexable')])
    .where('f.project_id', '=', projectId);
  if (options.after !== null) query = query.where('f.file_id', '>', options.after);
  return query.orderBy('f.file_id').limit(options.limit).execute();
}

/** Which of these files are text with content: those the chunk index may hold. */
export async function listIndexableFileIds(db: Kysely<Database>, projectId: string, fileIds: string[]): Promise<Set<string>> {
  if (fileIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('project_files')
    .select('file_id')
    .where('project_id', '=', projectId)
    .where('file_id', 'in', fileIds)
    .where('kind', '=', 'text')
    .where('content', 'is not', null)
    .execute();
  return new Set(rows.map((row) => row.file_id));
}

/** Path, version and content of these files, where they are text with content. */
export async function readFilesToIndex(db: Kysely<Database>, projectId: string, fileIds: string[], maxChars: number): Promise<FileToIndex[]> {
  if (fileIds.length === 0) return [];
  return db
    .selectFrom('project_files as f')
    .select(['f.file_id', 'f.path', fileVersion.as('version'), sql<string | null>`case when length(f.content) <= ${maxChars} then f.content end`.as('content')])
    .where('f.project_id', '=', projectId)
    .where('f.file_id', 'in', fileIds)
    .where('f.kind', '=', 'text')
    .where('f.content', 'is not', null)
    .orderBy('f.file_id')
    .execute();
}

/** The first `limit` paths of a project, in path order. */
export async function listFilePaths(db: Kysely<Database>, projectId: string, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('project_files').select(['path']).where('project_id', '=', projectId).orderBy('path').limit(limit).execute();
  return rows.map((row) => row.path);
}

export async function countProjectFiles(db: Kysely<Database>, projectId: string): Promise<number> {
  const total = await db
    .selectFrom('project_files')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return Number(total.n);
}

/** One file's id, kind and text as a string (for the model, which reads text, not bytes). */
export async function findFileTextByPath(
  db: Kysely<Database>,
  projectId: string,
  path: string,
): Promise<Pick<ProjectFile, 'file_id' | 'kind' | 'content'> | undefined> {
  return db
    .selectFrom('project_files')
    .select(['file_id', 'kind', 'content'])
    .where('project_id', '=', projectId)
    .where('path', '=', path)
    .executeTakeFirst();
}

/** What one materialiser run stores: files gone from the index, rows to write, and history. */
export interface MaterializedChanges {
  removedFileIds: string[];
  /** A text file unchanged since it was stored comes with content null: it keeps its content. */
  upserts: Insertable<ProjectFilesTable>[];
  activities: Insertable<FileActivitiesTable>[];
}

/** Stores a run in one transaction, so readers see all of it or none. */
export async function writeMaterializedFiles(db: Kysely<Database>, projectId: string, changes: MaterializedChanges): Promise<void> {
  const { removedFileIds, upserts, activities } = changes;
  await db.transaction().execute(async (trx) => {
    if (removedFileIds.length > 0) {
      await trx.deleteFrom('project_files').where('project_id', '=', projectId).where('file_id', 'in', removedFileIds).execute();
    }
    for (let i = 0; i < upserts.length; i += FILE_BATCH) {
      await trx
        .insertInto('project_files')
        .values(upserts.slice(i, i + FILE_BATCH))
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
    await recordFileActivities(trx, activities);
  });
}

/**
 * File ids whose doc has log rows newer than its materialised row (or no row at all): what an
 * instance that takes a project over checks first, since the last owner may have died before
 * writing them. The log only: changes are materialised within a second, long before
 * compaction folds their rows away.
 */
export async function fileDocsChangedSinceMaterialized(db: Kysely<Database>, projectId: string): Promise<string[]> {
  const { rows } = await sql<{ file_id: string }>`
    select c.file_id from (
      select substr(doc_name, 6) as file_id, max(created_at) as changed_at
      from doc_updates where project_id = ${projectId} and starts_with(doc_name, 'file:')
      group by doc_name
    ) c
    left join project_files f on f.project_id = ${projectId} and f.file_id = c.file_id
    where f.file_id is null or c.changed_at > f.updated_at`.execute(db);
  return rows.map((row) => row.file_id);
}
