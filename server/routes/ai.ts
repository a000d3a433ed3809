// AI chat history. Only members see it: a conversation may quote what a member asked, which
// a passer-by on a public project has no business reading.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { projectAccess } from '../access.js';
import { authOf } from '../auth.js';
import { errors } from '../errors.js';
import { DEFAULT_PAGE_SIZE } from '../pagination.js';
import { createAiSession, findAiSession, listAiMessages, listAiSessions } from '../repos/ai.js';
import { decodeKey, isExactTime, isSerial, isUuid } from '../repos/keyset.js';
import { AiChatSessionSchema, AiMessageSchema, Page, PageQuery, ProjectParams, errorResponses } from '../schemas.js';

const SessionParams = Type.Intersect([ProjectParams, Type.Object({ sid: Type.String({ minLength: 1, maxLength: 100 }) })]);

export const aiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/projects/:id/ai/sessions',
    {
      schema: {
        params: ProjectParams,
        body: Type.Object(
          { title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
          { additionalProperties: false },
        ),
        response: { 201: AiChatSessionSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const { project } = await projectAccess(app.db, auth, request.params.id, 'viewer');
      const session = await createAiSession(app.db, {
        projectId: project.id,
        createdBy: auth.user,
        title: request.body.title?.trim() || undefined,
      });
      return reply.status(201).send(session);
    },
  );

  app.get(
    '/projects/:id/ai/sessions',
    {
      schema: {
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: Page(AiChatSessionSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id, 'viewer');
      return listAiSessions(app.db, project.id, {
        limit: request.query.limit ?? DEFAULT_PAGE_SIZE,
        before: decodeKey<[string, string]>(request.query.cursor, isExactTime, isUuid),
      });
    },
  );

  app.get(
    '/projects/:id/ai/sessions/:sid/messages',
    {
      schema: {
        params: SessionParams,
        querystring: PageQuery,
        response: { 200: Page(AiMessageSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id, 'viewer');
      const sid = request.params.sid.toLowerCase();
      // A malformed id names no session: 404 like any other unknown one.
      const session = isUuid(sid) ? await findAiSession(app.db, project.id, sid) : undefined;
      if (!session) throw errors.aiSessionNotFound();
      const after = decodeKey<[number]>(request.query.cursor, isSerial);
      return listAiMessages(app.db, session.id, { limit: request.query.limit ?? DEFAULT_PAGE_SIZE, after: after?.[0] });
    },
  );
};
