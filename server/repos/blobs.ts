// Content-addressed file bodies (binaries, and text too large for a document), per project:
// a hash proves nothing about who may read it, so one project never serves another's blob.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';

/** Stores the blob unless the project already has it; says which. */
export async function putBlob(
  db: Kysely<Database>,
  blob: { projectId: string; sha256: string; data: Uint8Array; createdBy: string | null },
): Promise<{ created: boolean }> {
  const inserted = await db
    .insertInto('blobs')
    .values({
      project_id: blob.projectId,
      sha256: blob.sha256,
      size: blob.data.byteLength,
      data: blob.data,
      created_by: blob.createdBy,
    })
    .onConflict((oc) => oc.columns(['project_id', 'sha256']).doNothing())
    .returning('sha256')
    .executeTakeFirst();
  return { created: inserted !== undefined };
}

export async function findBlobSize(db: Kysely<Database>, projectId: string, sha256: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('blobs')
    .select('size')
    .where('project_id', '=', projectId)
    .where('sha256', '=', sha256)
    .executeTakeFirst();
  return row?.size;
}

export async function findBlobData(db: Kysely<Database>, projectId: string, sha256: string): Promise<Uint8Array | undefined> {
  const row = await db
    .selectFrom('blobs')
    .select('data')
    .where('project_id', '=', projectId)
    .where('sha256', '=', sha256)
    .executeTakeFirst();
  return row?.data;
}
