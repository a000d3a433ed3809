// Users: found by id or name (names are unique in any case), created by open sign-in or from
// a GitHub profile.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database, User } from '../../db/schema.js';
import type { UserDto } from '../schemas.js';

export function toUserDto(user: User): UserDto {
  return {
    id: user.id,
    username: user.username,
    displayName: user.display_name,
    avatarUrl: user.avatar_url,
    createdAt: user.created_at.toISOString(),
  };
}

export async function findUserById(db: Kysely<Database>, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findUserByUsername(db: Kysely<Database>, username: string): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst();
}

/** Open mode: a name is enough. The same name signs in as the same user. */
export async function findOrCreateUserByName(db: Kysely<Database>, username: string): Promise<User> {
  const existing = await findUserByUsername(db, username);
  if (existing) return existing;
  const inserted = await db
    .insertInto('users')
    .values({ id: randomUUID(), username })
    .onConflict((oc) => oc.expression(sql`lower(username)`).doNothing())
    .returningAll()
    .executeTakeFirst();
  // A concurrent sign-in with the same name may have won the insert.
  return inserted ?? (await findUserByUsername(db, username))!;
}

export interface GithubProfile {
  id: number;
  login: string;
  name: string | null;
  avatar_url: string | null;
}

/**
 * The GitHub account decides the user: the same GitHub id is always the same codeshare
 * user, even after a rename on GitHub. A new account takes the GitHub login as its username,
 * or login-2, login-3... when an open-mode user already holds that name.
 */
export async function upsertGithubUser(db: Kysely<Database>, profile: GithubProfile): Promise<User> {
  return db.transaction().execute(async (trx) => {
    const account = await trx
      .selectFrom('oauth_accounts')
      .select(['id', 'user_id'])
      .where('provider', '=', 'github')
      .where('provider_user_id', '=', String(profile.id))
      .executeTakeFirst();
    if (account) {
      await trx
        .updateTable('oauth_accounts')
        .set({ provider_login: profile.login, updated_at: new Date() })
        .where('id', '=', account.id)
        .execute();
      return trx
        .updateTable('users')
        .set({ display_name: profile.name, avatar_url: profile.avatar_url, updated_at: new Date() })
        .where('id', '=', account.user_id)
        .returningAll()
        .executeTakeFirstOrThrow();
    }
    let username = profile.login;
    for (let n = 2; await findUserByUsername(trx, username); n++) username = `${profile.login}-${n}`;
    const user = await trx
      .insertInto('users')
      .values({ id: randomUUID(), username, display_name: profile.name, avatar_url: profile.avatar_url })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('oauth_accounts')
      .values({
        id: randomUUID(),
        user_id: user.id,
        provider: 'github',
        provider_user_id: String(profile.id),
        provider_login: profile.login,
      })
      .execute();
    return user;
  });
}
