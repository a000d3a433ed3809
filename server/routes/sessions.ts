// A project's collaboration sessions over REST, newest first. The live rooms open and close
// them; this only reads them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { projectAccess } from '../access.js';
import { authOf } from '../auth.js';
import { DEFAULT_PAGE_SIZE } from '../pagination.js';
import { decodeKey, isExactTime, isUuid } from '../repos/keyset.js';
import { listCollaborationSessions } from '../repos/sessions.js';
import { CollaborationSessionSchema, Page, PageQuery, ProjectParams, errorResponses } from '../schemas.js';

export const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/projects/:id/sessions',
    {
      schema: {
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: Page(CollaborationSessionSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id);
      return listCollaborationSessions(app.db, project.id, {
        limit: request.query.limit ?? DEFAULT_PAGE_SIZE,
        before: decodeKey<[string, string]>(request.query.cursor, isExactTime, isUuid),
      });
    },
  );
};
