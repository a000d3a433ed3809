import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { effectiveRole, projectAccess } from '../access.js';
import { authOf, requireAccountToken } from '../auth.js';
import { errors } from '../errors.js';
import { toProjectDto } from '../repos/projects.js';
import { DEFAULT_PAGE_SIZE, toPage } from '../pagination.js';
import { decodeKey, exactTime, isExactTime, isUuid } from '../repos/keyset.js';
import {
  Page,
  PageQuery,
  ProjectName,
  ProjectParams,
  ProjectSchema,
  VisibilitySchema,
  errorResponses,
} from '../schemas.js';

const isUniqueViolation = (err: unknown) => (err as { code?: string } | null)?.code === '23505';

export const projectRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/projects',
    {
      schema: {
        body: Type.Object(
          { name: ProjectName, visibility: Type.Optional(VisibilitySchema) },
          { additionalProperties: false },
        ),
        response: { 201: ProjectSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user } = requireAccountToken(request);
      const id = randomUUID();
      try {
        const project = await app.db.transaction().execute(async (trx) => {
          const project = await trx
            .insertInto('projects')
            .values({ id, owner_id: user.id, name: request.body.name, visibility: request.body.visibility ?? 'private' })
            .returningAll()
            .executeTakeFirstOrThrow();
          await trx.insertInto('project_members').values({ project_id: id, user_id: user.id, role: 'owner' }).execute();
          return project;
        });
        return reply.status(201).send(toProjectDto(project, user.username, 'owner'));
      } catch (err) {
        if (isUniqueViolation(err)) throw errors.conflict(`You already have a project named ${request.body.name}`);
        throw err;
      }
    },
  );

  app.get(
    '/projects',
    {
      schema: {
        querystring: Type.Intersect([
          PageQuery,
          Type.Object({ filter: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('mine'), Type.Literal('public')])) }),
        ]),
        response: { 200: Page(ProjectSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { user, token } = authOf(request);
      const limit = request.query.limit ?? DEFAULT_PAGE_SIZE;
      const after = decodeKey<[string, string]>(request.query.cursor, isExactTime, isUuid);
      const filter = request.query.filter ?? 'all';
      let query = app.db
        .selectFrom('projects')
        .innerJoin('users as owner', 'owner.id', 'projects.owner_id')
        .leftJoin('project_members as me', (join) =>
          join.onRef('me.project_id', '=', 'projects.id').on('me.user_id', '=', user.id),
        )
        .selectAll('projects')
        .select(['owner.username as owner_username', 'me.role as my_role', exactTime('projects.created_at').as('created_key')])
        .where((eb) => {
          if (filter === 'mine') return eb('me.role', 'is not', null);
          if (filter === 'public') return eb('projects.visibility', '=', 'public');
          return eb.or([eb('me.role', 'is not', null), eb('projects.visibility', '=', 'public')]);
        });
      if (token.project_id) query = query.where('projects.id', '=', token.project_id);
      if (after) {
        const [createdAt, id] = after;
        const at = sql<Date>`${createdAt}::timestamptz`;
        query = query.where((eb) =>
          eb.or([eb('projects.created_at', '>', at), eb.and([eb('projects.created_at', '=', at), eb('projects.id', '>', id)])]),
        );
      }
      const rows = await query.orderBy('projects.created_at').orderBy('projects.id').limit(limit + 1).execute();
      const page = toPage(rows, limit, (r) => [r.created_key, r.id]);
      return {
        items: page.items.map(({ owner_username, my_role, created_key: _key, ...project }) =>
          toProjectDto(project, owner_username, my_role ? effectiveRole(my_role, token.role) : null),
        ),
        nextCursor: page.nextCursor,
      };
    },
  );

  app.get(
    '/projects/:id',
    { schema: { params: ProjectParams, response: { 200: ProjectSchema, ...errorResponses } } },
    async (request) => {
      const access = await projectAccess(app.db, authOf(request), request.params.id);
      return toProjectDto(access.project, access.ownerUsername, access.role);
    },
  );

  app.patch(
    '/projects/:id',
    {
      schema: {
        params: ProjectParams,
        body: Type.Object(
          { name: Type.Optional(ProjectName), visibility: Type.Optional(VisibilitySchema) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: ProjectSchema, ...errorResponses },
      },
    },
    async (request) => {
      const access = await projectAccess(app.db, authOf(request), request.params.id, 'owner');
      try {
        const project = await app.db
          .updateTable('projects')
          .set({ ...request.body, updated_at: sql<Date>`now()` })
          .where('id', '=', access.project.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        // Readers of a public project who are not members lose access when it turns private.
        if (access.project.visibility === 'public' && project.visibility === 'private') app.live.dropAccess({ projectId: project.id });
        return toProjectDto(project, access.ownerUsername, access.role);
      } catch (err) {
        if (isUniqueViolation(err)) throw errors.conflict(`The owner already has a project named ${request.body.name}`);
        throw err;
      }
    },
  );

  app.delete(
    '/projects/:id',
    { schema: { params: ProjectParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const access = await projectAccess(app.db, authOf(request), request.params.id, 'owner');
      await app.db.deleteFrom('projects').where('id', '=', access.project.id).execute();
      app.live.dropAccess({ projectId: access.project.id });
      return reply.status(204).send(null);
    },
  );
};
