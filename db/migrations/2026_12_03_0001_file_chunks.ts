// Frozen in time: never import application code here, never edit after it has shipped.
//
// The search index of `ask` moves from server memory into PostgreSQL's own full-text search:
// one row per indexed file (the project_files version its chunks were built from), and one
// row per chunk of lines with its terms as a weighted tsvector. Both are derived from
// project_files, so they start empty: the first question about a project fills them from the
// files the release before stored, and nothing it wrote is lost.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('chunked_files')
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('file_id', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('chunks', 'integer', (c) => c.notNull())
    .addColumn('left_out', 'text')
    .addColumn('indexed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('chunked_files_pkey', ['project_id', 'file_id'])
    .execute();
  await db.schema
    .createTable('file_chunks')
    .addColumn('project_id', 'uuid', (c) => c.notNull())
    .addColumn('file_id', 'text', (c) => c.notNull())
    .addColumn('start_line', 'integer', (c) => c.notNull())
    .addColumn('end_line', 'integer', (c) => c.notNull())
    .addColumn('terms', sql`tsvector`, (c) => c.notNull())
    .addPrimaryKeyConstraint('file_chunks_pkey', ['project_id', 'file_id', 'start_line'])
    .addForeignKeyConstraint('file_chunks_file_fkey', ['project_id', 'file_id'], 'chunked_files', ['project_id', 'file_id'], (c) => c.onDelete('cascade'))
    // A chunk's tsvector is about 2 KB: past the default threshold it would move to the TOAST
    // table, and every row a question ranks would cost a fetch from there (3x the query time).
    .modifyEnd(sql`with (toast_tuple_target = 8160)`)
    .execute();
  await db.schema.createIndex('file_chunks_terms_idx').on('file_chunks').using('gin').column('terms').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('file_chunks').execute();
  await db.schema.dropTable('chunked_files').execute();
}
