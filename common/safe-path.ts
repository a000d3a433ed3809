// The one gate between a path that came from the network (an index key, a symlink target) and
// the disk. Invariant 3: nothing from the network writes outside the synced folder or into
// `.git/`. Every write, removal and symlink creation in the daemon goes through here first.
import { lstat, realpath } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { errnoCode, isInside } from './fs-helpers.js';

export type UnsafePathReason =
  | 'not-a-string'
  | 'empty'
  | 'absolute'
  | 'windows-drive'
  | 'backslash'
  | 'nul-byte'
  | 'empty-segment'
  | 'dot-segment'
  | 'git-folder'
  | 'symlink-ancestor'
  | 'outside-root';

export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
  readonly code = 'CS_ERR_UNSAFE_PATH';

  constructor(
    readonly path: string,
    readonly reason: UnsafePathReason,
    detail?: string,
  ) {
    super(`refused path ${JSON.stringify(path)}: ${reason}${detail ? ` (${detail})` : ''}`);
  }
}

const WINDOWS_DRIVE = /^[a-zA-Z]:/;

// Code points HFS+ drops when comparing names, so `.g\u200cit` *is* `.git` on a Mac
// (CVE-2014-9390, the list git itself checks in is_hfs_dotgit).
const HFS_IGNORABLE = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * Whether one path segment names the `.git` folder on some file system a peer might use:
 * case-insensitive file systems, NTFS (which drops trailing dots and spaces, reads `name::$DATA`
 * streams and keeps the 8.3 alias `GIT~1`) and HFS+ (which ignores some invisible code points).
 */
export function isGitSegment(segment: string): boolean {
  let name = segment.replace(HFS_IGNORABLE, '').toLowerCase();
  const stream = name.indexOf(':');
  if (stream >= 0) name = name.slice(0, stream);
  name = name.replace(/[. ]+$/, '');
  return name === '.git' || name === 'git~1';
}

/**
 * Checks the shape of an index path without touching the disk: a non-empty POSIX path relative
 * to the folder, made only of real names (no `.`, `..` or empty segments), with nothing a
 * Windows or macOS peer would read differently, and never inside `.git`.
 * Returns the segments.
 */
export function assertSafeIndexPath(relPath: unknown): string[] {
  if (typeof relPath !== 'string') throw new UnsafePathError(String(relPath), 'not-a-string');
  if (relPath.length === 0) throw new UnsafePathError(relPath, 'empty');
  if (relPath.includes('\0')) throw new UnsafePathError(relPath, 'nul-byte');
  if (relPath.includes('\\')) throw new UnsafePathError(relPath, 'backslash');
  if (relPath.startsWith('/')) throw new UnsafePathError(relPath, 'absolute');
  if (WINDOWS_DRIVE.test(relPath)) throw new UnsafePathError(relPath, 'windows-drive');
  const segments = relPath.split('/');
  for (const segment of segments) {
    if (segment === '') throw new UnsafePathError(relPath, 'empty-segment');
    if (segment === '.' || segment === '..') throw new UnsafePathError(relPath, 'dot-segment');
    if (isGitSegment(segment)) throw new UnsafePathError(relPath, 'git-folder');
  }
  return segments;
}

/**
 * Resolves an index path to an absolute path under the real path of `root`, or throws
 * UnsafePathError. Besides the shape checks of assertSafeIndexPath, every ancestor that exists
 * below root must be a real folder, not a symlink: a write through a symlinked folder could land
 * anywhere. The last segment may itself be a symlink, since callers replace it (rename) or
 * unlink it, never write through it.
 *
 * This narrows, but cannot close, the race with a local process swapping a folder for a symlink
 * between this check and the write; that needs openat-style calls Node does not offer.
 */
