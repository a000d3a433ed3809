// Read-only views of the project's files. Writes go through the live rooms (the Yjs documents
// are the source of truth), so there is deliberately no PUT here.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { projectAccess } from '../access.js';
import { authOf } from '../auth.js';
import { errors } from '../errors.js';
import { DEFAULT_PAGE_SIZE } from '../pagination.js';
import { decodeKey, isText } from '../repos/keyset.js';
import { findProjectFileByPath, listProjectFiles } from '../repos/files.js';
import { Page, PageQuery, ProjectFileSchema, ProjectParams, errorResponses } from '../schemas.js';

const FilePath = Type.String({ minLength: 1, maxLength: 4096 });

export const fileRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/projects/:id/files',
    {
      schema: {
        params: ProjectParams,
        querystring: Type.Intersect([
          PageQuery,
          Type.Object({ prefix: Type.Optional(Type.String({ maxLength: 4096, description: 'only paths starting with this' })) }),
        ]),
        response: { 200: Page(ProjectFileSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id);
      const after = decodeKey<[string]>(request.query.cursor, isText);
      return listProjectFiles(app.db, project.id, {
        limit: request.query.limit ?? DEFAULT_PAGE_SIZE,
        after: after?.[0],
        prefix: request.query.prefix,
      });
    },
  );

  app.get(
    '/projects/:id/files/content',
    {
      schema: {
        params: ProjectParams,
        querystring: Type.Object({ path: FilePath }),
        response: { 200: Type.String({ description: 'the file\'s text, as text/plain; charset=utf-8' }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id);
      const { path } = request.query;
      const file = await findProjectFileByPath(app.db, project.id, path);
      if (!file) throw errors.fileNotFound(path);
      if (file.kind === 'symlink') throw errors.notText(path, `it is a symlink to ${file.target ?? '(unknown)'}`);
      if (file.kind === 'text' && file.content !== null) {
        // Sent as bytes so the text arrives exactly as stored (a BOM included).
        return reply.type('text/plain; charset=utf-8').send(Buffer.from(file.content) as unknown as string);
      }
      // Binaries, and text too large to keep as a document, live in blobs by hash.
      if (file.sha256) {
        const what = file.kind === 'binary' ? 'it is binary' : 'it is stored as a blob';
        throw errors.notText(path, `${what}: fetch GET /api/projects/${project.id}/blobs/${file.sha256}`);
      }
      if (file.kind === 'text' && file.size === 0) return reply.type('text/plain; charset=utf-8').send('');
      throw errors.notText(path, file.kind === 'binary' ? 'it is binary' : 'its content is not saved yet; retry in a moment');
    },
  );
};
