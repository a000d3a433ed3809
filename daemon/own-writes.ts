// The files this daemon wrote, by the stat signature they had when written: the watcher reports
// each of them back (often twice), and a file that still has that signature is not read and
// hashed again, which was most of what a burst cost the receiving side.
//
// The signature is taken from the written file's own handle before it is moved into place
// (see writeFileAtomic), never by a stat of the path afterwards: a user's save landing between
// the move and that stat was remembered as our write, and the watcher's report of it skipped
// (the convergence soak lost an edit made the same instant a teammate's edit was written).
// Inode, size, mtime and mode survive the move; ctime does not, so it is not part of it.
//
// Only the last OWN_WRITES_KEPT writes are remembered: the watcher's reports come back within
// moments of the write, and a signature forgotten costs one read and hash of a file that turns
// out unchanged, never a missed edit. Unbounded, a 40,000-file join kept one for every file.
import type { Stats } from 'node:fs';
import { hasSignature, statSignature, type StatSignature } from './stat-signature.js';

export const OWN_WRITES_KEPT = 8_192;

/**
 * The watcher reports a write this soon after it (see justWrote). Generous: the native
 * watcher batches its reports, and a loaded machine delays them.
 */
const OWN_REPORT_MS = 2_000;

interface OwnWrite extends StatSignature {
  /** Date.now() of the write. */
  readonly at: number;
}

export class OwnWrites {
  /** By path, the oldest write first. */
  private readonly signatures = new Map<string, OwnWrite>();

  constructor(private readonly kept = OWN_WRITES_KEPT) {}

  /** Whether the file is as this daemon last wrote it; a file changed since is forgotten. */
  isOwn(path: string, stats: Stats): boolean {
    const written = this.signatures.get(path);
    if (written === undefined) return false;
    if (hasSignature(stats, written)) return true;
    this.signatures.delete(path);
    return false;
  }

  /**
   * Whether this daemon wrote `path` a moment ago: a disk event there is most likely the
   * watcher's report of that write, not a local command at work (see RemovalBurst). A teammate
   * typing keeps such reports coming; counted, they made one burst of a whole afternoon, and a
   * `git stash` an hour old the cause of an `rm -r`.
   */
  justWrote(path: string, now = Date.now()): boolean {
    const written = this.signatures.get(path);
    return written !== undefined && now - written.at < OWN_REPORT_MS;
  }

  /** Remembers what this daemon just wrote at `path`: the written file's stat. */
  note(path: string, written: Stats, now = Date.now()): void {
    this.signatures.delete(path);
    this.signatures.set(path, { ...statSignature(written, { withCtime: false }), at: now });
    if (this.signatures.size > this.kept) this.signatures.delete(this.signatures.keys().next().value!);
  }

  forget(path: string): void {
    this.signatures.delete(path);
  }
}
