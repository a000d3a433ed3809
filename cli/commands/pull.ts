// `codeshare pull <project> [dir]`: the project's current files into a folder, in one shot,
// without a daemon (CI). Reads the materialised tree over REST, downloads what differs with a
// bounded number of requests in flight, and writes each file atomically. Paths from the server
// go through the daemon's safe-path gate: nothing lands outside the folder or in .git/.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, opendir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MAX_TEXT_BYTES, sharedMode } from '../../common/index-entry.js';
import { createSymlinkSafe, removeFileSafe, writeFileAtomic } from '../../common/atomic-write.js';
import { IgnoreRules } from '../../common/ignore-rules.js';
import { assertSafeIndexPath, isGitSegment, resolveInside, UnsafePathError } from '../../common/safe-path.js';
import { projectPath, type ApiClient } from '../api-client.js';
import { CliError, isServerError, usageError } from '../errors.js';
import { formatBytes, formatDuration, plural } from '../output.js';
import { readPullManifest, writePullManifest, type PullManifest } from '../pull-manifest.js';
import { openProject } from '../server-session.js';
import type { ProjectFile } from '../../common/project-file.js';
import { errnoCode, sha256Hex } from '../../common/fs-helpers.js';
import pMap from 'p-map';
import { byPath, comparePaths } from '../../common/paths-in-project.js';


export interface PullOptions {
  project: string;
  dir?: string;
  /** Remove every local file the project does not have (except .git/ and ignored files). */
  delete?: boolean;
  /** Downloads in flight at once. */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface PullFailure {
  path: string;
  reason: string;
}

export interface PullResult {
  project: string;
  projectId: string;
  server: string;
  /** Absolute path of the folder. */
  dir: string;
  /** This pull created the folder. */
  createdFolder: boolean;
  /** Entries in the project. */
  files: number;
  written: number;
  unchanged: number;
  removed: number;
  /** Bytes written to disk. */
  bytes: number;
  durationMs: number;
  removedPaths: string[];
  /** Entries that could not be pulled; the command exits 1 when there are any. */
  failed: PullFailure[];
}

export const DEFAULT_PULL_CONCURRENCY = 16;

/** Server refusals that concern one file (gone since the listing, not readable as text...), not the pull. */
const PER_FILE_CODES = new Set(['CS_ERR_FILE_NOT_FOUND', 'CS_ERR_NOT_TEXT', 'CS_ERR_BLOB_NOT_FOUND']);
/** Local obstacles a removal may clear: a folder where a file goes, a file or symlink where a folder goes. */
const BLOCKING_ERRNO = new Set(['EISDIR', 'ENOTDIR', 'EEXIST', 'ENOTEMPTY']);

type Outcome = { state: 'written'; bytes: number; sha256: string } | { state: 'unchanged'; sha256: string };

class PerFileError extends Error {}

async function sha256OfFile(absPath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(absPath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}


async function downloadContent(api: ApiClient, projectId: string, entry: ProjectFile): Promise<Buffer> {
  const blob = async () => {
    if (!entry.sha256) throw new PerFileError('the server has no content hash for it');
    const bytes = await api.bytes(projectPath(projectId, `/blobs/${entry.sha256}`));
    // Blobs are addressed by their hash: anything else is a broken download, never written.
    if (sha256Hex(bytes) !== entry.sha256) throw new PerFileError('the downloaded blob does not match its sha256');
    return bytes;
  };
  if (entry.kind === 'binary' || (entry.size > MAX_TEXT_BYTES && entry.sha256)) return blob();
  try {
    return await api.bytes(projectPath(projectId, '/files/content'), { path: entry.path });
  } catch (err) {
    // Text too large for a document travels as a blob; the listing does not say which.
    if (isServerError(err, 'CS_ERR_NOT_TEXT') && entry.sha256) return blob();
    throw err;
  }
}

async function pullFile(root: string, api: ApiClient, projectId: string, entry: ProjectFile): Promise<Outcome> {
  const absPath = await resolveInside(root, entry.path);
  const mode = sharedMode(entry.mode);
  const local = await lstat(absPath).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  });
  const localFile = local?.isFile() ? local : undefined;
  // Same bytes already there: at most the mode needs fixing, nothing is downloaded.
  const keep = async (sha256: string): Promise<Outcome> => {
    if (((localFile?.mode ?? 0) & 0o777) !== mode) {
      await chmod(absPath, mode);
      return { state: 'written', bytes: 0, sha256 };
    }
    return { state: 'unchanged', sha256 };
  };
  let localHash: string | undefined;
  if (localFile && entry.sha256 && localFile.size === entry.size) {
    localHash = await sha256OfFile(absPath);
    if (localHash === entry.sha256) return keep(localHash);
  }
  const bytes = await downloadContent(api, projectId, entry);
  const sha256 = sha256Hex(bytes);
  if (localFile && localFile.size === bytes.byteLength && (localHash ?? (await sha256OfFile(absPath))) === sha256) return keep(sha256);
  await writeFileAtomic(root, entry.path, bytes, { mode });
  return { state: 'written', bytes: bytes.byteLength, sha256 };
}

