// AI chat history, and asking. Only members see it: a conversation may quote what a member
// asked, which a passer-by on a public project has no business reading. Viewers may ask.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { encodeSseEvent, type AskEvent } from '../../common/ai-stream.js';
import { projectAccess } from '../access.js';
import { ProjectAssistant } from '../ai/assistant.js';
import { authOf } from '../auth.js';
import { errors } from '../errors.js';
import { DEFAULT_PAGE_SIZE } from '../pagination.js';
import { createAiSession, findAiSession, listAiMessages, listAiSessions } from '../repos/ai.js';
import { decodeKey, isExactTime, isSerial, isUuid } from '../repos/keyset.js';
import { AiChatSessionSchema, AiMessageSchema, ErrorResponse, Page, PageQuery, ProjectParams, errorResponses } from '../schemas.js';

const SessionParams = Type.Intersect([ProjectParams, Type.Object({ sid: Type.String({ minLength: 1, maxLength: 100 }) })]);

const AskBody = Type.Object(
  {
    question: Type.String({ minLength: 1, maxLength: 8000 }),
    sessionId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'continue this session; a new one when absent' })),
    currentFile: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'the path the asker is looking at' })),
  },
  { additionalProperties: false },
);

const SSE_DESCRIPTION =
  'text/event-stream: `meta` {sessionId, messageId, model, files}, `delta` {text} ..., then `done` {messageId, usage} or `error` {code, message} (see common/ai-stream.ts)';

export const aiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const assistant = new ProjectAssistant(app.db, app.config.ai, app.log.child({ part: 'ai' }));
  app.addHook('preClose', async () => {
    await assistant.close();
  });

  app.post(
    '/projects/:id/ai/ask',
    {
      schema: {
        params: ProjectParams,
        body: AskBody,
        response: { 200: Type.String({ description: SSE_DESCRIPTION }), ...errorResponses, 502: ErrorResponse, 503: ErrorResponse, 504: ErrorResponse },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const { project, ownerUsername } = await projectAccess(app.db, auth, request.params.id, 'viewer');
      const question = request.body.question.trim();
      if (question === '') throw errors.badRequest('The question is empty');
      // A closed response before the answer ends means the asker left.
      const left = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableEnded) left.abort();
      });
      const answer = await assistant.begin(
        {
          project: { id: project.id, fullName: `${ownerUsername}/${project.name}` },
          user: auth.user,
          question,
          sessionId: request.body.sessionId,
          currentFile: request.body.currentFile,
        },
        request.log,
        left.signal,
      );
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Proxies that buffer would hold the answer back until it is complete.
        'x-accel-buffering': 'no',
      });
      reply.raw.flushHeaders();
      const write = (event: AskEvent) => {
        if (!reply.raw.destroyed && !reply.raw.writableEnded) reply.raw.write(encodeSseEvent(event));
      };
      await answer.pipe(write);
      reply.raw.end();
    },
  );

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
