// The live endpoints: the multiplexed WebSocket, the plain y-websocket one, and the REST
// write of a text file, which goes through the same room as any Yjs update.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { RawData, WebSocket } from 'ws';
import * as Y from 'yjs';
import { contentText, filesMap, MAX_TEXT_BYTES, parseIndexEntry } from '../../common/index-entry.js';
import { unsafePathReason } from '../../common/paths-in-project.js';
import { CloseCode, INDEX_DOC, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, fileDocName, isValidDocName, statedProtocolVersion } from '../../common/protocol.js';
import { applyTextChange } from '../../common/text-diff.js';
import { projectAccess, type ProjectAccess } from '../access.js';
import { authOf } from '../auth.js';
import { errors } from '../errors.js';
import { PlainDocConnection } from '../rooms/plain-connection.js';
import { ProjectConnection } from '../rooms/project-connection.js';
import type { WebSocketLike } from '../rooms/types.js';
import { ProjectParams, errorResponses } from '../schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    projectAccess?: ProjectAccess;
  }
}

function adapt(socket: WebSocket): WebSocketLike {
  // Frames sent to one socket within a turn of the event loop leave in one write: relaying is a
  // frame per edit per subscriber, and under load a write per frame was the server's largest
  // cost after storage (bench/RESULTS.md, relay).
  const tcp = (socket as unknown as { _socket?: Socket })._socket;
  let corked = false;
  const uncork = () => {
    corked = false;
    tcp?.uncork();
  };
  return {
    send: (data) => {
      if (tcp && !corked) {
        corked = true;
        tcp.cork();
        setImmediate(uncork);
      }
      socket.send(data, { binary: true });
    },
    close: (code, reason) => socket.close(code, reason),
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
  };
}

/**
 * What the live server closes (shutdown, a change of access): the socket, and the connection's
 * handling of its frames, at once. ws keeps delivering what the client sends until the close
 * handshake ends (up to 30 s for a client that never answers it), and none of that may apply:
 * not an edit from a member just demoted or removed, not an update the server can no longer
 * acknowledge.
 */
const closerOf = (socket: WebSocket, connection: { onClose(): void }) => ({
  close(code: number, reason: string) {
    socket.close(code, reason);
    connection.onClose();
  },
});

/** Why a client stating this protocol version is refused (see PROTOCOL.md), or null: it is spoken here. */
function protocolRefusal(stated: unknown): { code: number; reason: string } | null {
  const version = statedProtocolVersion(stated);
  if (version === null) return { code: CloseCode.Malformed.code, reason: 'protocol must be a version number' };
  if (version < OLDEST_PROTOCOL_VERSION) return CloseCode.UpgradeClient;
  if (version > PROTOCOL_VERSION) return CloseCode.UpgradeServer;
  return null;
}

const asBytes = (data: RawData): Uint8Array =>
  Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;

