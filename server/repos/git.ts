// The project's git state as members' daemons report it: the remote, the tracked branch and
// its head, and the commits seen so far.
import { sql, type Kysely } from 'kysely';
import type { Database, GitRepository } from '../../db/schema.js';
import { toPage } from '../pagination.js';
import type { GitCommitDto, GitRepositoryDto } from '../schemas.js';
import { exactTime } from './keyset.js';

export function toGitRepositoryDto(row: GitRepository): GitRepositoryDto {
  return {
    remoteUrl: row.remote_url,
    defaultBranch: row.default_branch,
    headSha: row.head_sha,
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * https://user:token@host/repo.git is how many people keep a token for git; every reader of
 * the project would see it, so the user part of an http(s) remote is never stored.
 */
export function withoutCredentials(remoteUrl: string): string {
  try {
    const url = new URL(remoteUrl);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && (url.username || url.password)) {
      url.username = '';
      url.password = '';
      return url.toString();
    }
  } catch {
    // scp-like remotes (git@host:org/repo.git) and local paths are not URLs and carry no secret.
  }
  return remoteUrl;
}

export async function findGitRepository(db: Kysely<Database>, projectId: string): Promise<GitRepository | undefined> {
  return db.selectFrom('git_repositories').selectAll().where('project_id', '=', projectId).executeTakeFirst();
}

/** Replaces the recorded state: a field left out is cleared, as PUT means. */
export async function putGitRepository(
  db: Kysely<Database>,
  projectId: string,
  state: { remoteUrl?: string | null | undefined; defaultBranch?: string | null | undefined; headSha?: string | null | undefined },
): Promise<GitRepository> {
  const values = {
    remote_url: state.remoteUrl ? withoutCredentials(state.remoteUrl) : null,
    default_branch: state.defaultBranch ?? null,
    head_sha: state.headSha ?? null,
    updated_at: sql<Date>`now()`,
  };
  return db
    .insertInto('git_repositories')
    .values({ project_id: projectId, ...values })
    .onConflict((oc) => oc.column('project_id').doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface NewGitCommit {
  sha: string;
  message: string;
  authorName: string;
  authorEmail?: string | null | undefined;
  branch?: string | null | undefined;
  /** ISO 8601; kept as text so the database parses the full precision and the offset. */
  committedAt: string;
}

/**
 * Records commits in one statement (so all or none), ignoring those already known; several
 * daemons of the same project report the same history. Returns how many were new.
 */
export async function recordGitCommits(
  db: Kysely<Database>,
  projectId: string,
  recordedBy: string | null,
  commits: readonly NewGitCommit[],
): Promise<number> {
  if (commits.length === 0) return 0;
  const inserted = await db
    .insertInto('git_commits')
    .values(
      commits.map((c) => ({
        project_id: projectId,
        sha: c.sha,
        message: c.message,
        author_name: c.authorName,
        author_email: c.authorEmail ?? null,
        branch: c.branch ?? null,
        committed_at: c.committedAt,
        recorded_by: recordedBy,
      })),
    )
    .onConflict((oc) => oc.columns(['project_id', 'sha']).doNothing())
    .returning('sha')
    .execute();
  return inserted.length;
}

/** Newest first by commit time. */
export async function listGitCommits(
  db: Kysely<Database>,
  projectId: string,
  options: { limit: number; before?: [committedAt: string, sha: string] | undefined; branch?: string | undefined },
) {
  let query = db
    .selectFrom('git_commits as c')
    .leftJoin('users as u', 'u.id', 'c.recorded_by')
    .select([
      'c.sha',
      'c.message',
      'c.author_name',
      'c.author_email',
      'c.branch',
      'c.committed_at',
      'u.username',
      exactTime('c.committed_at').as('committed_key'),
    ])
    .where('c.project_id', '=', projectId);
  if (options.branch !== undefined) query = query.where('c.branch', '=', options.branch);
  if (options.before) {
    const [committedAt, sha] = options.before;
    const at = sql<Date>`${committedAt}::timestamptz`;
    query = query.where((eb) =>
      eb.or([eb('c.committed_at', '<', at), eb.and([eb('c.committed_at', '=', at), eb('c.sha', '<', sha)])]),
    );
  }
  const rows = await query.orderBy('c.committed_at', 'desc').orderBy('c.sha', 'desc').limit(options.limit + 1).execute();
  const page = toPage(rows, options.limit, (r) => [r.committed_key, r.sha]);
  return {
    items: page.items.map(
      (r): GitCommitDto => ({
        sha: r.sha,
        message: r.message,
        authorName: r.author_name,
        authorEmail: r.author_email,
        branch: r.branch,
        committedAt: r.committed_at.toISOString(),
        recordedBy: r.username,
      }),
    ),
    nextCursor: page.nextCursor,
  };
}