export async function resolveInside(root: string, relPath: string, checked?: CheckedFolders): Promise<string> {
  const segments = assertSafeIndexPath(relPath);
  const rootReal = checked?.rootReal ?? (await realpath(root));
  if (checked) checked.rootReal = rootReal;

  let nearestExisting = rootReal;
  let allChecked = true;
  const folders: string[] = [];
  for (let depth = 1; depth < segments.length; depth++) {
    const ancestor = join(rootReal, ...segments.slice(0, depth));
    if (checked?.folders.has(ancestor)) {
      nearestExisting = ancestor;
      continue;
    }
    allChecked = false;
    let stats;
    try {
      stats = await lstat(ancestor);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') break;
      throw err;
    }
    if (stats.isSymbolicLink()) {
      throw new UnsafePathError(relPath, 'symlink-ancestor', segments.slice(0, depth).join('/'));
    }
    if (stats.isDirectory()) folders.push(ancestor);
    nearestExisting = ancestor;
  }
  if (allChecked) return join(rootReal, ...segments);

  // Belt and braces: the lstat walk above already forbids symlinks, but a bind mount or a
  // change between two lstat calls would still show up here.
  const nearestReal = await realpath(nearestExisting);
  if (!isInside(rootReal, nearestReal)) throw new UnsafePathError(relPath, 'outside-root', nearestReal);
  // Only now are they known good: the write that follows (ensureParentFolders) skips them.
  if (checked && nearestReal === nearestExisting) for (const folder of folders) checked.folders.add(folder);

  return join(rootReal, ...segments);
}

/**
 * Folders a bulk write (a join) already found to be real folders inside root, so its next
 * files in them skip the checks. Only for one burst of writes by this process: a folder
 * swapped for a symlink later is caught by the next burst's checks.
 */
export interface CheckedFolders {
  rootReal?: string;
  /** Absolute real paths. */
  folders: Set<string>;
}

export type SymlinkTargetVerdict =
  | { safe: true; /** Where the link points, as a POSIX path relative to root. */ resolvedPath: string }
  | { safe: false; reason: UnsafePathReason; detail?: string };

/**
 * Decides whether a symlink at `linkRelPath` pointing to `target` stays inside the folder.
 * Only relative targets qualify: an absolute one means something else on every other machine.
 * The target is resolved lexically from the link's folder; it must not be the folder itself,
 * leave it, or reach into `.git`. If the target (or part of it) exists, its real path must be
 * inside too, which catches a chain through another symlink that leaves the folder.
 */
export async function checkSymlinkTarget(
  root: string,
  linkRelPath: string,
  target: string,
): Promise<SymlinkTargetVerdict> {
  try {
    assertSafeIndexPath(linkRelPath);
  } catch (err) {
    if (err instanceof UnsafePathError) return { safe: false, reason: err.reason, detail: 'link path' };
    throw err;
  }
  if (typeof target !== 'string') return { safe: false, reason: 'not-a-string' };
  if (target.length === 0) return { safe: false, reason: 'empty' };
  if (target.includes('\0')) return { safe: false, reason: 'nul-byte' };
  if (target.includes('\\')) return { safe: false, reason: 'backslash' };
  if (target.startsWith('/')) return { safe: false, reason: 'absolute' };
  if (WINDOWS_DRIVE.test(target)) return { safe: false, reason: 'windows-drive' };

  const resolvedPath = posix.normalize(posix.join(posix.dirname(linkRelPath), target)).replace(/\/+$/, '');
  if (resolvedPath === '.' || resolvedPath === '') return { safe: false, reason: 'outside-root', detail: 'points at the folder itself' };
  if (resolvedPath === '..' || resolvedPath.startsWith('../')) return { safe: false, reason: 'outside-root', detail: resolvedPath };
  if (resolvedPath.split('/').some(isGitSegment)) return { safe: false, reason: 'git-folder' };

  const rootReal = await realpath(root);
  const segments = resolvedPath.split('/');
  // Realpath the deepest part of the target that exists: if that leaves the folder, so does
  // the link, whatever the rest of the path is.
  for (let depth = segments.length; depth >= 0; depth--) {
    const candidate = join(rootReal, ...segments.slice(0, depth));
    let candidateReal: string;
    try {
      candidateReal = await realpath(candidate);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      // A loop of links (ELOOP) or anything else we cannot see through is refused.
      return { safe: false, reason: 'outside-root', detail: code ?? String(err) };
    }
    if (!isInside(rootReal, candidateReal)) return { safe: false, reason: 'outside-root', detail: candidateReal };
    if (relative(rootReal, candidateReal).split(sep).some(isGitSegment)) return { safe: false, reason: 'git-folder' };
    break;
  }
  return { safe: true, resolvedPath };
}

/** Boolean form of checkSymlinkTarget. */
export async function isSafeSymlinkTarget(root: string, linkRelPath: string, target: string): Promise<boolean> {
  return (await checkSymlinkTarget(root, linkRelPath, target)).safe;
}
