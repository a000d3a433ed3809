// A real server on a storage the caller owns, so a suite can stop the app and start another
// one on the same data (a restart) without losing it. startTestServer() owns its storage.
import { join } from 'node:path';
import { openDatabase } from '../../db/open.js';
import { buildApp } from '../../server/app.js';
import { defaultServerConfig, type ServerConfig } from '../../server/config.js';
import type { TestServer, TestServerOptions } from './server.js';
import type { TestStorage } from './storage.js';

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
