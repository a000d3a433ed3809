// What must happen once per project, not once per instance (materialising files and their
// activity rows), has one owner at a time: the instance holding the project's PostgreSQL
// advisory lock (DESIGN.md, Scale-out). Session-level locks on one connection held for the
// instance's life, so a killed instance's locks go with its connection, at once, and another
// instance takes the project over at its next change.
//
// An owner keeps a project while it follows the project's changes (its rooms or feeds are
// loaded: it hears every change, its own and the others'), and lets it go once it no longer
// does. An instance that is not the owner leaves its changes to the owner, who heard of them.
import type { FastifyBaseLogger as Logger } from 'fastify';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';

export type LeaseState =
  /** This instance materialises the project. */
  | 'held'
  /** ...and has just become its owner: what the previous owner left undone is this one's to find. */
  | 'taken-over'
  /** Another instance does. */
  | 'elsewhere';

export interface ProjectLeases {
  hold(projectId: string): Promise<LeaseState>;
  close(): Promise<void>;
}

/** One server alone owns every project. */
export class SoleOwner implements ProjectLeases {
  async hold(): Promise<LeaseState> {
    return 'held';
  }

  async close(): Promise<void> {}
}

type Connection = Pick<Kysely<Database>, 'executeQuery'>;

/** How often held leases are checked for projects this instance no longer follows. */
const RELEASE_CHECK_MS = 10_000;

export class AdvisoryLeases implements ProjectLeases {
  private connection: Promise<{ db: Connection; release: () => void }> | null = null;
  private readonly held = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Kysely<Database>,
    /** Whether this instance still follows the project (and has nothing of it left to write). */
    private readonly stillNeeded: (projectId: string) => boolean,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.releaseUnneeded(), RELEASE_CHECK_MS);
    this.timer.unref();
  }

  /** The connection the locks live on, taken from the pool for as long as this instance runs. */
  private lockConnection(): Promise<{ db: Connection; release: () => void }> {
    this.connection ??= new Promise((resolve, reject) => {
      this.db
        .connection()
        .execute((db) => new Promise<void>((release) => resolve({ db, release })))
        .catch(reject);
    });
    return this.connection;
  }

  async hold(projectId: string): Promise<LeaseState> {
    if (this.held.has(projectId)) return 'held';
    try {
      const { db } = await this.lockConnection();
      const { rows } = await db.executeQuery<{ locked: boolean }>(
        sql<{ locked: boolean }>`select pg_try_advisory_lock(hashtextextended(${`codeshare:materialize:${projectId}`}, 0)) as locked`.compile(this.db),
      );
      if (!rows[0]?.locked) return 'elsewhere';
      this.held.add(projectId);
      this.log.info({ projectId }, 'this instance now materialises the project');
      return 'taken-over';
    } catch (err) {
      // The lock connection broke (PostgreSQL restarted): every lock on it is gone.
      this.log.warn({ err }, 'the advisory lock connection failed; taking it again');
      this.held.clear();
      void this.dropConnection();
      return 'elsewhere';
    }
  }

  private async releaseUnneeded(): Promise<void> {
    for (const projectId of [...this.held]) {
      if (this.stillNeeded(projectId)) continue;
      this.held.delete(projectId);
      try {
        const { db } = await this.lockConnection();
        await db.executeQuery(sql`select pg_advisory_unlock(hashtextextended(${`codeshare:materialize:${projectId}`}, 0))`.compile(this.db));
      } catch (err) {
        this.log.warn({ err, projectId }, 'releasing a project lease failed');
      }
    }
  }

  /** Back to the pool without a lock: a pooled connection must not keep projects from the others. */
  private async dropConnection(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    if (!connection) return;
    await connection.then(
      async ({ db, release }) => {
        await db.executeQuery(sql`select pg_advisory_unlock_all()`.compile(this.db)).catch(() => undefined);
        release();
      },
      () => undefined,
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.held.clear();
    await this.dropConnection();
  }
}
