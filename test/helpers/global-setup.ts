// Runs once per test run: a migrated PGlite template folder and a migrated PostgreSQL
// template database, which every test clones instead of initialising its own.
import { createHash } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../db/open.js';
import { DATABASE_TMP_DIR } from './tmp.js';
import { POSTGRES_TEMPLATE_DB, adminQuery, adminRows, postgresUrl } from './storage.js';

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

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Keyed by the migrations' content, so a stale template is never reused.
  const templateDir = join(DATABASE_TMP_DIR, `codeshare-pglite-template-${await migrationsHash()}`);
  // Templates of other migration sets would only take memory (tmpfs).
  for (const name of await readdir(DATABASE_TMP_DIR)) {
    if (name.startsWith('codeshare-pglite-template-') && join(DATABASE_TMP_DIR, name) !== templateDir) {
      await rm(join(DATABASE_TMP_DIR, name), { recursive: true, force: true });
    }
  }
  if (!(await exists(join(templateDir, 'PG_VERSION')))) {
    await rm(templateDir, { recursive: true, force: true });
    const opened = await openDatabase({ dataDir: templateDir });
    await opened.db.destroy();
  }
  project.provide('pgliteTemplate', templateDir);

  // One template database per run: runs side by side (two terminals, several checkouts on one
  // PostgreSQL) would otherwise drop each other's template mid-run. Templates of runs that
  // died without their teardown are dropped here.
  await dropTemplatesOfDeadRuns();
  const template = `${POSTGRES_TEMPLATE_DB}_${process.pid}`;
  await adminQuery(`drop database if exists ${template} with (force)`);
  await adminQuery(`create database ${template}`);
  const opened = await openDatabase({ url: postgresUrl(template) });
  await opened.db.destroy();
  project.provide('postgresTemplate', template);
  return async () => {
    await adminQuery(`drop database if exists ${template} with (force)`);
  };
}

async function dropTemplatesOfDeadRuns(): Promise<void> {
  const rows = await adminRows<{ datname: string }>(`select datname from pg_database where datname like '${POSTGRES_TEMPLATE_DB}_%'`);
  for (const { datname } of rows) {
    const pid = Number(datname.slice(POSTGRES_TEMPLATE_DB.length + 1));
    if (!Number.isInteger(pid) || isAlive(pid)) continue;
    await adminQuery(`drop database if exists ${datname} with (force)`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    /** This run's migrated template database, cloned by every PostgreSQL test storage. */
    postgresTemplate: string;
  }
}