async function pullSymlink(root: string, entry: ProjectFile): Promise<Outcome> {
  const target = entry.target;
  if (!target) throw new PerFileError('the server has no target for this symlink');
  const absPath = await resolveInside(root, entry.path);
  const current = await readlink(absPath).catch(() => undefined);
  if (current === target) return { state: 'unchanged', sha256: sha256Hex(target) };
  await createSymlinkSafe(root, entry.path, target);
  return { state: 'written', bytes: 0, sha256: sha256Hex(target) };
}

/** What stops one entry, as words; undefined for errors that must stop the whole pull. */
function perFileReason(err: unknown): string | undefined {
  if (err instanceof UnsafePathError) {
    if (err.reason === 'symlink-ancestor') {
      return `a local symlink stands where the project has a folder (${err.message}): codeshare never writes through one; remove it, or pull with --delete`;
    }
    return err.message;
  }
  if (err instanceof PerFileError) return err.message;
  if (err instanceof CliError && err.code && PER_FILE_CODES.has(err.code)) return err.message;
  switch (errnoCode(err)) {
    case 'EISDIR':
    case 'ENOTEMPTY':
    case 'EEXIST':
      return 'a local folder stands where the project has a file: remove it, or pull with --delete';
    case 'ENOTDIR':
      return 'a local file stands where the project has a folder: remove it, or pull with --delete';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${(err as Error).message})`;
    default:
      return undefined;
  }
}

/** Whether removing stale local entries might clear the way for this failed write. */
function isBlocked(err: unknown): boolean {
  if (err instanceof UnsafePathError) return err.reason === 'symlink-ancestor';
  const code = errnoCode(err);
  return code !== undefined && BLOCKING_ERRNO.has(code);
}

/**
 * Every file and symlink in the folder, as POSIX paths, except .git and what the folder's
 * ignore rules (.gitignore, .codeshareignore, codeshare's defaults) leave out: `--delete` is
 * like `git clean`, not `git clean -x`, so build output and node_modules stay.
 */
async function listLocalFiles(root: string): Promise<string[]> {
  const rules = await IgnoreRules.load(root);
  const found: string[] = [];
  const walk = async (folder: string, rel: string): Promise<void> => {
    const handle = await opendir(folder);
    for await (const entry of handle) {
      if (isGitSegment(entry.name)) continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!rules.ignores(path, true)) await walk(join(folder, entry.name), path);
      } else if (!rules.ignores(path, false)) {
        found.push(path);
      }
    }
  };
  await walk(root, '');
  return found;
}

/** The local entry still is what pull left there (a file's bytes or a symlink's target). */
async function stillAsPulled(absPath: string, sha256: string): Promise<boolean> {
  try {
    const stats = await lstat(absPath);
    if (stats.isSymbolicLink()) return sha256Hex(await readlink(absPath)) === sha256;
    return stats.isFile() && (await sha256OfFile(absPath)) === sha256;
  } catch {
    return false;
  }
}

async function staleLocalPaths(
  root: string,
  projectPaths: ReadonlySet<string>,
  deleteAll: boolean,
  previous: PullManifest | null,
): Promise<string[]> {
  if (deleteAll) return (await listLocalFiles(root)).filter((path) => !projectPaths.has(path));
  if (!previous?.createdByPull) return [];
  const stale: string[] = [];
  for (const [path, sha256] of Object.entries(previous.files)) {
    if (projectPaths.has(path)) continue;
    try {
      assertSafeIndexPath(path);
    } catch {
      continue;
    }
    // A file someone changed since the last pull is theirs now: it stays.
    if (await stillAsPulled(join(root, ...path.split('/')), sha256)) stale.push(path);
  }
  return stale;
}

/** Creates the folder if needed; says whether it did. */
async function prepareFolder(dir: string): Promise<boolean> {
  try {
    const stats = await stat(dir);
    if (!stats.isDirectory()) throw new CliError(`${dir} exists and is not a folder: pass another folder to pull into`);
    return false;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true });
  return true;
}

/** One pull under way: where it writes, what it has done so far. */
interface PullRun {
  root: string;
  api: ApiClient;
  projectId: string;
  tally: { written: number; unchanged: number; bytes: number };
  /** Each path pulled, by the hash of what it holds now (the manifest). */
  pulled: Map<string, string>;
  failed: PullFailure[];
  /** Writes a stale local file or folder stood in the way of: tried again after the removals. */
  blocked: ProjectFile[];
  progress: () => void;
}

/** Writes one entry (a file or a symlink); a failure of that file alone is noted, not thrown. */
async function pullEntry(run: PullRun, entry: ProjectFile, retrying: boolean): Promise<void> {
  try {
    const outcome = entry.kind === 'symlink' ? await pullSymlink(run.root, entry) : await pullFile(run.root, run.api, run.projectId, entry);
    run.pulled.set(entry.path, outcome.sha256);
    if (outcome.state === 'written') {
      run.tally.written++;
      run.tally.bytes += outcome.bytes;
    } else {
      run.tally.unchanged++;
    }
  } catch (err) {
    if (!retrying && isBlocked(err)) {
      run.blocked.push(entry);
      return;
    }
    const reason = perFileReason(err);
    if (reason === undefined) throw err;
    run.failed.push({ path: entry.path, reason });
  }
  run.progress();
}

/** Why a path from the server may not be written here, or null. */
function unsafeReason(path: string): string | null {
  try {
    assertSafeIndexPath(path);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Removes the stale local paths; what cannot be removed is a failure of its own. Returns what was removed. */
async function removeStale(root: string, paths: readonly string[], failed: PullFailure[]): Promise<string[]> {
  const removed: string[] = [];
  for (const path of paths) {
    try {
      if (await removeFileSafe(root, path)) removed.push(path);
    } catch (err) {
      failed.push({ path, reason: `could not remove it: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return removed;
}

