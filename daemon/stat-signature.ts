// What a file's stat says of its bytes without reading them: inode, size, mtime and mode (and
// ctime, where a rename over the file must count as a change). Kept as numbers: as a string
// (`${ino}:${size}:...`) each one was a tree of V8 cons strings, ~300 bytes a file, held for
// every file of a 40,000-file folder twice (the scan's cache and the daemon's own writes).
import type { Stats } from 'node:fs';

export interface StatSignature {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode: number;
  /** Where ctime is part of it. */
  readonly ctimeMs?: number;
}

export function statSignature(stats: Stats, { withCtime }: { withCtime: boolean }): StatSignature {
  const signature = { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, mode: stats.mode };
  return withCtime ? { ...signature, ctimeMs: stats.ctimeMs } : signature;
}

/** Whether `stats` has `signature` (ctime compared only when the signature has one). */
export function hasSignature(stats: Stats, signature: StatSignature): boolean {
  return (
    stats.ino === signature.ino &&
    stats.size === signature.size &&
    stats.mtimeMs === signature.mtimeMs &&
    stats.mode === signature.mode &&
    (signature.ctimeMs === undefined || stats.ctimeMs === signature.ctimeMs)
  );
}
