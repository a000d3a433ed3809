// Whether the database answers, for /healthz: a round trip, reading no table.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';

/** Resolves once the database answered; rejects with the driver's error when it cannot. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
