// Project members and their roles. Owners manage members; anyone who can read the project
// can see who is in it; every member may leave. A project always keeps at least one owner.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import type { Database, Role } from '../../db/schema.js';
import { projectAccess, roleAtLeast, type ProjectAccess } from '../access.js';
import { authOf, type AuthContext } from '../auth.js';
import { errors } from '../errors.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, toPage } from '../pagination.js';
import {
  addMember,
  countOwners,
  findMember,
  listMembers,
  lockProjectMembers,
  removeMember,
  setMemberRole,
  toMemberDto,
} from '../repos/members.js';
import { findProjectByRef } from '../repos/projects.js';
import { findUserByUsername } from '../repos/users.js';
import { MemberSchema, Page, PageQuery, ProjectParams, RoleSchema, Username, errorResponses } from '../schemas.js';

const MemberParams = Type.Object({
  id: ProjectParams.properties.id,
  username: Type.String({ minLength: 1, maxLength: 100 }),
});

const isForeignKeyViolation = (err: unknown) => (err as { code?: string } | null)?.code === '23503';

export const memberRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/projects/:id/members',
    {
      schema: {
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: Page(MemberSchema), ...errorResponses },
      },
    },
    async (request) => {
      const access = await projectAccess(app.db, authOf(request), request.params.id);
      const limit = request.query.limit ?? DEFAULT_PAGE_SIZE;
      const after = decodeCursor(request.query.cursor, 1);
      if (after && typeof after[0] !== 'string') {
        throw errors.badRequest('Invalid cursor: pass back the nextCursor of a previous page');
      }
      const rows = await listMembers(app.db, access.project.id, limit, after?.[0] as string | undefined);
      const page = toPage(rows, limit, (r) => [r.username.toLowerCase()]);
      return { items: page.items.map(toMemberDto), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/projects/:id/members',
    {
      schema: {
        params: ProjectParams,
        body: Type.Object({ username: Username, role: RoleSchema }, { additionalProperties: false }),
        response: { 201: MemberSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const access = await projectAccess(app.db, authOf(request), request.params.id, 'owner');
      const user = await findUserByUsername(app.db, request.body.username);
      if (!user) throw errors.userNotFound(request.body.username);
      let added;
      try {
        added = await addMember(app.db, access.project.id, user, request.body.role);
      } catch (err) {
        // The project was deleted between the access check and the insert.
        if (isForeignKeyViolation(err)) throw errors.projectNotFound();
        throw err;
      }
      if (!added) throw errors.alreadyMember(user.username);
      return reply.status(201).send(toMemberDto(added));
    },
  );

  app.patch(
    '/projects/:id/members/:username',
    {
      schema: {
        params: MemberParams,
        body: Type.Object({ role: RoleSchema }, { additionalProperties: false }),
        response: { 200: MemberSchema, ...errorResponses },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const { id, username } = request.params;
      const role = request.body.role;
      const member = await app.db.transaction().execute(async (trx) => {
        const access = await lockedProjectAccess(trx, auth, id, 'owner');
        const target = await findMember(trx, access.project.id, username);
        if (!target) throw errors.memberNotFound(username);
        if (target.role === role) return target;
        if (target.role === 'owner' && (await countOwners(trx, access.project.id)) <= 1) throw errors.lastOwner();
        return { ...(await setMemberRole(trx, access.project.id, target, role)), projectId: access.project.id, changed: true };
      });
      // Their open sockets carry the old role: they reconnect under the new one.
      if ('changed' in member) app.live.dropAccess({ projectId: member.projectId, userId: member.user_id });
      return toMemberDto(member);
    },
  );

  app.delete(
    '/projects/:id/members/:username',
    { schema: { params: MemberParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const auth = authOf(request);
      const { id, username } = request.params;
      const removed = await app.db.transaction().execute(async (trx) => {
        const access = await lockedProjectAccess(trx, auth, id, 'read');
        const leaving = username.toLowerCase() === auth.user.username.toLowerCase();
        if (!leaving && !roleAtLeast(access.role, 'owner')) throw errors.roleRequired('owner');
        const target = await findMember(trx, access.project.id, username);
        if (!target) throw errors.memberNotFound(username);
        if (target.role === 'owner' && (await countOwners(trx, access.project.id)) <= 1) throw errors.lastOwner();
        await removeMember(trx, access.project.id, target.user_id);
        return { projectId: access.project.id, userId: target.user_id };
      });
      app.live.dropAccess(removed);
      return reply.status(204).send(null);
    },
  );
};

/**
 * projectAccess under the project's membership lock. The lock comes first, so the caller's
 * own role is read after any concurrent change to it has committed. With PGlite the dialect
 * has one connection, so everything here must go through `trx`, never `app.db`.
 */
async function lockedProjectAccess(
  trx: Kysely<Database>,
  auth: AuthContext,
  ref: string,
  needed: Role | 'read',
): Promise<ProjectAccess> {
  const found = await findProjectByRef(trx, ref);
  if (found) await lockProjectMembers(trx, found.project.id);
  return projectAccess(trx, auth, ref, needed);
}
