// Runs once per test run: a migrated PGlite template folder and a migrated PostgreSQL
// template database, which every test clones instead of initialising its own.
import { createHash } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../db/open.js';
import { POSTGRES_TEMPLATE_DB, adminQuery, postgresUrl } from './storage.js';

async function migrationsHash(): Promise<string> {
  const dir = join(import.meta.dirname, '../../db/migrations');
  const hash = createHash('sha256');
  for (const name of (await readdir(dir)).sort()) hash.update(name).update(await readFile(join(dir, name)));
  return hash.digest('hex').slice(0, 16);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function setup(project: TestProject): Promise<void> {
  // Keyed by the migrations' content, so a stale template is never reused.
  const templateDir = join(tmpdir(), `codeshare-pglite-template-${await migrationsHash()}`);
  if (!(await exists(join(templateDir, 'PG_VERSION')))) {
    await rm(templateDir, { recursive: true, force: true });
    const opened = await openDatabase({ dataDir: templateDir });
    await opened.db.destroy();
  }
  project.provide('pgliteTemplate', templateDir);

  await adminQuery(`drop database if exists ${POSTGRES_TEMPLATE_DB} with (force)`);
  await adminQuery(`create database ${POSTGRES_TEMPLATE_DB}`);
  const opened = await openDatabase({ url: postgresUrl(POSTGRES_TEMPLATE_DB) });
  await opened.db.destroy();
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}
