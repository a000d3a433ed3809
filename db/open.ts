// One way to open storage: a postgres:// URL opens PostgreSQL through `pg`; no URL opens
// embedded PGlite in a data folder. Migrations run on open, so every caller gets a current
// schema on either driver.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, type MigrationProvider } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';
import { PgliteThread } from './pglite-thread.js';
import { int8AsNumber } from './value-parsers.js';

export type StorageKind = 'postgres' | 'pglite';

export interface OpenDatabaseOptions {
  /** postgres:// or postgresql:// URL; when absent, PGlite in `dataDir`. */
  url?: string | undefined;
  /** Folder of the embedded database; required without `url`. */
  dataDir?: string | undefined;
  /** Upper bound of pooled connections for PostgreSQL. */
  maxConnections?: number;
}

export interface OpenedDatabase {
  db: Kysely<Database>;
  kind: StorageKind;
  /** Where the data lives, without credentials, for logs and /healthz. */
  location: string;
}

const staticMigrations: MigrationProvider = {
  getMigrations: async () => migrations,
};

export async function openDatabase(options: OpenDatabaseOptions): Promise<OpenedDatabase> {
  const opened = options.url ? openPostgres(options.url, options.maxConnections ?? 10) : await openPglite(options.dataDir);
  try {
    await migrateToLatest(opened.db);
  } catch (err) {
    await opened.db.destroy();
    throw err;
  }
  return opened;
}

function openPostgres(url: string, max: number): OpenedDatabase {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(`database URL must start with postgres:// (got ${redactUrl(url)})`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types: {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 ? int8AsNumber : pg.types.getTypeParser(oid, format),
    } as pg.CustomTypesConfig,
  });
  // An idle client that loses its connection emits here; without a listener it would crash
  // the process. The next query gets a fresh connection.
  pool.on('error', () => {});
  // So does a client checked out for long (the advisory lock connection of
  // cluster/project-leases.ts) when its backend is terminated; its next query fails instead.
  pool.on('connect', (client) => client.on('error', () => {}));
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), kind: 'postgres', location: redactUrl(url) };
}

/**
 * PGlite's own start parameters, with a smaller buffer cache. Postgres touches its shared
 * buffers as it fills them, and WebAssembly memory never shrinks: with the default 128 MB a
 * server at rest held 288 MiB for a reopened database, with 32 MB 173 MiB (a bare PGlite 0.5 on
 * this machine). The pages evicted are still in the operating system's page cache.
 */
export const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'];

async function openPglite(dataDir: string | undefined): Promise<OpenedDatabase> {
  if (!dataDir) throw new Error('openDatabase needs a database URL or a data folder');
  await mkdir(dataDir, { recursive: true });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await createPgliteInChild(dataDir);
  // In a thread of its own: a statement runs synchronously where PGlite runs (pglite-thread.ts).
  const client = await PgliteThread.start({ dataDir, startParams: PGLITE_START_PARAMS });
  // The dialect calls only query() and close(), which the thread answers as PGlite would.
  return { db: new Kysely<Database>({ dialect: new PGliteDialect(client as unknown as PGlite) }), kind: 'pglite', location: dataDir };
}

/**
 * Creating a database (initdb) grows PGlite's WebAssembly memory to about 800 MiB, and that
 * memory is the process's for as long as it runs: a new server sat at 740 MiB where a reopened
 * one sits at 170. So a new data folder is created by a short-lived child process, and the
 * server opens what it made. If the child fails, the open below creates it in this process
 * (and reports whatever was wrong).
 */
async function createPgliteInChild(dataDir: string): Promise<void> {
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = `const { PGlite } = require(process.argv[1]);
const [, , dir, params] = process.argv;
(async () => { const db = new PGlite(dir, { startParams: JSON.parse(params) }); await db.waitReady; await db.close(); })()
  .catch((err) => { process.stderr.write(String(err && err.message)); process.exit(1); });`;
  await promisify(execFile)(process.execPath, ['-e', script, pglite, dataDir, JSON.stringify(PGLITE_START_PARAMS)], { timeout: 120_000 }).catch(() => undefined);
}

export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: staticMigrations });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const cause = error instanceof Error ? error.message : String(error);
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${cause}`);
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}
