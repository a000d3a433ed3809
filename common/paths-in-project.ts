// Paths as they travel in the index doc and the API: POSIX, relative, inside the project.
// This is the string check every side applies to a path from the network; the daemon adds
// the file-system checks (symlinked parents) before it writes.

export const MAX_PATH_LENGTH = 4096;

/** Why a project path is unacceptable, or null when it is fine. */
export function unsafePathReason(path: string): string | null {
  if (typeof path !== 'string' || path.length === 0) return 'empty path';
  if (path.length > MAX_PATH_LENGTH) return 'path too long';
  if (path.includes('\0')) return 'NUL in path';
  if (path.includes('\\')) return 'backslash in path';
  if (path.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'drive letter in path';
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '' ) return 'empty segment in path';
    if (segment === '.' || segment === '..') return `"${segment}" segment in path`;
    if (segment.toLowerCase() === '.git') return 'path inside .git';
  }
  return null;
}

/**
 * Orders paths by their UTF-16 code units, the same on every machine (never by locale): every
 * side must list, split and report paths in one order.
 */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** comparePaths for things that have a path. */
export const byPath = (a: { path: string }, b: { path: string }): number => comparePaths(a.path, b.path);
