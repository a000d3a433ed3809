// Many docs' updates in one request (common/doc-updates.ts): how share uploads a folder's files
// without a room and a WebSocket round trip per file. A body is checked whole before anything
// is stored, so a malformed one changes nothing; a client cuts a large upload into several.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DOC_UPDATES_BODY_BYTES, decodeDocUpdates, type DocUpdate } from '../../common/doc-updates.js';
import { isValidDocName } from '../../common/protocol.js';
import { projectAccess, type ProjectAccess } from '../access.js';
import { authOf } from '../auth.js';
import { errors } from '../errors.js';
import { validateUpdate } from '../rooms/validate-update.js';
import { ErrorResponse, ProjectParams, errorResponses } from '../schemas.js';

const OCTET_STREAM = 'application/octet-stream';

const uploadAccess = new WeakMap<FastifyRequest, ProjectAccess>();

/** The records worth storing (empty updates dropped); a 400 naming the first bad one. */
function checkedRecords(body: Uint8Array): DocUpdate[] {
  let records: DocUpdate[];
  try {
    records = decodeDocUpdates(body);
  } catch (err) {
    throw errors.badRequest(`Malformed updates body: ${(err as Error).message}`);
  }
  return records.filter(({ docName, update }, i) => {
    if (!isValidDocName(docName)) throw errors.badRequest(`Record ${i + 1} names no doc of a project: ${JSON.stringify(docName.slice(0, 100))}`);
    try {
      return !validateUpdate(update);
    } catch (err) {
      throw errors.badRequest(`Record ${i + 1} (${docName}) is not a valid Yjs update: ${(err as Error).message}`);
    }
  });
}

export const updateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addContentTypeParser(OCTET_STREAM, { parseAs: 'buffer', bodyLimit: DOC_UPDATES_BODY_BYTES }, (_request, body, done) => done(null, body));

  app.post(
    '/projects/:id/updates',
    {
      schema: {
        params: ProjectParams,
        response: {
          200: Type.Object({
            stored: Type.Integer({ description: 'updates stored (empty ones are skipped)' }),
            position: Type.Integer({ description: "the project feed's position once they were stored" }),
          }),
          ...errorResponses,
          415: ErrorResponse,
        },
      },
      // Checked before the body is read: an outsider or a viewer cannot make the server buffer it.
      onRequest: async (request) => {
        uploadAccess.set(request, await projectAccess(app.db, authOf(request), request.params.id, 'editor'));
      },
    },
    async (request) => {
      const access = uploadAccess.get(request) ?? (await projectAccess(app.db, authOf(request), request.params.id, 'editor'));
      const body = request.body === undefined ? Buffer.alloc(0) : request.body;
      if (!Buffer.isBuffer(body)) throw errors.mediaType(OCTET_STREAM);
      const records = checkedRecords(body);
      try {
        const position = await app.live.registry.storeUpdates(access.project.id, authOf(request).user.id, records);
        return { stored: records.length, position };
      } catch (err) {
        request.log.error({ err, records: records.length }, 'storing uploaded updates failed');
        throw errors.storageUnavailable('the updates');
      }
    },
  );
};
