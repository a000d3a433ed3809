// The materialised file tree. The live rooms write project_files; REST and CI only read it,
// so nobody needs Yjs to list or read a project.
import { sql, type Kysely } from 'kysely';
import type { Database, ProjectFile } from '../../db/schema.js';
import { toPage } from '../pagination.js';
import type { ProjectFileDto } from '../schemas.js';

type FileRow = Omit<ProjectFile, 'content'> & { updated_by_username: string | null };

export function toProjectFileDto(row: FileRow): ProjectFileDto {
  return {
    path: row.path,
    fileId: row.file_id,
    kind: row.kind,
    mode: row.mode,
    size: row.size,
    sha256: row.sha256,
    target: row.target,
    updatedAt: row.updated_at.toISOString(),
    updatedBy: row.updated_by_username,
  };
}

/** Files in path order, after the path `after`, optionally only those under `prefix`. */
export async function listProjectFiles(
  db: Kysely<Database>,
  projectId: string,
  options: { limit: number; after?: string | undefined; prefix?: string | undefined },
) {
  let query = db
    .selectFrom('project_files as f')
    .leftJoin('users as u', 'u.id', 'f.updated_by')
    .select([
      'f.project_id',
      'f.file_id',
      'f.path',
      'f.kind',
      'f.mode',
      'f.size',
      'f.sha256',
      'f.target',
      'f.updated_at',
      'f.updated_by',
      'u.username as updated_by_username',
    ])
    .where('f.project_id', '=', projectId);
  // starts_with rather than LIKE: a path may contain % or _.
  if (options.prefix) query = query.where((eb) => eb.fn<boolean>('starts_with', ['f.path', eb.val(options.prefix)]));
  // Byte order, as git lists files, whatever the database's collation; the cursor compares
  // in the same order or pages would overlap.
  const path = sql<string>`f.path collate "C"`;
  if (options.after !== undefined) query = query.where(path, '>', sql<string>`${options.after} collate "C"`);
  const rows = await query.orderBy(path).limit(options.limit + 1).execute();
  const page = toPage(rows, options.limit, (r) => [r.path]);
  return { items: page.items.map(toProjectFileDto), nextCursor: page.nextCursor };
}

/**
 * One file with its materialised content as UTF-8 bytes (null for binaries, symlinks and
 * blob-backed text). Bytes, not a string: a driver decoding text with a default TextDecoder
 * (PGlite does) drops a leading byte-order mark, and files must come back byte for byte.
 */
export async function findProjectFileByPath(
  db: Kysely<Database>,
  projectId: string,
  path: string,
): Promise<(Pick<ProjectFile, 'path' | 'kind' | 'size' | 'sha256' | 'target'> & { content: Uint8Array | null }) | undefined> {
  return db
    .selectFrom('project_files')
    .select(['path', 'kind', 'size', 'sha256', 'target', sql<Uint8Array | null>`convert_to(content, 'UTF8')`.as('content')])
    .where('project_id', '=', projectId)
    .where('path', '=', path)
    .executeTakeFirst();
}
