import { sql, type Kysely } from 'kysely';
import type { Database, Project, Role } from '../../db/schema.js';
import type { ProjectDto } from '../schemas.js';

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
