import { join } from 'node:path';
import { Migrator, NO_MIGRATIONS, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase } from '../db/open.js';
import { migrations } from '../db/migrations/index.js';
import { STORAGE_KINDS, createTestStorage, type TestStorage } from './helpers/storage.js';

const TABLES = [
  'ai_chat_sessions',
  'ai_messages',
  'api_tokens',
  'blobs',
  'chunked_files',
  'collaboration_sessions',
  'doc_snapshots',
  'doc_updates',
  'file_activities',
  'file_chunks',
  'git_commits',
  'git_repositories',
  'oauth_accounts',
  'project_feeds',
  'project_files',
  'project_members',
  'projects',
  'session_participants',
  'users',
];

describe.each(STORAGE_KINDS)('migrations [%s]', (kind) => {
  let storage: TestStorage | undefined;
  afterEach(async () => {
    await storage?.dispose();
    storage = undefined;
  });

  it('create every table, run again as a no-op, and go down and up cleanly', async () => {
    storage = await createTestStorage(kind);
    const opened = await openDatabase({ url: storage.databaseUrl, dataDir: join(storage.dataDir, 'pglite') });
    try {
      const tables = async () =>
        (
          await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%' order by table_name`.execute(
            opened.db,
          )
        ).rows.map((r) => r.table_name);
      expect(await tables()).toEqual(TABLES);
      await opened.db.insertInto('users').values({ id: '00000000-0000-4000-8000-000000000001', username: 'kept' }).execute();
      // A second start migrates nothing and keeps the data.
      await migrateToLatest(opened.db);
      expect(await opened.db.selectFrom('users').select('username').execute()).toEqual([{ username: 'kept' }]);

      const migrator = new Migrator({ db: opened.db, provider: { getMigrations: async () => migrations } });
      const down = await migrator.migrateTo(NO_MIGRATIONS);
      expect(down.error).toBeUndefined();
      expect(await tables()).toEqual([]);
      await migrateToLatest(opened.db);
      expect(await tables()).toEqual(TABLES);
    } finally {
      await opened.db.destroy();
    }
  });

  it('keeps usernames unique regardless of case and refuses orphan rows', async () => {
    storage = await createTestStorage(kind);
    const opened = await openDatabase({ url: storage.databaseUrl, dataDir: join(storage.dataDir, 'pglite') });
    try {
      await opened.db.insertInto('users').values({ id: '00000000-0000-4000-8000-000000000002', username: 'Alice' }).execute();
      await expect(
        opened.db.insertInto('users').values({ id: '00000000-0000-4000-8000-000000000003', username: 'alice' }).execute(),
      ).rejects.toThrow();
      await expect(
        opened.db
          .insertInto('project_members')
          .values({ project_id: '00000000-0000-4000-8000-0000000000aa', user_id: '00000000-0000-4000-8000-000000000002', role: 'owner' })
          .execute(),
      ).rejects.toThrow();
    } finally {
      await opened.db.destroy();
    }
  });

  it('numbers the update log of a database from the release before the project feed, in the order it was stored', async () => {
    storage = await createTestStorage(kind);
    const opened = await openDatabase({ url: storage.databaseUrl, dataDir: join(storage.dataDir, 'pglite') });
    try {
      const db = opened.db as unknown as import('kysely').Kysely<any>;
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo('2026_11_25_0001_initial')).error).toBeUndefined();
      const user = '00000000-0000-4000-8000-000000000009';
      const [a, b] = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1'];
      await db.insertInto('users').values({ id: user, username: 'old' }).execute();
      await db.insertInto('projects').values([a, b].map((id, i) => ({ id, owner_id: user, name: `p${i}`, visibility: 'private' }))).execute();
      // Interleaved, as two projects' edits were: each project's rows number 1, 2, 3 in seq order.
      for (const [project, doc] of [[a, 'index'], [b, 'index'], [a, 'file:x'], [a, 'index'], [b, 'file:y']]) {
        await db.insertInto('doc_updates').values({ project_id: project, doc_name: doc, update: new Uint8Array([0, 0]) }).execute();
      }
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const rows = await db.selectFrom('doc_updates').select(['project_id', 'doc_name', 'project_seq']).orderBy('seq').execute();
      expect(rows.map((r) => [r.project_id, r.doc_name, Number(r.project_seq)])).toEqual([
        [a, 'index', 1],
        [b, 'index', 1],
        [a, 'file:x', 2],
        [a, 'index', 3],
        [b, 'file:y', 2],
      ]);
      const feeds = await db.selectFrom('project_feeds').select(['project_id', 'seq']).orderBy('project_id').execute();
      expect(feeds.map((f) => [f.project_id, Number(f.seq)])).toEqual([
        [a, 3],
        [b, 2],
      ]);
    } finally {
      await opened.db.destroy();
    }
  });
});
