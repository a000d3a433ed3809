// Test storage on both drivers. A fresh PGlite cluster takes seconds to initialise, so one
// migrated template is made per run (global-setup.ts) and each test copies its folder; on
// PostgreSQL each test gets a new database cloned from a migrated template database.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { Kysely } from 'kysely';
import { openDatabase, type StorageKind } from '../../db/open.js';
import type { Database } from '../../db/schema.js';
import { DATABASE_TMP_DIR } from './tmp.js';

export const STORAGE_KINDS: StorageKind[] = ['pglite', 'postgres'];
export const POSTGRES_ADMIN_URL = process.env.CODESHARE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Prefix of the per-run template databases (global-setup.ts). */
export const POSTGRES_TEMPLATE_DB = 'codeshare_test_template';

export function pgliteTemplateDir(): string {
  return inject('pgliteTemplate');
}

export function postgresUrl(database: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  await adminRows(sql);
}

export async function adminRows<T extends object>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

export interface TestStorage {
  kind: StorageKind;
  /** For a server process: --database-url (postgres) ... */
  databaseUrl?: string;
  /** ... or --data-dir (pglite; the database lives in dataDir/pglite). */
  dataDir: string;
  /** Removes the database and the folder. */
  dispose(): Promise<void>;
}

/** A fresh, migrated, empty storage of the given kind, not opened. */
export async function createTestStorage(kind: StorageKind): Promise<TestStorage> {
  const dataDir = await mkdtemp(join(DATABASE_TMP_DIR, 'codeshare-data-'));
  if (kind === 'pglite') {
    await cp(pgliteTemplateDir(), join(dataDir, 'pglite'), { recursive: true });
    return { kind, dataDir, dispose: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const database = `codeshare_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${database} template ${inject('postgresTemplate')}`);
  return {
    kind,
    dataDir,
    databaseUrl: postgresUrl(database),
    dispose: async () => {
      await adminQuery(`drop database if exists ${database} with (force)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh storage, opened. */
export async function openTestDatabase(kind: StorageKind): Promise<{ db: Kysely<Database>; storage: TestStorage; location: string; close(): Promise<void> }> {
  const storage = await createTestStorage(kind);
  const opened = await openDatabase({ url: storage.databaseUrl, dataDir: join(storage.dataDir, 'pglite') });
  return {
    db: opened.db,
    storage,
    location: opened.location,
    close: async () => {
      await opened.db.destroy();
      await storage.dispose();
    },
  };
}
