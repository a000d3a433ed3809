// Durable Yjs state: a snapshot per doc plus an append-only update log. Appends are what
// `persisted` acknowledges; compaction folds the log into the snapshot without ever holding
// less than what was acknowledged.
//
// Loads and appends are grouped across docs (see TickBatcher): a daemon sharing 5,000 files
// opens and writes them all at once, and one statement per doc would be 15,000 round trips.
import { sql, type Kysely } from 'kysely';
import * as Y from 'yjs';
import type { Database } from '../../db/schema.js';
import { roomKey } from './room-key.js';
import { TickBatcher, type BatchItem } from './tick-batcher.js';
import type { LiveMetrics } from '../metrics.js';

export interface StoredDoc {
  /** Snapshot and log merged into one update; null for a doc never written. */
  update: Uint8Array | null;
  /** Rows in the log since the snapshot, and their total size: the compaction trigger. */
  logCount: number;
  logBytes: number;
  /** Highest sequence number folded in; other instances catch up from here. */
  lastSeq: number;
}

export interface LogEntry {
  update: Uint8Array;
  userId: string | null;
}

/** What an append stored: the doc's highest log seq, and the project feed numbers its rows took. */
export interface Appended {
  seq: number;
  fromProjectSeq: number;
  toProjectSeq: number;
}

export interface FeedRow {
  project_seq: number;
  doc_name: string;
  update: Uint8Array;
  user_id: string | null;
}

interface LoadRequest {
  projectId: string;
  docName: string;
}

interface AppendRequest extends LoadRequest {
  updates: LogEntry[];
}

/** Docs per load query: keeps the `in (...)` list and the result set modest. */
const LOAD_BATCH_DOCS = 500;
/** Bytes per append statement; each row counts as at least ROW_WEIGHT of them. */
const APPEND_BATCH_BYTES = 8 * 1024 * 1024;
/** So a statement holds at most 4,096 rows (PostgreSQL takes 65,535 parameters; 5 a row). */
const ROW_WEIGHT = APPEND_BATCH_BYTES / 4096;

