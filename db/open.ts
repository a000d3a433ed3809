// One way to open storage: a postgres:// URL opens PostgreSQL through `pg`; no URL opens
// embedded PGlite in a data folder. Migrations run on open, so every caller gets a current
// schema on either driver.
import { mkdir } from 'node:fs/promises';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, type MigrationProvider } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

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

const int8AsNumber = (value: string) => Number(value);

// PGlite's own bytea codec converts byte by byte through arrays of strings: 1 s for a 400 KB
// blob. Node's hex codec does the same in a few milliseconds.
const byteaFromHex = (value: string) => Buffer.from(value.slice(2), 'hex');
const byteaToHex = (value: unknown) => {
  if (!(value instanceof Uint8Array)) throw new Error('bytea parameter must be a Uint8Array');
  return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
};

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
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), kind: 'postgres', location: redactUrl(url) };
}

async function openPglite(dataDir: string | undefined): Promise<OpenedDatabase> {
  if (!dataDir) throw new Error('openDatabase needs a database URL or a data folder');
  await mkdir(dataDir, { recursive: true });
  const client = new PGlite(dataDir, {
    parsers: { [pgliteTypes.INT8]: int8AsNumber, [pgliteTypes.BYTEA]: byteaFromHex },
    serializers: { [pgliteTypes.BYTEA]: byteaToHex },
  });
  await client.waitReady;
  return { db: new Kysely<Database>({ dialect: new PGliteDialect(client) }), kind: 'pglite', location: dataDir };
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
