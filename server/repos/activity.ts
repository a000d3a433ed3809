// Who changed which file, and how much. The live rooms record an entry per change they
// materialise; REST reads the history newest first.
import type { Insertable, Kysely } from 'kysely';
import type { Database, FileAction, FileActivitiesTable, FileActivity } from '../../db/schema.js';
import { toPage } from '../pagination.js';
import type { FileActivityDto } from '../schemas.js';

export interface NewFileActivity {
  projectId: string;
  fileId: string;
  /** The path after the change (for a deletion, the path it had). */
  path: string;
  /** The path before a rename. */
  oldPath?: string | null;
  action: FileAction;
  /** Who made the change; null when it is not known (e.g. a server-side import). */
  userId?: string | null;
  linesAdded?: number;
  linesRemoved?: number;
}

export async function recordFileActivity(db: Kysely<Database>, entry: NewFileActivity): Promise<FileActivity> {
  return db
    .insertInto('file_activities')
    .values({
      project_id: entry.projectId,
      file_id: entry.fileId,
      path: entry.path,
      old_path: entry.oldPath ?? null,
      action: entry.action,
      user_id: entry.userId ?? null,
      lines_added: entry.linesAdded ?? 0,
      lines_removed: entry.linesRemoved ?? 0,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Rows per insert: keeps a statement well under PostgreSQL's 65,535 parameters. */
const ACTIVITY_BATCH_ROWS = 500;

/** Many entries at once, in order, as the materialiser records a run (pass a transaction). */
export async function recordFileActivities(db: Kysely<Database>, rows: Insertable<FileActivitiesTable>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ACTIVITY_BATCH_ROWS) {
    await db.insertInto('file_activities').values(rows.slice(i, i + ACTIVITY_BATCH_ROWS)).execute();
  }
}

/**
 * Newest first, before the id `before`. `path` matches an entry's path or its old path, so
 * asking for a file's history includes the rename that gave it its name.
 */
export async function listFileActivity(
  db: Kysely<Database>,
  projectId: string,
  options: { limit: number; before?: number | undefined; path?: string | undefined },
) {
  let query = db
    .selectFrom('file_activities as a')
    .leftJoin('users as u', 'u.id', 'a.user_id')
    .selectAll('a')
    .select('u.username')
    .where('a.project_id', '=', projectId);
  const { path, before } = options;
  if (path !== undefined) query = query.where((eb) => eb.or([eb('a.path', '=', path), eb('a.old_path', '=', path)]));
  if (before !== undefined) query = query.where('a.id', '<', before);
  const rows = await query.orderBy('a.id', 'desc').limit(options.limit + 1).execute();
  const page = toPage(rows, options.limit, (r) => [r.id]);
  return {
    items: page.items.map(
      (r): FileActivityDto => ({
        id: r.id,
        fileId: r.file_id,
        path: r.path,
        oldPath: r.old_path,
        action: r.action,
        user: r.username,
        linesAdded: r.lines_added,
        linesRemoved: r.lines_removed,
        createdAt: r.created_at.toISOString(),
      }),
    ),
    nextCursor: page.nextCursor,
  };
}
