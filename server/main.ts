// Starts a listening server: storage, app, listen. The CLI's `server` command and the
// end-to-end tests' child processes both come through here.
import { join } from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import { pino } from 'pino';
import { openDatabase } from '../db/open.js';
import { buildApp, redactTokenInUrl, type App } from './app.js';
import type { ServerConfig } from './config.js';
import { closeSessionsOfGoneInstances } from './repos/sessions.js';
import { interruptUnfinishedAnswers } from './repos/ai.js';

export interface StartServerOptions {
  host: string;
  port: number;
  databaseUrl?: string | undefined;
  dataDir: string;
  config: ServerConfig;
  logger?: FastifyServerOptions['logger'];
}

export interface RunningServer {
  app: App;
  url: string;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** pino options shared by every server: tokens never reach a log line. */
export function serverLoggerOptions(level: string, stream: NodeJS.WritableStream = process.stderr) {
  return {
    level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: redactTokenInUrl(req.url),
        ip: req.ip,
      }),
      err: databaseSafeError,
    },
    stream,
  };
}

/**
 * Errors as pino writes them, without what a database error carries of the statement: its
 * parameters are file contents and updates (a failed compaction logged megabytes of bytea as
 * JSON numbers) and may hold what users shared.
 */
function databaseSafeError(err: Error): pino.SerializedError {
  const { params: _params, query, ...rest } = pino.stdSerializers.err(err);
  return typeof query === 'string' ? { ...rest, query: query.slice(0, 300) } : rest;
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const storage = await openDatabase({ url: options.databaseUrl, dataDir: join(options.dataDir, 'pglite') });
  let app: App;
  try {
    // A server alone that stopped without closing its sessions (a crash, SIGKILL) left them
    // open, and its answers unfinished. One of several must leave the others' alone: their
    // heartbeat tells which rows are leftovers (see rooms/live-server.ts).
    if (!options.config.cluster.redisUrl) {
      await closeSessionsOfGoneInstances(storage.db);
      await interruptUnfinishedAnswers(storage.db);
    }
    app = await buildApp({ db: storage.db, storage, config: options.config, logger: options.logger });
    app.addHook('onClose', async () => {
      await storage.db.destroy();
    });
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await storage.db.destroy();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { app, url: `http://${host}:${port}`, close: () => app.close() };
}
