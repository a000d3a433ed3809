// One owner per project among instances on one PostgreSQL: the advisory lock leases that
// decide which instance materialises a project (server/cluster/project-leases.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { sql, type Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import { openDatabase } from '../../db/open.js';
import type { Database } from '../../db/schema.js';
import { AdvisoryLeases } from '../../server/cluster/project-leases.js';
import { createTestStorage, type TestStorage } from '../helpers/storage.js';
import { eventually } from '../helpers/eventually.js';

const log = pino({ level: 'silent' });
let storage: TestStorage | null = null;
const dbs: Kysely<Database>[] = [];
const leases: AdvisoryLeases[] = [];

afterEach(async () => {
  for (const lease of leases.splice(0)) await lease.close();
  for (const db of dbs.splice(0)) await db.destroy();
  await storage?.dispose();
  storage = null;
});

async function instance(): Promise<AdvisoryLeases> {
  storage ??= await createTestStorage('postgres');
  const { db } = await openDatabase({ url: storage.databaseUrl, dataDir: storage.dataDir });
  dbs.push(db);
  const lease = new AdvisoryLeases(db, () => true, log);
  leases.push(lease);
  return lease;
}

describe('project leases on PostgreSQL advisory locks', () => {
  it('give a project to one instance at a time, and to another once the first stops', async () => {
    const [a, b] = [await instance(), await instance()];
    const project = randomUUID();
    expect(await a.hold(project)).toBe('taken-over');
    expect(await a.hold(project)).toBe('held');
    expect(await b.hold(project)).toBe('elsewhere');
    // Another project is free for either.
    expect(await b.hold(randomUUID())).toBe('taken-over');
    await a.close();
    expect(await b.hold(project)).toBe('taken-over');
  });

  it("free a killed instance's projects as soon as its connection is gone", async () => {
    const [a, b] = [await instance(), await instance()];
    const project = randomUUID();
    expect(await a.hold(project)).toBe('taken-over');
    // What SIGKILL does to the lock: the session ends with the process's socket.
    await sql`select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted and pid <> pg_backend_pid()`.execute(dbs[1]!);
    await eventually(async () => expect(await b.hold(project)).toBe('taken-over'));
  });
});
