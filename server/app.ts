// buildApp assembles the Fastify application and never listens: the `server` command
// listens, tests use inject() or listen on port 0.
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { StorageKind } from '../db/open.js';
import { authPlugin } from './auth.js';
import type { ServerConfig } from './config.js';
import { AppError } from './errors.js';
import { pingDatabase } from './repos/health.js';
import { registerRoutes } from './routes/index.js';
import { liveRoutes } from './routes/live.js';
import { projectPageRoutes } from './routes/project-page.js';
import { LiveServer } from './rooms/live-server.js';
import { CloseCode } from '../common/protocol.js';
import { ServerMetrics, registerMetricsRoute } from './metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>;
    config: ServerConfig;
    storage: { kind: StorageKind; location: string };
    live: LiveServer;
  }
}

export interface AppOptions {
  db: Kysely<Database>;
  storage: { kind: StorageKind; location: string };
  config: ServerConfig;
  logger?: FastifyServerOptions['logger'];
}

export type App = FastifyInstance;

/**
 * Tokens never reach a log line, whether in a header or a ?token= query. Keys are compared
 * as the query parser sees them (`+` as a space, percent-decoded), so `?%74oken=` is redacted
 * too: the parser reads it as `token`, and the request authenticates with it.
 */
export function redactTokenInUrl(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      return queryKeyName(key).toLowerCase() === 'token' ? `${key}=[redacted]` : pair;
    });
  return `${url.slice(0, start + 1)}${pairs.join('&')}`;
}

function queryKeyName(key: string): string {
  const spaced = key.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

export async function buildApp(options: AppOptions): Promise<App> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.config.limits.bodyBytes,
    // Request ids help correlate a client's report with the server log.
    requestIdHeader: false,
    routerOptions: { maxParamLength: 500 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Query strings and path parameters arrive as text and are coerced to their schema types;
  // JSON bodies are not: {"name": 123} is a 400, not the name "123".
  // Both packages are CommonJS with a default export; NodeNext sees the module object.
  const Ajv = AjvModule.default;
  const addFormats = addFormatsModule.default;
  const ajvFor = (coerceTypes: boolean | 'array') =>
    addFormats(new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false, strict: false }));
  const bodyAjv = ajvFor(false);
  const textAjv = ajvFor('array');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));

  app.decorate('db', options.db);
  app.decorate('config', options.config);
  app.decorate('storage', options.storage);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { statusCode, code, message } = describeError(err);
    if (statusCode >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code, statusCode }, message);
    void reply.status(statusCode).send({ error: { code, message } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send({ error: { code: 'CS_ERR_ROUTE_NOT_FOUND', message: `No route ${request.method} ${redactTokenInUrl(request.url).split('?')[0]}` } });
  });

  const metrics: ServerMetrics = new ServerMetrics(() => ({ rooms: live.registry.loadedCount, sockets: live.sockets.size }));
  const live = new LiveServer(options.db, options.config, app.log, metrics);
  app.decorate('live', live);
  await live.start();
  // Before the storage closes: every applied update is stored and files are materialised.
  // Added before @fastify/websocket registers its own preClose, which would otherwise close
  // every socket first with no code (1005) instead of 4503 ShuttingDown.
  app.addHook('preClose', async () => {
    await live.close(CloseCode.ShuttingDown);
  });

  // Registered before auth: its onRequest hook marks upgrade requests so that its onResponse
  // hook closes the socket of an upgrade refused over HTTP. Registered after auth (or inside
  // the live routes), a 401 or a 404 answered to an upgrade left the raw socket open for as
  // long as the client kept it, and app.close() (SIGTERM) waited for it forever.
  // ws enforces a hard frame ceiling above ours, so an oversize frame still reaches the
  // connection and gets a `denied` and a 4413 close instead of a bare 1009.
  await app.register(websocket, { options: { maxPayload: options.config.limits.frameBytes * 2 + 1024 } });
  await app.register(authPlugin);

  registerHealthRoute(app);
  registerMetricsRoute(app, metrics);
  await app.register(registerRoutes, { prefix: '/api' });
  await app.register(liveRoutes);
  await app.register(projectPageRoutes);
  return app;
}

/**
 * GET /healthz, what a load balancer checks (deploy/haproxy.cfg). Without Redis an instance
 * still serves its own clients: degraded, not down, so the balancer keeps sending it the
 * clients it can serve. Draining (SIGTERM) or without its database it serves nobody: 503.
 */
function registerHealthRoute(app: App): void {
  app.get('/healthz', { config: { public: true } }, async (_request, reply) => {
    const { live, storage } = app;
    const fanout = live.health();
    if (live.draining) return reply.status(503).send({ status: 'shutting down', instance: live.instanceId, database: { kind: storage.kind, ok: true }, fanout });
    try {
      await pingDatabase(app.db);
      return { status: fanout.ok ? 'ok' : 'degraded', instance: live.instanceId, database: { kind: storage.kind, ok: true }, fanout };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return reply.status(503).send({ status: 'unavailable', instance: live.instanceId, database: { kind: storage.kind, ok: false, error }, fanout });
    }
  });
}

/** Maps anything thrown in a request to the one error shape and an HTTP status. */
function describeError(err: FastifyError): { statusCode: number; code: string; message: string } {
  if (err instanceof AppError) return { statusCode: err.statusCode, code: err.code, message: err.message };
  if (err.validation) {
    return { statusCode: 400, code: 'CS_ERR_VALIDATION', message: `Invalid request: ${err.message}` };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { statusCode: 413, code: 'CS_ERR_TOO_LARGE', message: 'Request body is too large' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { statusCode: 400, code: 'CS_ERR_INVALID_JSON', message: 'Request body is not valid JSON' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { statusCode: 400, code: 'CS_ERR_INVALID_JSON', message: 'Request body is empty; send a JSON object' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { statusCode: 415, code: 'CS_ERR_MEDIA_TYPE', message: err.message };
  }
  if (err instanceof SyntaxError) return { statusCode: 400, code: 'CS_ERR_INVALID_JSON', message: 'Request body is not valid JSON' };
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return { statusCode: err.statusCode, code: err.code ?? 'CS_ERR_BAD_REQUEST', message: err.message };
  }
  return { statusCode: 500, code: 'CS_ERR_INTERNAL', message: 'Internal server error; the server log has the details' };
}
