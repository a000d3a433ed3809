// A statement stalled in storage delays only `persisted`: two connected clients keep relaying
// edits meanwhile. On PostgreSQL the append waits on a row lock another session holds; on
// PGlite a 2 s statement occupies the embedded database's one session (its own thread, so the
// server's thread stays free to relay).
import pg from 'pg';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { LiveTestClient } from './helpers/live-client.js';
import { useProjectServer } from './helpers/server-on-storage.js';
import { STORAGE_KINDS } from './helpers/storage.js';

/** Whether the server acknowledged every edit this client made to the doc. */
function acknowledged(client: LiveTestClient, docName: string): boolean {
  const doc = client.doc(docName);
  const persisted = client.persisted.get(docName);
  const own = Y.decodeStateVector(Y.encodeStateVector(doc)).get(doc.clientID) ?? 0;
  return persisted !== undefined && (Y.decodeStateVector(persisted).get(doc.clientID) ?? 0) >= own;
}

describe.each(STORAGE_KINDS)('a stalled statement in storage [%s]', (kind) => {
  const live = useProjectServer(kind, 'stalled');

  /** Stalls the update log's appends until the returned release runs (PostgreSQL) or for 2 s (PGlite). */
  async function stallStorage(): Promise<{ released: () => boolean; release: () => Promise<void> }> {
    if (kind === 'postgres') {
      const locker = new pg.Client({ connectionString: live.storage.databaseUrl });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('SELECT seq FROM project_feeds WHERE project_id = $1 FOR UPDATE', [live.projectId]);
      let released = false;
      return {
        released: () => released,
        release: async () => {
          released = true;
          await locker.query('ROLLBACK');
          await locker.end();
        },
      };
    }
    let released = false;
    const sleeping = sql`select pg_sleep(2)`.execute(live.server.app.db).then(() => void (released = true));
    return { released: () => released, release: () => sleeping };
  }

  it('relays edits between two clients while their append waits, and acknowledges them after', async () => {
    const sender = await LiveTestClient.connect(live.server.url, live.projectId, live.token);
    const receiver = await LiveTestClient.connect(live.server.url, live.projectId, live.token);
    try {
      const text = sender.subscribe('file:s1').getText('content');
      const received = receiver.subscribe('file:s1').getText('content');
      // The project's feed row exists once something was stored.
      text.insert(0, 'before\n');
      await sender.untilPersisted('file:s1');
      await receiver.until(() => received.toString() === 'before\n');

      const stall = await stallStorage();
      text.insert(text.length, 'during the stall\n');
      await receiver.until(() => received.toString() === 'before\nduring the stall\n');
      const reply = receiver.doc('file:s1').getText('content');
      reply.insert(reply.length, 'answered\n');
      await sender.until(() => text.toString() === 'before\nduring the stall\nanswered\n');
      // Both ways relayed, and the storage still stalled: the edit made during it not acknowledged.
      expect(stall.released()).toBe(false);
      expect(acknowledged(sender, 'file:s1')).toBe(false);

      await stall.release();
      await sender.untilPersisted('file:s1', 10_000);
      await receiver.untilPersisted('file:s1', 10_000);
    } finally {
      await sender.close();
      await receiver.close();
    }
  });
});
