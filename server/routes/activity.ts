// A project's file history over REST: who created, edited, renamed or deleted which file,
// newest first. The materialiser records it; this only reads it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { projectAccess } from '../access.js';
import { authOf } from '../auth.js';
import { DEFAULT_PAGE_SIZE } from '../pagination.js';
import { listFileActivity } from '../repos/activity.js';
import { decodeKey, isSerial } from '../repos/keyset.js';
import { FileActivitySchema, Page, PageQuery, ProjectParams, errorResponses } from '../schemas.js';

export const activityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/projects/:id/activity',
    {
      schema: {
        params: ProjectParams,
        querystring: Type.Intersect([
          PageQuery,
          Type.Object({
            path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'one file\'s history, renames included' })),
          }),
        ]),
        response: { 200: Page(FileActivitySchema), ...errorResponses },
      },
    },
    async (request) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id);
      const before = decodeKey<[number]>(request.query.cursor, isSerial);
      return listFileActivity(app.db, project.id, {
        limit: request.query.limit ?? DEFAULT_PAGE_SIZE,
        before: before?.[0],
        path: request.query.path,
      });
    },
  );
};
