// The chunk index's tables: chunked_files (which version of each file the chunks were built
// from) and file_chunks (a weighted tsvector per chunk of lines, under a GIN index). Ranking
// happens in PostgreSQL, limit included, so a question costs the server the rows it returns
// and nothing per file of the project.
//
// Several writers may refresh one project at once (two questions on two server instances): a
// batch first upserts its files' rows in chunked_files in file id order, which locks them in
// one order for every writer (no deadlock), and writes the chunks only of the files whose
// version it moved; a writer that finds the version already there leaves those files alone.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { ChunkDocument, ChunkHit, SearchOptions } from './chunk-index.js';
import type { QueryGroup } from './terms.js';

/** Rows per insert: statements stay modest for files of many chunks. */
const CHUNK_ROWS = 200;

/**
 * What a match counts by where it is, as ts_rank's weights {D, C, B, A}: the text (D) 1, the
 * path (B) 2, a name the chunk defines (A) 3; C is unused. A file's name says a lot about what
 * it holds; a definition more than a use.
 */
const FIELD_WEIGHTS = `{${1 / 3}, 0, ${2 / 3}, 1}`;
/** The asker's current file counts this much more. */
const CURRENT_FILE_BOOST = 1.5;

export interface FileChunks {
  fileId: string;
  path: string;
  version: string;
  /** Why the file has no chunks, or null. */
  leftOut: string | null;
  chunks: ChunkDocument[];
}

const tsvectorOf = (chunk: ChunkDocument) =>
  sql<string>`setweight(to_tsvector('simple', ${chunk.defines}), 'A') || setweight(to_tsvector('simple', ${chunk.path}), 'B') || to_tsvector('simple', ${chunk.text})`;

/**
 * Replaces what the index holds for these files, in one transaction. Returns how many files it
 * wrote: those whose stored version differed (another writer may have stored this one first).
 */
export async function replaceFileChunks(db: Kysely<Database>, projectId: string, files: FileChunks[]): Promise<number> {
  if (files.length === 0) return 0;
  // Code unit order, which is PostgreSQL's "C" order for the ASCII ids files have.
  const sorted = [...files].sort((a, b) => (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0));
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .insertInto('chunked_files')
      .values(sorted.map((f) => ({ project_id: projectId, file_id: f.fileId, path: f.path, version: f.version, chunks: f.chunks.length, left_out: f.leftOut })))
      .onConflict((oc) =>
        oc
          .columns(['project_id', 'file_id'])
          .doUpdateSet((eb) => ({
            path: eb.ref('excluded.path'),
            version: eb.ref('excluded.version'),
            chunks: eb.ref('excluded.chunks'),
            left_out: eb.ref('excluded.left_out'),
            indexed_at: sql`now()`,
          }))
          .whereRef('chunked_files.version', '<>', 'excluded.version'),
      )
      .returning('file_id')
      .execute();
    if (claimed.length === 0) return 0;
    const ids = new Set(claimed.map((row) => row.file_id));
    await trx.deleteFrom('file_chunks').where('project_id', '=', projectId).where('file_id', 'in', [...ids]).execute();
    const rows = sorted
      .filter((f) => ids.has(f.fileId))
      .flatMap((f) =>
        f.chunks.map((chunk) => ({ project_id: projectId, file_id: f.fileId, start_line: chunk.startLine, end_line: chunk.endLine, terms: tsvectorOf(chunk) })),
      );
    for (let i = 0; i < rows.length; i += CHUNK_ROWS) await trx.insertInto('file_chunks').values(rows.slice(i, i + CHUNK_ROWS)).execute();
    return ids.size;
  });
}

/** One page of the files the index holds, in file id order after `after`. */
export async function listChunkedFiles(db: Kysely<Database>, projectId: string, options: { after: string | null; limit: number }): Promise<string[]> {
  let query = db.selectFrom('chunked_files').select('file_id').where('project_id', '=', projectId);
  if (options.after !== null) query = query.where('file_id', '>', options.after);
  const rows = await query.orderBy('file_id').limit(options.limit).execute();
  return rows.map((row) => row.file_id);
}