export const liveRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { limits } = app.config;
  // @fastify/websocket is registered in buildApp, before the auth hook (see there).

  // Access is decided before the upgrade: a refused client gets an HTTP error, not a socket.
  const checkAccess = async (request: FastifyRequest<{ Params: { id?: string; projectId?: string } }>) => {
    // A draining instance takes no new sockets: a reconnecting client goes elsewhere, not back here.
    if (app.live.draining) throw errors.shuttingDown();
    request.projectAccess = await projectAccess(app.db, authOf(request), request.params.id ?? request.params.projectId ?? '');
  };

  app.get(
    '/api/projects/:id/ws',
    { websocket: true, preValidation: checkAccess, schema: { params: ProjectParams } },
    (socket, request) => {
      const access = request.projectAccess!;
      const { user } = authOf(request);
      const log = request.log.child({ projectId: access.project.id, user: user.username });
      const refused = protocolRefusal((request.query as { protocol?: unknown }).protocol);
      if (refused) {
        log.info({ protocol: (request.query as { protocol?: unknown }).protocol, code: refused.code }, 'refused a client protocol version');
        socket.close(refused.code, refused.reason);
        return;
      }
      const connection = new ProjectConnection(adapt(socket), {
        projectId: access.project.id,
        userId: user.id,
        username: user.username,
        role: access.role,
        registry: app.live.registry,
        hubs: app.live.hubs,
        limits,
        log,
      });
      const closer = closerOf(socket, connection);
      app.live.sockets.set(closer, { projectId: access.project.id, userId: user.id, tokenId: authOf(request).token.id });
      socket.on('message', (data, isBinary) => {
        if (isBinary) connection.onMessage(asBytes(data));
        else connection.onTextFrame();
      });
      socket.on('close', () => {
        app.live.sockets.delete(closer);
        connection.onClose();
      });
      socket.on('error', (err) => log.warn({ err }, 'socket error'));
    },
  );

  app.get(
    '/yjs/:projectId/:docName',
    {
      websocket: true,
      preValidation: checkAccess,
      schema: { params: Type.Object({ projectId: Type.String({ maxLength: 200 }), docName: Type.String({ maxLength: 100 }) }) },
    },
    (socket, request) => {
      const access = request.projectAccess!;
      const { user } = authOf(request);
      const docName = (request.params as { docName: string }).docName;
      const log = request.log.child({ projectId: access.project.id, user: user.username, doc: docName });
      if (!isValidDocName(docName)) {
        socket.close(4404, 'Unknown document');
        return;
      }
      const connection = new PlainDocConnection(adapt(socket), {
        projectId: access.project.id,
        docName,
        userId: user.id,
        username: user.username,
        role: access.role,
        registry: app.live.registry,
        hubs: app.live.hubs,
        limits,
        log,
      });
      const closer = closerOf(socket, connection);
      app.live.sockets.set(closer, { projectId: access.project.id, userId: user.id, tokenId: authOf(request).token.id });
      socket.on('message', (data) => connection.onMessage(asBytes(data)));
      socket.on('close', () => {
        app.live.sockets.delete(closer);
        connection.onClose();
      });
      socket.on('error', (err) => log.warn({ err }, 'socket error'));
    },
  );

  app.put(
    '/api/projects/:id/files/content',
    {
      bodyLimit: MAX_TEXT_BYTES + 1024,
      schema: {
        params: ProjectParams,
        querystring: Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }) }),
        body: Type.String(),
        response: {
          200: Type.Object({
            path: Type.String(),
            fileId: Type.String(),
            created: Type.Boolean(),
            size: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { user } = authOf(request);
      const access = await projectAccess(app.db, authOf(request), request.params.id, 'editor');
      const path = request.query.path;
      const reason = unsafePathReason(path);
      if (reason) throw errors.badRequest(`Invalid path: ${reason}`);
      const text = request.body;
      const size = Buffer.byteLength(text);
      if (size > MAX_TEXT_BYTES) throw errors.tooLarge(`Text files over ${MAX_TEXT_BYTES} bytes are stored as blobs`);
      const projectId = access.project.id;

      const { fileId, created } = await app.live.registry.withRoom(projectId, INDEX_DOC, async (indexRoom) => {
        const existing = parseIndexEntry(filesMap(indexRoom.doc).get(path));
        if (existing && existing.kind !== 'text') {
          throw errors.conflict(`${path} is a ${existing.kind} file; upload it as a blob`);
        }
        const fileId = existing?.id ?? randomBytes(12).toString('base64url');
        await app.live.registry.withRoom(projectId, fileDocName(fileId), async (fileRoom) => {
          fileRoom.transact((doc: Y.Doc) => {
            const ytext = contentText(doc);
            applyTextChange(ytext, ytext.toString(), text);
          }, user.id);
          await fileRoom.flush();
        });
        if (!existing) {
          indexRoom.transact((doc) => filesMap(doc).set(path, { id: fileId, kind: 'text', mode: 0o644, size }), user.id);
        } else if (existing.size !== size) {
          indexRoom.transact((doc) => filesMap(doc).set(path, { ...existing, size }), user.id);
        }
        await indexRoom.flush();
        return { fileId, created: !existing };
      });
      return { path, fileId, created, size };
    },
  );
};