export async function pull(options: PullOptions): Promise<PullResult> {
  const started = performance.now();
  const { session, project } = await openProject(options.project);
  if (options.dir === undefined && (project.name === '.' || project.name === '..')) {
    throw usageError(`the project is named ${JSON.stringify(project.name)}: pass the folder to pull into`);
  }
  const dir = resolve(options.dir ?? project.name);
  const entries = await session.api.all<ProjectFile>(projectPath(project.id, '/files'));

  const createdFolder = await prepareFolder(dir);
  const root = await realpath(dir);
  const previous = await readPullManifest(root);
  const samePrevious = previous && previous.server === session.server && previous.projectId === project.id ? previous : null;

  let done = 0;
  const run: PullRun = {
    root,
    api: session.api,
    projectId: project.id,
    tally: { written: 0, unchanged: 0, bytes: 0 },
    pulled: new Map(),
    failed: [],
    blocked: [],
    progress: () => options.onProgress?.(++done, entries.length),
  };
  const { failed, pulled, progress } = run;

  const safeEntries = entries.filter((entry) => {
    const reason = unsafeReason(entry.path);
    if (reason !== null) {
      failed.push({ path: entry.path, reason });
      progress();
    }
    return reason === null;
  });

  const apply = (entry: ProjectFile, retrying: boolean) => pullEntry(run, entry, retrying);
  // Files first, then symlinks: a link's target is checked against what exists on disk.
  const concurrency = options.concurrency ?? DEFAULT_PULL_CONCURRENCY;
  await pMap(safeEntries.filter((e) => e.kind !== 'symlink'), (entry) => apply(entry, false), { concurrency });
  await pMap(safeEntries.filter((e) => e.kind === 'symlink'), (entry) => apply(entry, false), { concurrency });

  // Removal comes after the writes, so the ignore rules it reads are the project's current ones.
  const stale = await staleLocalPaths(root, new Set(entries.map((e) => e.path)), options.delete === true, samePrevious);
  const removedPaths = await removeStale(root, stale, failed);
  // A write a stale folder or file stood in the way of gets one more try now that it is gone.
  for (const entry of run.blocked.splice(0)) await apply(entry, true);

  await writePullManifest({
    version: 1,
    folder: root,
    server: session.server,
    projectId: project.id,
    createdByPull: createdFolder || (samePrevious?.createdByPull ?? false),
    files: Object.fromEntries([...pulled].sort(([a], [b]) => comparePaths(a, b))),
  }).catch(() => {
    // Only a later pull's clean-up depends on it; the files themselves are in place.
  });

  return {
    project: project.fullName,
    projectId: project.id,
    server: session.server,
    dir,
    createdFolder,
    files: entries.length,
    ...run.tally,
    removed: removedPaths.length,
    durationMs: Math.round(performance.now() - started),
    removedPaths: removedPaths.sort(),
    failed: failed.sort(byPath),
  };
}