/** The versions the index holds of these files. */
export async function chunkedVersions(db: Kysely<Database>, projectId: string, fileIds: string[]): Promise<Map<string, string>> {
  if (fileIds.length === 0) return new Map();
  const rows = await db.selectFrom('chunked_files').select(['file_id', 'version']).where('project_id', '=', projectId).where('file_id', 'in', fileIds).execute();
  return new Map(rows.map((row) => [row.file_id, row.version]));
}

/** Forgets these files and their chunks. Returns how many the index held. */
export async function deleteChunkedFiles(db: Kysely<Database>, projectId: string, fileIds: string[]): Promise<number> {
  if (fileIds.length === 0) return 0;
  // Locked before the delete, in the order replaceFileChunks locks them.
  const result = await db
    .deleteFrom('chunked_files')
    .where('project_id', '=', projectId)
    .where('file_id', 'in', (eb) =>
      eb.selectFrom('chunked_files').select('file_id').where('project_id', '=', projectId).where('file_id', 'in', fileIds).orderBy(sql`file_id collate "C"`).forUpdate(),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * The chunks that best match the query groups, best first: ts_rank per group (so each term
 * counts as its group says), times the current file's boost, at most `perFile` chunks of a file.
 */
export async function searchChunks(db: Kysely<Database>, projectId: string, groups: QueryGroup[], options: SearchOptions): Promise<ChunkHit[]> {
  if (groups.length === 0) return [];
  const matches = groups.map((g) => `(${g.query})`).join(' | ');
  const rank = sql.join(
    groups.map((g) => sql`${g.weight * g.terms}::float8 * ts_rank(${FIELD_WEIGHTS}::float4[], c.terms, to_tsquery('simple', ${g.query}))`),
    sql` + `,
  );
  const boost = options.boostFileId ? sql`case when c.file_id = ${options.boostFileId} then ${CURRENT_FILE_BOOST}::float8 else 1 end` : sql`1`;
  const onlyFile = options.fileId ? sql`and c.file_id = ${options.fileId}` : sql``;
  const perFile = options.perFile ?? options.limit;
  const { rows } = await sql<{ file_id: string; start_line: number; end_line: number; score: number }>`
    select r.file_id, r.start_line, r.end_line, r.score
    from (
      select s.*, row_number() over (partition by s.file_id order by s.score desc, s.start_line) as nth
      from (
        select c.file_id, c.start_line, c.end_line, (${rank}) * ${boost} as score
        from file_chunks c
        where c.project_id = ${projectId} and c.terms @@ to_tsquery('simple', ${matches}) ${onlyFile}
      ) s
    ) r
    where r.nth <= ${perFile}
    order by r.score desc, r.file_id, r.start_line
    limit ${options.limit}`.execute(db);
  // Paths of the chunks returned only, looked up by key.
  const paths = await chunkedPaths(db, projectId, [...new Set(rows.map((row) => row.file_id))]);
  return rows.flatMap((row) => {
    const path = paths.get(row.file_id);
    return path === undefined ? [] : [{ fileId: row.file_id, path, startLine: row.start_line, endLine: row.end_line, score: Number(row.score) }];
  });
}

async function chunkedPaths(db: Kysely<Database>, projectId: string, fileIds: string[]): Promise<Map<string, string>> {
  if (fileIds.length === 0) return new Map();
  const rows = await db.selectFrom('chunked_files').select(['file_id', 'path']).where('project_id', '=', projectId).where('file_id', 'in', fileIds).execute();
  return new Map(rows.map((row) => [row.file_id, row.path]));
}

/**
 * Fresh statistics for the chunk tables. A first question about a large project fills them from
 * nothing in one go, faster than autovacuum notices (and PGlite has no autovacuum): planned on
 * the statistics of an empty table, the next refresh's comparison took 45 s for 40,000 files.
 */
export async function analyzeChunkTables(db: Kysely<Database>): Promise<void> {
  await sql`analyze chunked_files, file_chunks`.execute(db);
}

export async function countChunks(db: Kysely<Database>, projectId: string): Promise<{ files: number; chunks: number }> {
  const row = await db
    .selectFrom('chunked_files')
    .select((eb) => [eb.fn.countAll<number>().as('files'), eb.fn.coalesce(eb.fn.sum<number>('chunks'), eb.lit(0)).as('chunks')])
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return { files: Number(row.files), chunks: Number(row.chunks) };
}
