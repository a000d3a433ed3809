// Frozen in time: never import application code here, never edit after it has shipped.
//
// Several server instances share one database (DESIGN.md, Scale-out): a session participant
// records which instance its connection is on, so the instances can close the rows a killed
// instance left open without closing each other's. Rows written before have no instance; they
// were written by a single server and are closed as that server's leftovers.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('session_participants').addColumn('instance_id', 'text').execute();
  await db.schema.createIndex('session_participants_open_idx').on('session_participants').column('instance_id').where(sql.ref('left_at'), 'is', null).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('session_participants_open_idx').execute();
  await db.schema.alterTable('session_participants').dropColumn('instance_id').execute();
}
