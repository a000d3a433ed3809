// Collaboration sessions: a session runs from the first person joining a project's room to the
// last one leaving. The live rooms call openParticipant / closeParticipant; REST lists them.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';
import { errors } from '../errors.js';
import { toPage } from '../pagination.js';
import type { CollaborationSessionDto } from '../schemas.js';
import { exactTime } from './keyset.js';

/**
 * Opens and closes of one project take the project row's lock, so a join never lands in a
 * session that a concurrent last leave is ending. NO KEY UPDATE, not UPDATE: it leaves alone
 * the inserts of other tables that reference the project (their foreign-key checks take
 * KEY SHARE, which UPDATE would block).
 */
async function lockProject(trx: Transaction<Database>, projectId: string): Promise<void> {
  const row = await trx.selectFrom('projects').select('id').where('id', '=', projectId).forNoKeyUpdate().executeTakeFirst();
  if (!row) throw errors.projectNotFound();
}

/** Joins the project's open session, or starts one; returns the new participant's id. */
export async function openParticipant(
  db: Kysely<Database>,
  projectId: string,
  userId: string,
  client: string,
  instanceId: string | null = null,
): Promise<string> {
  return db.transaction().execute(async (trx) => {
    await lockProject(trx, projectId);
    const open = await trx
      .selectFrom('collaboration_sessions')
      .select('id')
      .where('project_id', '=', projectId)
      .where('ended_at', 'is', null)
      .orderBy('started_at', 'desc')
      .executeTakeFirst();
    const session =
      open ??
      (await trx
        .insertInto('collaboration_sessions')
        .values({ id: randomUUID(), project_id: projectId })
        .returning('id')
        .executeTakeFirstOrThrow());
    const participant = await trx
      .insertInto('session_participants')
      .values({ id: randomUUID(), session_id: session.id, user_id: userId, client, instance_id: instanceId })
      .returning('id')
      .executeTakeFirstOrThrow();
    return participant.id;
  });
}

/**
 * Marks the participant as gone and ends the session when nobody is left. Closing an unknown
 * or already closed participant changes nothing, so a room may call it on every exit path.
 */
export async function closeParticipant(db: Kysely<Database>, participantId: string): Promise<{ sessionEnded: boolean }> {
  return db.transaction().execute(async (trx) => {
    const found = await trx
      .selectFrom('session_participants as p')
      .innerJoin('collaboration_sessions as s', 's.id', 'p.session_id')
      .select(['p.session_id', 's.project_id'])
      .where('p.id', '=', participantId)
      .executeTakeFirst();
    if (!found) return { sessionEnded: false };
    await lockProject(trx, found.project_id);
    const left = await trx
      .updateTable('session_participants')
      .set({ left_at: sql<Date>`now()` })
      .where('id', '=', participantId)
      .where('left_at', 'is', null)
      .executeTakeFirst();
    if (left.numUpdatedRows === 0n) return { sessionEnded: false };
    const remaining = await trx
      .selectFrom('session_participants')
      .select('id')
      .where('session_id', '=', found.session_id)
      .where('left_at', 'is', null)
      .limit(1)
      .executeTakeFirst();
    if (remaining) return { sessionEnded: false };
    const ended = await trx
      .updateTable('collaboration_sessions')
      .set({ ended_at: sql<Date>`now()` })
      .where('id', '=', found.session_id)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return { sessionEnded: ended.numUpdatedRows > 0n };
  });
}

/**
 * Ends the participations left open by server instances that are gone (a crash, SIGKILL), and
 * the sessions nobody is left in; the real moment they left is unknown, so it is now. A single
 * server at start-up passes no live instances: every open row is a leftover. Several
 * instances pass the ones alive (see cluster/instance-heartbeat.ts), so none ends another's
 * live rows. Rows written before instances were recorded count as leftovers. Returns how many
 * sessions were ended.
 */
export async function closeSessionsOfGoneInstances(db: Kysely<Database>, liveInstances: ReadonlySet<string> = new Set()): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const live = [...liveInstances];
    const left = await trx
      .updateTable('session_participants')
      .set({ left_at: sql<Date>`now()` })
      .where('left_at', 'is', null)
      .where((eb) => (live.length === 0 ? eb.lit(true) : eb.or([eb('instance_id', 'is', null), eb('instance_id', 'not in', live)])))
      .returning('session_id')
      .execute();
    if (left.length === 0) return 0;
    // Locked as openParticipant locks them, so no join lands in a session being ended here.
    const sessionIds = [...new Set(left.map((row) => row.session_id))];
    const projects = await trx.selectFrom('collaboration_sessions').select('project_id').distinct().where('id', 'in', sessionIds).orderBy('project_id').execute();
    for (const { project_id } of projects) await trx.selectFrom('projects').select('id').where('id', '=', project_id).forNoKeyUpdate().execute();
    const ended = await trx
      .updateTable('collaboration_sessions')
      .set({ ended_at: sql<Date>`now()` })
      .where('ended_at', 'is', null)
      .where('id', 'in', sessionIds)
      .where((eb) =>
        eb.not(eb.exists(eb.selectFrom('session_participants as p').select('p.id').whereRef('p.session_id', '=', 'collaboration_sessions.id').where('p.left_at', 'is', null))),
      )
      .executeTakeFirst();
    return Number(ended.numUpdatedRows);
  });
}

/** Newest first, with everyone who took part, in two queries whatever the page size. */
export async function listCollaborationSessions(
  db: Kysely<Database>,
  projectId: string,
  options: { limit: number; before?: [startedAt: string, id: string] | undefined },
) {
  let query = db
    .selectFrom('collaboration_sessions as s')
    .select(['s.id', 's.started_at', 's.ended_at', exactTime('s.started_at').as('started_key')])
    .where('s.project_id', '=', projectId);
  if (options.before) {
    const [startedAt, id] = options.before;
    const at = sql<Date>`${startedAt}::timestamptz`;
    query = query.where((eb) =>
      eb.or([eb('s.started_at', '<', at), eb.and([eb('s.started_at', '=', at), eb('s.id', '<', id)])]),
    );
  }
  const rows = await query.orderBy('s.started_at', 'desc').orderBy('s.id', 'desc').limit(options.limit + 1).execute();
  const page = toPage(rows, options.limit, (r) => [r.started_key, r.id]);
  const participants = page.items.length
    ? await db
        .selectFrom('session_participants as p')
        .innerJoin('users as u', 'u.id', 'p.user_id')
        .select(['p.session_id', 'u.username', 'p.client', 'p.joined_at', 'p.left_at'])
        .where(
          'p.session_id',
          'in',
          page.items.map((s) => s.id),
        )
        .orderBy('p.joined_at')
        .orderBy('p.id')
        .execute()
    : [];
  const bySession = new Map<string, CollaborationSessionDto['participants']>();
  for (const p of participants) {
    const list = bySession.get(p.session_id) ?? [];
    list.push({
      username: p.username,
      client: p.client,
      joinedAt: p.joined_at.toISOString(),
      leftAt: p.left_at?.toISOString() ?? null,
    });
    bySession.set(p.session_id, list);
  }
  return {
    items: page.items.map(
      (s): CollaborationSessionDto => ({
        id: s.id,
        startedAt: s.started_at.toISOString(),
        endedAt: s.ended_at?.toISOString() ?? null,
        participants: bySession.get(s.id) ?? [],
      }),
    ),
    nextCursor: page.nextCursor,
  };
}
