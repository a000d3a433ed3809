// Projects over REST: create, list what the caller may see, read, rename or change
// visibility, delete. Access is decided by access.ts and queries live in repos/projects.ts;
// what is left here is HTTP: statuses, conflicts, and dropping live sockets that lost access.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { effectiveRole, projectAccess } from '../access.js';
import { authOf, requireAccountToken } from '../auth.js';
import { errors } from '../errors.js';
import { createProject, deleteProject, listVisibleProjects, toProjectDto, updateProject } from '../repos/projects.js';
import { DEFAULT_PAGE_SIZE, toPage } from '../pagination.js';
import { decodeKey, isExactTime, isUuid } from '../repos/keyset.js';
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
      try {
        const project = await createProject(app.db, {
          ownerId: user.id,
          name: request.body.name,
          visibility: request.body.visibility ?? 'private',
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
      const rows = await listVisibleProjects(app.db, user.id, {
        filter: request.query.filter ?? 'all',
        onlyProjectId: token.project_id,
        after,
        limit,
      });
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
        const project = await updateProject(app.db, access.project.id, request.body);
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
      await deleteProject(app.db, access.project.id);
      app.live.dropAccess({ projectId: access.project.id });
      return reply.status(204).send(null);
    },
  );
};
