// Projects: creating, finding, listing what a user may see, renaming, deleting. Membership
// rows live in members.ts, except the owner's first one, written with the project.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database, Project, Role, Visibility } from '../../db/schema.js';
import type { ProjectDto } from '../schemas.js';
import { exactTime } from './keyset.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A project by id, or by `owner/name` as users type it. */
export async function findProjectByRef(
  db: Kysely<Database>,
  ref: string,
): Promise<{ project: Project; ownerUsername: string } | undefined> {
  let query = db
    .selectFrom('projects')
    .innerJoin('users', 'users.id', 'projects.owner_id')
    .selectAll('projects')
    .select('users.username as owner_username');
  if (UUID.test(ref)) {
    query = query.where('projects.id', '=', ref.toLowerCase());
  } else {
    const slash = ref.indexOf('/');
    if (slash <= 0 || slash === ref.length - 1 || ref.indexOf('/', slash + 1) !== -1) return undefined;
    query = query
      .where(sql<string>`lower(users.username)`, '=', ref.slice(0, slash).toLowerCase())
      .where(sql<string>`lower(projects.name)`, '=', ref.slice(slash + 1).toLowerCase());
  }
  const row = await query.executeTakeFirst();
  if (!row) return undefined;
  const { owner_username, ...project } = row;
  return { project, ownerUsername: owner_username };
}

export function toProjectDto(project: Project, ownerUsername: string, role: Role | null): ProjectDto {
  return {
    id: project.id,
    name: project.name,
    fullName: `${ownerUsername}/${project.name}`,
    owner: ownerUsername,
    visibility: project.visibility,
    role,
    createdAt: project.created_at.toISOString(),
    updatedAt: project.updated_at.toISOString(),
  };
}

/** Creates a project with its creator as its owner, both or neither. */
export async function createProject(
  db: Kysely<Database>,
  spec: { ownerId: string; name: string; visibility: Visibility },
): Promise<Project> {
  const id = randomUUID();
  return db.transaction().execute(async (trx) => {
    const project = await trx
      .insertInto('projects')
      .values({ id, owner_id: spec.ownerId, name: spec.name, visibility: spec.visibility })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx.insertInto('project_members').values({ project_id: id, user_id: spec.ownerId, role: 'owner' }).execute();
    return project;
  });
}

/** Which projects a listing shows: those the user is a member of, public ones, or either. */
export type ProjectFilter = 'all' | 'mine' | 'public';

export interface VisibleProjectRow extends Project {
  owner_username: string;
  /** The user's own role as a member (not yet limited by their token); null for a non-member. */
  my_role: Role | null;
  /** created_at to the microsecond, the cursor's first part. */
  created_key: string;
}

/**
 * One page of the projects a user may see, oldest first, fetched with limit + 1 rows to see a
 * next page. `onlyProjectId` is a token's project scope; `after` a cursor (created_key, id).
 */
export async function listVisibleProjects(
  db: Kysely<Database>,
  userId: string,
  options: { filter: ProjectFilter; onlyProjectId: string | null; after: [string, string] | undefined; limit: number },
): Promise<VisibleProjectRow[]> {
  const { filter } = options;
  let query = db
    .selectFrom('projects')
    .innerJoin('users as owner', 'owner.id', 'projects.owner_id')
    .leftJoin('project_members as me', (join) => join.onRef('me.project_id', '=', 'projects.id').on('me.user_id', '=', userId))
    .selectAll('projects')
    .select(['owner.username as owner_username', 'me.role as my_role', exactTime('projects.created_at').as('created_key')])
    .where((eb) => {
      if (filter === 'mine') return eb('me.role', 'is not', null);
      if (filter === 'public') return eb('projects.visibility', '=', 'public');
      return eb.or([eb('me.role', 'is not', null), eb('projects.visibility', '=', 'public')]);
    });
  if (options.onlyProjectId) query = query.where('projects.id', '=', options.onlyProjectId);
  if (options.after) {
    const [createdAt, id] = options.after;
    const at = sql<Date>`${createdAt}::timestamptz`;
    query = query.where((eb) =>
      eb.or([eb('projects.created_at', '>', at), eb.and([eb('projects.created_at', '=', at), eb('projects.id', '>', id)])]),
    );
  }
  return query.orderBy('projects.created_at').orderBy('projects.id').limit(options.limit + 1).execute();
}

/** Renames a project or changes its visibility; throws if it no longer exists. */
export async function updateProject(
  db: Kysely<Database>,
  id: string,
  changes: { name?: string; visibility?: Visibility },
): Promise<Project> {
  return db
    .updateTable('projects')
    .set({ ...changes, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Deletes a project; its members, docs, files and history go with it (on delete cascade). */
export async function deleteProject(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('projects').where('id', '=', id).execute();
}
