// Durable Yjs state: a snapshot per doc plus an append-only update log. Appends are what
// `persisted` acknowledges; compaction folds the log into the snapshot without ever holding
// less than what was acknowledged.
import { sql, type Kysely } from 'kysely';
import * as Y from 'yjs';
import type { Database } from '../../db/schema.js';

export interface StoredDoc {
  /** Snapshot and log merged into one update; null for a doc never written. */
  update: Uint8Array | null;
  /** Rows in the log since the snapshot, and their total size: the compaction trigger. */
  logCount: number;
  logBytes: number;
  /** Highest sequence number folded in; other instances catch up from here. */
  lastSeq: number;
}

export class DocStore {
  constructor(private readonly db: Kysely<Database>) {}

  async load(projectId: string, docName: string): Promise<StoredDoc> {
    const snapshot = await this.db
      .selectFrom('doc_snapshots')
      .select(['state', 'upto_seq'])
      .where('project_id', '=', projectId)
      .where('doc_name', '=', docName)
      .executeTakeFirst();
    const log = await this.db
      .selectFrom('doc_updates')
      .select(['seq', 'update'])
      .where('project_id', '=', projectId)
      .where('doc_name', '=', docName)
      .where('seq', '>', snapshot?.upto_seq ?? 0)
      .orderBy('seq')
      .execute();
    const parts = [...(snapshot ? [snapshot.state] : []), ...log.map((row) => row.update)];
    return {
      update: parts.length === 0 ? null : parts.length === 1 ? parts[0]! : Y.mergeUpdates(parts),
      logCount: log.length,
      logBytes: log.reduce((sum, row) => sum + row.update.byteLength, 0),
      lastSeq: log.at(-1)?.seq ?? snapshot?.upto_seq ?? 0,
    };
  }

  /** Log rows after `seq`, for a room that missed a fan-out message. */
  async readSince(projectId: string, docName: string, seq: number): Promise<{ seq: number; update: Uint8Array }[]> {
    return this.db
      .selectFrom('doc_updates')
      .select(['seq', 'update'])
      .where('project_id', '=', projectId)
      .where('doc_name', '=', docName)
      .where('seq', '>', seq)
      .orderBy('seq')
      .execute();
  }

  /** Appends updates in order, in one statement; resolves once committed. */
  async append(projectId: string, docName: string, updates: { update: Uint8Array; userId: string | null }[]): Promise<number> {
    const rows = await this.db
      .insertInto('doc_updates')
      .values(updates.map((u) => ({ project_id: projectId, doc_name: docName, update: u.update, user_id: u.userId })))
      .returning('seq')
      .execute();
    return Math.max(...rows.map((r) => r.seq));
  }

  /**
   * Folds the log into the snapshot in one transaction under a per-doc advisory lock, so two
   * instances never compact the same doc at once and a reader sees either before or after.
   */
  async compact(projectId: string, docName: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${projectId + '/' + docName}))`.execute(trx);
      const snapshot = await trx
        .selectFrom('doc_snapshots')
        .select(['state', 'upto_seq'])
        .where('project_id', '=', projectId)
        .where('doc_name', '=', docName)
        .executeTakeFirst();
      const log = await trx
        .selectFrom('doc_updates')
        .select(['seq', 'update'])
        .where('project_id', '=', projectId)
        .where('doc_name', '=', docName)
        .where('seq', '>', snapshot?.upto_seq ?? 0)
        .orderBy('seq')
        .execute();
      if (log.length === 0) return;
      const state = Y.mergeUpdates([...(snapshot ? [snapshot.state] : []), ...log.map((r) => r.update)]);
      const uptoSeq = log.at(-1)!.seq;
      await trx
        .insertInto('doc_snapshots')
        .values({
          project_id: projectId,
          doc_name: docName,
          state,
          state_vector: Y.encodeStateVectorFromUpdate(state),
          upto_seq: uptoSeq,
        })
        .onConflict((oc) =>
          oc.columns(['project_id', 'doc_name']).doUpdateSet({
            state: (eb) => eb.ref('excluded.state'),
            state_vector: (eb) => eb.ref('excluded.state_vector'),
            upto_seq: (eb) => eb.ref('excluded.upto_seq'),
            updated_at: sql<Date>`now()`,
          }),
        )
        .execute();
      await trx
        .deleteFrom('doc_updates')
        .where('project_id', '=', projectId)
        .where('doc_name', '=', docName)
        .where('seq', '<=', uptoSeq)
        .execute();
    });
  }
}
