import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { ApiToken, Database, Role, User } from '../../db/schema.js';

export const TOKEN_PREFIX = 'cs_';

/** Only the hash is stored: a database leak does not leak usable tokens. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
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
export async function createToken(db: Kysely<Database>, spec: NewToken): Promise<{ token: string; row: ApiToken }> {
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
