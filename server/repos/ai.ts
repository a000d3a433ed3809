// AI chat sessions and their messages. The AI part writes the answers; these functions are
// the storage both it and the REST routes use.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { AiChatSession, AiMessage, Database, MessageStatus } from '../../db/schema.js';
import { toPage } from '../pagination.js';
import type { AiChatSessionDto, AiMessageDto } from '../schemas.js';
import { exactTime } from './keyset.js';

export const DEFAULT_AI_SESSION_TITLE = 'New chat';

function toAiChatSessionDto(row: AiChatSession, createdBy: string | null): AiChatSessionDto {
  return {
    id: row.id,
    title: row.title,
    createdBy,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toAiMessageDto(row: AiMessage, username: string | null): AiMessageDto {
  return {
    id: row.id,
    role: row.role,
    content: row.content,
    user: username,
    model: row.model,
    filesUsed: row.files_used,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    status: row.status,
    createdAt: row.created_at.toISOString(),
  };
}

export async function createAiSession(
  db: Kysely<Database>,
  spec: { projectId: string; createdBy: { id: string; username: string }; title?: string | undefined },
): Promise<AiChatSessionDto> {
  const row = await db
    .insertInto('ai_chat_sessions')
    .values({
      id: randomUUID(),
      project_id: spec.projectId,
      created_by: spec.createdBy.id,
      title: spec.title ?? DEFAULT_AI_SESSION_TITLE,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toAiChatSessionDto(row, spec.createdBy.username);
}

/** The session when it belongs to the project; another project's session is as good as absent. */
export async function findAiSession(
  db: Kysely<Database>,
  projectId: string,
  sessionId: string,
): Promise<AiChatSession | undefined> {
  return db
    .selectFrom('ai_chat_sessions')
    .selectAll()
    .where('id', '=', sessionId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
}

/**
 * Newest first by creation. Not by last activity: a session answered while someone pages
 * would move and be seen twice or not at all.
 */
export async function listAiSessions(
  db: Kysely<Database>,
  projectId: string,
  options: { limit: number; before?: [createdAt: string, id: string] | undefined },
) {
  let query = db
    .selectFrom('ai_chat_sessions as s')
    .leftJoin('users as u', 'u.id', 's.created_by')
    .selectAll('s')
    .select(['u.username', exactTime('s.created_at').as('created_key')])
    .where('s.project_id', '=', projectId);
  if (options.before) {
    const [createdAt, id] = options.before;
    const at = sql<Date>`${createdAt}::timestamptz`;
    query = query.where((eb) =>
      eb.or([eb('s.created_at', '<', at), eb.and([eb('s.created_at', '=', at), eb('s.id', '<', id)])]),
    );
  }
  const rows = await query.orderBy('s.created_at', 'desc').orderBy('s.id', 'desc').limit(options.limit + 1).execute();
  const page = toPage(rows, options.limit, (r) => [r.created_key, r.id]);
  return {
    items: page.items.map(({ username, created_key: _key, ...row }) => toAiChatSessionDto(row, username)),
    nextCursor: page.nextCursor,
  };
}

/** Oldest first, as a conversation reads. */
export async function listAiMessages(
  db: Kysely<Database>,
  sessionId: string,
  options: { limit: number; after?: number | undefined },
) {
  let query = db
    .selectFrom('ai_messages as m')
    .leftJoin('users as u', 'u.id', 'm.user_id')
    .selectAll('m')
    .select('u.username')
    .where('m.session_id', '=', sessionId);
  if (options.after !== undefined) query = query.where('m.id', '>', options.after);
  const rows = await query.orderBy('m.id').limit(options.limit + 1).execute();
  const page = toPage(rows, options.limit, (r) => [r.id]);
  return { items: page.items.map(({ username, ...row }) => toAiMessageDto(row, username)), nextCursor: page.nextCursor };
}

export interface NewAiMessage {
  sessionId: string;
  role: 'user' | 'assistant';
  content: string;
  userId?: string | null;
  model?: string | null;
  filesUsed?: string[];
  promptTokens?: number | null;
  completionTokens?: number | null;
  status: MessageStatus;
}

/** Appends a message and marks the session as active, in one transaction. */
export async function addAiMessage(db: Kysely<Database>, message: NewAiMessage): Promise<AiMessage> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('ai_messages')
      .values({
        session_id: message.sessionId,
        role: message.role,
        content: message.content,
        user_id: message.userId ?? null,
        model: message.model ?? null,
        files_used: JSON.stringify(message.filesUsed ?? []),
        prompt_tokens: message.promptTokens ?? null,
        completion_tokens: message.completionTokens ?? null,
        status: message.status,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('ai_chat_sessions')
      .set({ updated_at: sql<Date>`now()` })
      .where('id', '=', message.sessionId)
      .execute();
    return row;
  });
}

/** How an answer that was stored as streaming ended. */
export async function finishAiMessage(
  db: Kysely<Database>,
  id: number,
  outcome: { content: string; status: Exclude<MessageStatus, 'streaming'>; promptTokens?: number | null; completionTokens?: number | null },
): Promise<void> {
  await db
    .updateTable('ai_messages')
    .set({
      content: outcome.content,
      status: outcome.status,
      prompt_tokens: outcome.promptTokens ?? null,
      completion_tokens: outcome.completionTokens ?? null,
    })
    .where('id', '=', id)
    .execute();
}

/** The newest complete messages of a session, oldest first: the conversation so far. */
export async function recentAiMessages(
  db: Kysely<Database>,
  sessionId: string,
  limit: number,
): Promise<Pick<AiMessage, 'id' | 'role' | 'content'>[]> {
  const rows = await db
    .selectFrom('ai_messages')
    .select(['id', 'role', 'content'])
    .where('session_id', '=', sessionId)
    .where('status', '=', 'complete')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.reverse();
}

/**
 * At start: answers a stopped server was still streaming (a crash, SIGKILL) end as
 * interrupted with what they had, so none reads as still being written.
 */
export async function interruptUnfinishedAnswers(db: Kysely<Database>): Promise<number> {
  const rows = await db
    .updateTable('ai_messages')
    .set({ status: sql<MessageStatus>`case when content = '' then 'failed' else 'interrupted' end` })
    .where('status', '=', 'streaming')
    .returning('id')
    .execute();
  return rows.length;
}
