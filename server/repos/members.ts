// Project members and their roles, read and changed one project at a time.
import { sql, type Kysely } from 'kysely';
import type { Database, Role } from '../../db/schema.js';
import type { MemberDto } from '../schemas.js';

export interface MemberRow {
  user_id: string;
  username: string;
  role: Role;
  created_at: Date;
}

export function toMemberDto(row: MemberRow): MemberDto {
  return { username: row.username, userId: row.user_id, role: row.role, addedAt: row.created_at.toISOString() };
}

function membersOf(db: Kysely<Database>, projectId: string) {
  return db
    .selectFrom('project_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id', 'u.username', 'm.role', 'm.created_at'])
    .where('m.project_id', '=', projectId);
}

/**
 * One page of members by username, fetched with limit + 1 rows to see a next page.
 * Usernames are unique case-insensitively, so the lowercased name alone is the cursor.
 */
export async function listMembers(
  db: Kysely<Database>,
  projectId: string,
  limit: number,
  afterUsername: string | undefined,
): Promise<MemberRow[]> {
  let query = membersOf(db, projectId);
  if (afterUsername !== undefined) query = query.where(sql<string>`lower(u.username)`, '>', afterUsername);
  return query.orderBy(sql`lower(u.username)`).limit(limit + 1).execute();
}

/** The user's role in the project, or undefined for a non-member. */
export async function findMemberRole(db: Kysely<Database>, projectId: string, userId: string): Promise<Role | undefined> {
  const member = await db
    .selectFrom('project_members')
    .select('role')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return member?.role;
}

export async function findMember(db: Kysely<Database>, projectId: string, username: string): Promise<MemberRow | undefined> {
  return membersOf(db, projectId)
    .where(sql<string>`lower(u.username)`, '=', username.toLowerCase())
    .executeTakeFirst();
}

/** Adds a member; undefined when they already are one. */
export async function addMember(
  db: Kysely<Database>,
  projectId: string,
  user: { id: string; username: string },
  role: Role,
): Promise<MemberRow | undefined> {
  const row = await db
    .insertInto('project_members')
    .values({ project_id: projectId, user_id: user.id, role })
    .onConflict((oc) => oc.columns(['project_id', 'user_id']).doNothing())
    .returning(['user_id', 'role', 'created_at'])
    .executeTakeFirst();
  return row && { ...row, username: user.username };
}

export async function setMemberRole(db: Kysely<Database>, projectId: string, member: MemberRow, role: Role): Promise<MemberRow> {
  await db
    .updateTable('project_members')
    .set({ role })
    .where('project_id', '=', projectId)
    .where('user_id', '=', member.user_id)
    .execute();
  return { ...member, role };
}

export async function removeMember(db: Kysely<Database>, projectId: string, userId: string): Promise<void> {
  await db.deleteFrom('project_members').where('project_id', '=', projectId).where('user_id', '=', userId).execute();
}

export async function countOwners(db: Kysely<Database>, projectId: string): Promise<number> {
  const { count } = await db
    .selectFrom('project_members')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('project_id', '=', projectId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow();
  return Number(count);
}

/**
 * Serialises membership changes of one project until the transaction ends, so two owners
 * demoting each other at once cannot both see "another owner is left".
 */
export async function lockProjectMembers(trx: Kysely<Database>, projectId: string): Promise<void> {
  await trx.selectFrom('projects').select('id').where('id', '=', projectId).forUpdate().execute();
}
