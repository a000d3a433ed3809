// Blob upload and download. Bodies are raw bytes (application/octet-stream), checked against
// the sha256 in the address so a truncated or misdirected upload is never stored.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { sha256Hex } from '../../common/fs-helpers.js';
import { projectAccess, type ProjectAccess } from '../access.js';
import { authOf } from '../auth.js';
import { errors } from '../errors.js';
import { findBlobData, findBlobSize, putBlob } from '../repos/blobs.js';
import { BlobSchema, ErrorResponse, ProjectParams, Sha256, errorResponses } from '../schemas.js';

const BlobParams = Type.Intersect([ProjectParams, Type.Object({ sha256: Sha256 })]);
const Bytes = Type.Unsafe<Uint8Array>({ type: 'string', format: 'binary', description: 'the blob, as application/octet-stream' });
const OCTET_STREAM = 'application/octet-stream';

const uploadAccess = new WeakMap<FastifyRequest, ProjectAccess>();

export const blobRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Scoped to this plugin: only blob routes take raw bodies, and only they may be this large.
  app.addContentTypeParser(OCTET_STREAM, { parseAs: 'buffer', bodyLimit: app.config.limits.blobBytes }, (_request, body, done) =>
    done(null, body),
  );

  app.put(
    '/projects/:id/blobs/:sha256',
    {
      schema: {
        params: BlobParams,
        response: { 200: BlobSchema, 201: BlobSchema, ...errorResponses, 415: ErrorResponse },
      },
      // Checked before the body is read, so an outsider or a viewer cannot make the server
      // buffer up to blobBytes just to be refused.
      onRequest: async (request) => {
        uploadAccess.set(request, await projectAccess(app.db, authOf(request), request.params.id, 'editor'));
      },
    },
    async (request, reply) => {
      const access = uploadAccess.get(request) ?? (await projectAccess(app.db, authOf(request), request.params.id, 'editor'));
      // An empty upload (the blob of an empty file) may arrive with no body at all.
      const body = request.body === undefined ? Buffer.alloc(0) : request.body;
      if (!Buffer.isBuffer(body)) throw errors.mediaType(OCTET_STREAM);
      const { sha256 } = request.params;
      const actual = sha256Hex(body);
      if (actual !== sha256) throw errors.hashMismatch(sha256, actual);
      const { created } = await putBlob(app.db, {
        projectId: access.project.id,
        sha256,
        data: body,
        createdBy: authOf(request).user.id,
      });
      return reply.status(created ? 201 : 200).send({ sha256, size: body.byteLength });
    },
  );

  app.get(
    '/projects/:id/blobs/:sha256',
    {
      // The explicit HEAD below answers from the size alone instead of loading the bytes.
      exposeHeadRoute: false,
      schema: { params: BlobParams, response: { 200: Bytes, ...errorResponses } },
    },
    async (request, reply) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id);
      const data = await findBlobData(app.db, project.id, request.params.sha256);
      if (!data) throw errors.blobNotFound(request.params.sha256);
      return reply.type(OCTET_STREAM).send(data);
    },
  );

  app.head(
    '/projects/:id/blobs/:sha256',
    { schema: { params: BlobParams, response: { 200: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id);
      const size = await findBlobSize(app.db, project.id, request.params.sha256);
      if (size === undefined) throw errors.blobNotFound(request.params.sha256);
      return reply.type(OCTET_STREAM).header('content-length', String(size)).send(null);
    },
  );
};
