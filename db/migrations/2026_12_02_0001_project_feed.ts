// Frozen in time: never import application code here, never edit after it has shipped.
//
// The project feed: every stored update gets a dense per-project sequence number, drawn from a
// per-project counter inside the append's transaction (so numbers are in commit order), and a
// snapshot records the highest one it folded in. Rows stored by the release before get their
// numbers here, in the order they were stored.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('project_feeds')
    .addColumn('project_id', 'uuid', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('doc_updates').addColumn('project_seq', 'bigint').execute();
  await db.schema.alterTable('doc_snapshots').addColumn('upto_project_seq', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await sql`
    update doc_updates u set project_seq = n.project_seq
    from (select seq, row_number() over (partition by project_id order by seq) as project_seq from doc_updates) n
    where u.seq = n.seq`.execute(db);
  await sql`
    insert into project_feeds (project_id, seq)
    select p.id, coalesce((select max(u.project_seq) from doc_updates u where u.project_id = p.id), 0) from projects p`.execute(db);
  await sql`alter table doc_updates alter column project_seq set not null`.execute(db);
  await db.schema.createIndex('doc_updates_feed_idx').on('doc_updates').columns(['project_id', 'project_seq']).unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('doc_updates_feed_idx').execute();
  await db.schema.alterTable('doc_snapshots').dropColumn('upto_project_seq').execute();
  await db.schema.alterTable('doc_updates').dropColumn('project_seq').execute();
  await db.schema.dropTable('project_feeds').execute();
}
