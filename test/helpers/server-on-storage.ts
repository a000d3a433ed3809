// A real server on a storage the caller owns, so a suite can stop the app and start another
// one on the same data (a restart) without losing it. startTestServer() owns its storage.
import { join } from 'node:path';
import { openDatabase } from '../../db/open.js';
import { buildApp } from '../../server/app.js';
import { defaultServerConfig, type ServerConfig } from '../../server/config.js';
import { afterAll, beforeAll } from 'vitest';
import type { StorageKind } from '../../db/open.js';
import { apiClient, signIn, type TestServer, type TestServerOptions } from './server.js';
import { createTestStorage, type TestStorage } from './storage.js';

/** Listens on 127.0.0.1, port 0; close() stops the app and the database, never the storage. */
export async function startServerOn(
  storage: TestStorage,
  configure: (config: ServerConfig) => void = () => {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const opened = await openDatabase({ url: storage.databaseUrl, dataDir: join(storage.dataDir, 'pglite') });
  const config = defaultServerConfig();
  configure(config);
  try {
    const app = await buildApp({ db: opened.db, storage: opened, config, logger: options.logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no port');
    return {
      app,
      url: `http://127.0.0.1:${address.port}`,
      kind: storage.kind,
      close: async () => {
        await app.close();
        await opened.db.destroy();
      },
    };
  } catch (err) {
    await opened.db.destroy();
    throw err;
  }
}

export interface ProjectServer {
  storage: TestStorage;
  /** Replaceable: a suite may close it and start another on the same storage (a restart). */
  server: TestServer;
  /** alice's token; she owns the project. */
  token: string;
  projectId: string;
}

/** A suite's server on storage of `kind` with one project of alice's, started before its tests and stopped after. */
export function useProjectServer(kind: StorageKind, projectName: string): ProjectServer {
  const live = {} as ProjectServer;
  beforeAll(async () => {
    live.storage = await createTestStorage(kind);
    live.server = await startServerOn(live.storage);
    live.token = (await signIn(live.server.url, 'alice')).token;
    live.projectId = (await apiClient(live.server.url, live.token)('POST', '/api/projects', { name: projectName })).body.id;
  });
  afterAll(async () => {
    await live.server?.close();
    await live.storage?.dispose();
  });
  return live;
}
