// API and session tokens: random secrets handed out once and stored only as hashes, scoped to
// a project and role when made for CI, revocable, and found again by hash on every request.
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { sha256Hex } from '../../common/fs-helpers.js';
import type { ApiToken, Database, Role, User } from '../../db/schema.js';
import type { ApiTokenDto } from '../schemas.js';

export const TOKEN_PREFIX = 'cs_';

/** Only the hash is stored: a database leak does not leak usable tokens. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

export interface NewToken {
  userId: string;
  name: string;
  kind: 'session' | 'api';
  projectId?: string | null;
  role?: Role | null;
  expiresAt?: Date | null;
}

/** Creates a token and returns its secret: the only time the secret exists outside the client. */
export async function issueToken(db: Kysely<Database>, spec: NewToken): Promise<{ token: string; row: ApiToken }> {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const row = await db
    .insertInto('api_tokens')
    .values({
      id: randomUUID(),
      user_id: spec.userId,
      name: spec.name,
      kind: spec.kind,
      token_hash: hashToken(token),
      project_id: spec.projectId ?? null,
      role: spec.role ?? null,
      expires_at: spec.expiresAt ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { token, row };
}

/** The token and its user, when the token is known, not revoked and not expired. */
export async function findActiveToken(
  db: Kysely<Database>,
  token: string,
): Promise<{ token: ApiToken; user: User } | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const row = await db
    .selectFrom('api_tokens')
    .selectAll('api_tokens')
    .where('token_hash', '=', hashToken(token))
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
  if (!row) return undefined;
  const user = await db.selectFrom('users').selectAll().where('id', '=', row.user_id).executeTakeFirst();
  return user ? { token: row, user } : undefined;
}

/** last_used_at is informative; writing it at most once a minute keeps reads read-only. */
export async function touchToken(db: Kysely<Database>, token: ApiToken): Promise<void> {
  if (token.last_used_at && Date.now() - token.last_used_at.getTime() < 60_000) return;
  await db.updateTable('api_tokens').set({ last_used_at: new Date() }).where('id', '=', token.id).execute();
}

/** A token as its owner sees it: everything but the hash. */
export type ListedToken = Omit<ApiToken, 'token_hash'> & { project_full_name: string | null };

export function toApiTokenDto(token: ListedToken): ApiTokenDto {
  return {
    id: token.id,
    name: token.name,
    kind: token.kind,
    projectId: token.project_id,
    project: token.project_full_name,
    role: token.role,
    expiresAt: token.expires_at?.toISOString() ?? null,
    lastUsedAt: token.last_used_at?.toISOString() ?? null,
    revokedAt: token.revoked_at?.toISOString() ?? null,
    createdAt: token.created_at.toISOString(),
  };
}

/**
 * Position of a token in the listing. created_at travels as whole microseconds since the
 * epoch, not as a JS Date: a Date keeps milliseconds and now() has microseconds, so a Date
 * cursor would hand the last row of a page back again at the top of the next one.
 */
export interface TokenCursor {
  createdUs: number;
  id: string;
}

/** One page of a user's tokens, oldest first, fetched with limit + 1 rows to see a next page. */
export async function listUserTokens(
  db: Kysely<Database>,
  userId: string,
  limit: number,
  after: TokenCursor | undefined,
): Promise<(ListedToken & { cursor: TokenCursor })[]> {
  let query = db
    .selectFrom('api_tokens as t')
    .leftJoin('projects as p', 'p.id', 't.project_id')
    .leftJoin('users as o', 'o.id', 'p.owner_id')
    .select([
      't.id',
      't.user_id',
      't.name',
      't.kind',
      't.project_id',
      't.role',
      't.expires_at',
      't.last_used_at',
      't.revoked_at',
      't.created_at',
      'p.name as project_name',
      'o.username as project_owner',
      sql<number>`(extract(epoch from t.created_at) * 1000000)::bigint`.as('created_us'),
    ])
    .where('t.user_id', '=', userId);
  if (after) {
    query = query.where(
      sql<boolean>`(t.created_at, t.id) > (timestamptz 'epoch' + ${after.createdUs} * interval '1 microsecond', ${after.id}::uuid)`,
    );
  }
  const rows = await query.orderBy('t.created_at').orderBy('t.id').limit(limit + 1).execute();
  return rows.map(({ project_name, project_owner, created_us, ...token }) => ({
    ...token,
    project_full_name: project_name !== null && project_owner !== null ? `${project_owner}/${project_name}` : null,
    cursor: { createdUs: created_us, id: token.id },
  }));
}

/**
 * Revokes one of the user's tokens. Revoking twice keeps the first time. Undefined when the
 * user has no token with that id, so someone else's token looks exactly like a missing one.
 */
export async function revokeUserToken(db: Kysely<Database>, userId: string, id: string): Promise<{ id: string } | undefined> {
  return db
    .updateTable('api_tokens')
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returning('id')
    .executeTakeFirst();
}
