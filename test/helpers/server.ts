// One factory for a real server on a real port (127.0.0.1, port 0) over real storage.
import { join } from 'node:path';
import { openDatabase, type StorageKind } from '../../db/open.js';
import type { FastifyServerOptions } from 'fastify';
import { buildApp, type App } from '../../server/app.js';
import { defaultServerConfig, type ServerConfig } from '../../server/config.js';
import { createTestStorage } from './storage.js';

export interface TestServer {
  app: App;
  url: string;
  kind: StorageKind;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** A pino logger or its options (e.g. serverLoggerOptions(level, stream)); none by default. */
  logger?: FastifyServerOptions['logger'];
}

export async function startTestServer(
  kind: StorageKind = 'pglite',
  configure: (config: ServerConfig) => void = () => {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const storage = await createTestStorage(kind);
  const opened = await openDatabase({ url: storage.databaseUrl, dataDir: join(storage.dataDir, 'pglite') });
  const config = defaultServerConfig();
  configure(config);
  const app = await buildApp({ db: opened.db, storage: opened, config, logger: options.logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no port');
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    kind,
    close: async () => {
      await app.close();
      await opened.db.destroy();
      await storage.dispose();
    },
  };
}

/** A small HTTP client for the API: JSON in, { status, body } out. */
export function apiClient(baseUrl: string, token?: string) {
  return async function api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  };
}

export async function signIn(baseUrl: string, username: string): Promise<{ token: string; user: { id: string; username: string } }> {
  const { status, body } = await apiClient(baseUrl)('POST', '/api/auth/open', { username });
  if (status !== 200) throw new Error(`sign-in of ${username} failed: ${status} ${JSON.stringify(body)}`);
  return body;
}