const SHOWN_PATHS = 20;

export function formatPull(result: PullResult): string[] {
  const lines = [
    `Pulled ${result.project} into ${result.dir}${result.createdFolder ? ' (new folder)' : ''}`,
    `  ${plural(result.written, 'file')} written, ${result.unchanged} unchanged, ${result.removed} removed, ` +
      `${formatBytes(result.bytes)} in ${formatDuration(result.durationMs)}`,
  ];
  for (const path of result.removedPaths.slice(0, SHOWN_PATHS)) lines.push(`  removed ${path}`);
  if (result.removedPaths.length > SHOWN_PATHS) lines.push(`  ... and ${result.removedPaths.length - SHOWN_PATHS} more removed`);
  for (const failure of result.failed.slice(0, SHOWN_PATHS)) lines.push(`  failed ${failure.path}: ${failure.reason}`);
  if (result.failed.length > SHOWN_PATHS) lines.push(`  ... and ${result.failed.length - SHOWN_PATHS} more failed`);
  return lines;
}

/** The error a pull with failed entries ends with, after its summary is printed. */
export function pullFailure(result: PullResult): CliError | undefined {
  if (result.failed.length === 0) return undefined;
  const first = result.failed[0] as PullFailure;
  const more = result.failed.length > 1 ? `; ${result.failed.length - 1} more listed in the output` : '';
  return new CliError(
    `${result.failed.length} of ${plural(result.files, 'entry', 'entries')} of ${result.project} could not be pulled into ${basename(result.dir)} ` +
      `(${first.path}: ${first.reason}${more}): the others are in place; clear what blocks these and pull again`,
  );
}