export class DocStore {
  private readonly loads = new TickBatcher<LoadRequest, StoredDoc>((batch) => this.loadBatch(batch), {
    maxWeight: LOAD_BATCH_DOCS,
    weigh: () => 1,
  });
  // One request per doc a batch: a doc's next append waits for its previous one to commit,
  // so its rows keep their order in the log.
  private readonly appends: TickBatcher<AppendRequest, Appended>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly metrics: Pick<LiveMetrics, 'appended'> = { appended: () => undefined },
    options: { appendIntervalMs?: number } = {},
  ) {
    this.appends = new TickBatcher<AppendRequest, Appended>((batch) => this.appendBatch(batch), {
      maxWeight: APPEND_BATCH_BYTES,
      weigh: (request) => request.updates.reduce((sum, u) => sum + Math.max(u.update.byteLength, ROW_WEIGHT), 0),
      key: (request) => roomKey(request.projectId, request.docName),
      minIntervalMs: options.appendIntervalMs,
    });
  }

  /** The stored state of a doc; loads requested together are answered by one query. */
  load(projectId: string, docName: string): Promise<StoredDoc> {
    return this.loads.submit({ projectId, docName });
  }

  /**
   * Appends updates in order and resolves with their numbers once committed. Appends of many
   * docs requested together go into one transaction, so they commit together.
   */
  append(projectId: string, docName: string, updates: LogEntry[]): Promise<Appended> {
    return this.appends.submit({ projectId, docName, updates });
  }

  private async loadBatch(batch: BatchItem<LoadRequest, StoredDoc>[]): Promise<void> {
    const byProject = new Map<string, BatchItem<LoadRequest, StoredDoc>[]>();
    for (const item of batch) {
      const items = byProject.get(item.request.projectId) ?? [];
      items.push(item);
      byProject.set(item.request.projectId, items);
    }
    for (const [projectId, items] of byProject) {
      let rows: { doc_name: string; seq: number; data: Uint8Array; is_log: boolean }[];
      try {
        rows = await this.readStored(projectId, [...new Set(items.map((item) => item.request.docName))]);
      } catch (err) {
        for (const item of items) item.reject(err);
        continue;
      }
      const rowsByDoc = new Map<string, typeof rows>();
      for (const row of rows) {
        const docRows = rowsByDoc.get(row.doc_name) ?? [];
        docRows.push(row);
        rowsByDoc.set(row.doc_name, docRows);
      }
      for (const item of items) {
        try {
          item.resolve(storedDoc(rowsByDoc.get(item.request.docName) ?? []));
        } catch (err) {
          // One unreadable doc fails its own load, not its neighbours'.
          item.reject(err);
        }
      }
    }
  }

  /**
   * Snapshot and log rows of some docs of a project, in one statement: it reads one snapshot
   * of the database, so a compaction committing meanwhile is seen wholly or not at all.
   */
  private async readStored(projectId: string, docNames: string[]) {
    const snapshots = this.db
      .selectFrom('doc_snapshots')
      .select(['doc_name', 'upto_seq as seq', 'state as data', sql<boolean>`false`.as('is_log')])
      .where('project_id', '=', projectId)
      .where('doc_name', 'in', docNames);
    const log = this.db
      .selectFrom('doc_updates as u')
      .leftJoin('doc_snapshots as s', (join) => join.onRef('s.project_id', '=', 'u.project_id').onRef('s.doc_name', '=', 'u.doc_name'))
      .select(['u.doc_name', 'u.seq', 'u.update as data', sql<boolean>`true`.as('is_log')])
      .where('u.project_id', '=', projectId)
      .where('u.doc_name', 'in', docNames)
      .where('u.seq', '>', (eb) => eb.fn.coalesce('s.upto_seq', eb.lit(0)));
    // A snapshot's seq is below every log row after it: ordering by seq puts it first.
    return snapshots.unionAll(log).orderBy('seq').execute();
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

  /** The last project_seq handed out: every row up to it is committed (see insertRows). */
  async feedPosition(projectId: string): Promise<number> {
    const row = await this.db.selectFrom('project_feeds').select('seq').where('project_id', '=', projectId).executeTakeFirst();
    return row?.seq ?? 0;
  }

  /** The stored positions of several projects in one query (projects never written are left out). */
  async feedPositions(projectIds: readonly string[]): Promise<Map<string, number>> {
    if (projectIds.length === 0) return new Map();
    const rows = await this.db.selectFrom('project_feeds').select(['project_id', 'seq']).where('project_id', 'in', [...projectIds]).execute();
    return new Map(rows.map((row) => [row.project_id, row.seq]));
  }

  /** Log rows of a project with `after` < project_seq <= `upto`, in feed order, a page at a time. */
  async feedRows(projectId: string, after: number, upto: number, limit: number): Promise<FeedRow[]> {
    return this.db
      .selectFrom('doc_updates')
      .select(['project_seq', 'doc_name', 'update', 'user_id'])
      .where('project_id', '=', projectId)
      .where('project_seq', '>', after)
      .where('project_seq', '<=', upto)
      .orderBy('project_seq')
      .limit(limit)
      .execute();
  }

  /**
   * Snapshots that folded in rows after `since` (all of them for 0: snapshots from before the
   * feed existed carry no number), by doc name after `afterDoc`, a page at a time.
   */
  async feedSnapshots(projectId: string, since: number, afterDoc: string, limit: number): Promise<{ doc_name: string; state: Uint8Array }[]> {
    let query = this.db
      .selectFrom('doc_snapshots')
      .select(['doc_name', 'state'])
      .where('project_id', '=', projectId)
      .where('doc_name', '>', afterDoc);
    if (since > 0) query = query.where('upto_project_seq', '>', since);
    return query.orderBy('doc_name').limit(limit).execute();
  }

  /** Names of the docs whose snapshots folded in rows after `since`, after `afterDoc`, a page at a time. */
  async feedCompactedDocs(projectId: string, since: number, afterDoc: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('doc_snapshots')
      .select('doc_name')
      .where('project_id', '=', projectId)
      .where('doc_name', '>', afterDoc)
      .where('upto_project_seq', '>', since)
      .orderBy('doc_name')
      .limit(limit)
      .execute();
    return rows.map((row) => row.doc_name);
  }

  private async appendBatch(batch: BatchItem<AppendRequest, Appended>[]): Promise<void> {
    try {
      await this.insertRows(batch);
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // One doc's bad row (its project just deleted, say) must not fail every doc that
      // happened to share its statement: each goes again on its own.
      for (const item of batch) {
        await this.insertRows([item]).catch((itemErr: unknown) => item.reject(itemErr));
      }
    }
  }

  /**
   * Every row of the batch in one statement (atomic on its own, so no BEGIN or COMMIT). Each
   * project's rows take the next numbers of its feed counter, whose row lock orders concurrent
   * appends of one project (on any instance) until the statement commits: numbers are dense
   * and in commit order. Each request resolves with its rows' range. One statement, not four
   * (BEGIN, the counters, the rows, COMMIT): on PostgreSQL the round trips were most of the
   * server's CPU per relayed edit (bench/relay-peers.ts, profiled).
   */
  private async insertRows(batch: BatchItem<AppendRequest, Appended>[]): Promise<void> {
    const counts = new Map<string, number>();
    const firstOffsets = batch.map(({ request }) => {
      const offset = counts.get(request.projectId) ?? 0;
      counts.set(request.projectId, offset + request.updates.length);
      return offset;
    });
    const rows = batch.flatMap(({ request }, i) =>
      request.updates.map((u, k) => sql`(${request.projectId}::uuid, ${request.docName}::text, ${u.update}::bytea, ${u.userId}::uuid, ${firstOffsets[i]! + k}::bigint)`),
    );
    // Counters locked in one order (the insert takes them in project order), so two
    // instances' statements never deadlock; rows inserted in batch order, so a doc's keep theirs.
    const started = performance.now();
    const { rows: inserted } = await sql<{ seq: number; project_id: string; doc_name: string; project_seq: number }>`
      with counts (project_id, n) as (values ${sql.join([...counts].map(([projectId, n]) => sql`(${projectId}::uuid, ${n}::bigint)`))}),
      feeds as (
        insert into project_feeds (project_id, seq)
        select project_id, n from counts order by project_id
        on conflict (project_id) do update set seq = project_feeds.seq + excluded.seq
        returning project_id, seq
      ),
      input (project_id, doc_name, update, user_id, project_offset) as (values ${sql.join(rows)})
      insert into doc_updates (project_id, doc_name, update, user_id, project_seq)
      select i.project_id, i.doc_name, i.update, i.user_id, f.seq - c.n + 1 + i.project_offset
      from input i join feeds f on f.project_id = i.project_id join counts c on c.project_id = i.project_id
      order by i.project_id, i.project_offset
      returning seq, project_id, doc_name, project_seq`.execute(this.db);
    this.metrics.appended(inserted.length, (performance.now() - started) / 1000);
    const firstOfProject = new Map<string, number>();
    const highest = new Map<string, number>();
    for (const row of inserted) {
      firstOfProject.set(row.project_id, Math.min(firstOfProject.get(row.project_id) ?? Infinity, Number(row.project_seq)));
      const key = roomKey(row.project_id, row.doc_name);
      highest.set(key, Math.max(highest.get(key) ?? 0, Number(row.seq)));
    }
    batch.forEach((item, i) => {
      const from = firstOfProject.get(item.request.projectId)! + firstOffsets[i]!;
      const to = from + item.request.updates.length - 1;
      item.resolve({ seq: highest.get(roomKey(item.request.projectId, item.request.docName)) ?? 0, fromProjectSeq: from, toProjectSeq: to });
    });
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
        .select(['seq', 'update', 'project_seq'])
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
          upto_project_seq: log.reduce((max, row) => Math.max(max, row.project_seq), 0),
        })
        .onConflict((oc) =>
          oc.columns(['project_id', 'doc_name']).doUpdateSet({
            state: (eb) => eb.ref('excluded.state'),
            state_vector: (eb) => eb.ref('excluded.state_vector'),
            upto_seq: (eb) => eb.ref('excluded.upto_seq'),
            upto_project_seq: (eb) => eb.ref('excluded.upto_project_seq'),
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

function storedDoc(rows: { seq: number; data: Uint8Array; is_log: boolean }[]): StoredDoc {
  const log = rows.filter((row) => row.is_log);
  const snapshot = rows.find((row) => !row.is_log);
  const parts = rows.map((row) => row.data);
  return {
    update: parts.length === 0 ? null : parts.length === 1 ? parts[0]! : Y.mergeUpdates(parts),
    logCount: log.length,
    logBytes: log.reduce((sum, row) => sum + row.data.byteLength, 0),
    lastSeq: log.at(-1)?.seq ?? snapshot?.seq ?? 0,
  };
}
