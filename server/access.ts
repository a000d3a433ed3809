// Who may do what in a project. One function answers it for every route, REST and
// WebSocket alike, so the role x route matrix has one implementation.
import type { Kysely } from 'kysely';
import type { Database, Project, Role } from '../db/schema.js';
import type { AuthContext } from './auth.js';
import { errors } from './errors.js';
import { findMemberRole } from './repos/members.js';
import { findProjectByRef } from './repos/projects.js';

const rank: Record<Role, number> = { viewer: 1, editor: 2, owner: 3 };

export interface ProjectAccess {
  project: Project;
  /** The caller's effective role; null when they only read a public project. */
  role: Role | null;
  /** The owner's username, for display. */
  ownerUsername: string;
}

export function roleAtLeast(role: Role | null, needed: Role): boolean {
  return role !== null && rank[role] >= rank[needed];
}

/** A member's role as limited by the token: a token scoped to "viewer" never acts as more. */
export function effectiveRole(a: Role, b: Role | null): Role {
  return b !== null && rank[b] < rank[a] ? b : a;
}

/**
 * Resolves `ref` (an id or owner/name) for the caller. A private project the caller cannot
 * see is 404, exactly as if it did not exist, so non-members learn nothing; `needed` then
 * gives 403 to callers who can see the project but lack the role.
 */
export async function projectAccess(
  db: Kysely<Database>,
  auth: AuthContext,
  ref: string,
  needed: Role | 'read' = 'read',
): Promise<ProjectAccess> {
  const found = await findProjectByRef(db, ref);
  if (!found) throw errors.projectNotFound();
  const { project, ownerUsername } = found;
  if (auth.token.project_id && auth.token.project_id !== project.id) throw errors.projectNotFound();
  const memberRole = await findMemberRole(db, project.id, auth.user.id);
  const role = memberRole ? effectiveRole(memberRole, auth.token.role) : null;
  if (!role && project.visibility !== 'public') throw errors.projectNotFound();
  if (needed !== 'read' && !roleAtLeast(role, needed)) throw errors.roleRequired(needed);
  return { project, role, ownerUsername };
}
