// The files this daemon wrote, by the stat signature they had just after: the watcher reports
// each of them back (often twice), and a file that still has that signature is not read and
// hashed again, which was most of what a burst cost the receiving side.
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { statSignature } from './scan.js';

export class OwnWrites {
  private readonly signatures = new Map<string, string>();

  constructor(private readonly root: string) {}

  /** Whether the file is as this daemon last wrote it; a file changed since is forgotten. */
  isOwn(path: string, stats: Stats): boolean {
    const written = this.signatures.get(path);
    if (written === undefined) return false;
    if (written === statSignature(stats)) return true;
    this.signatures.delete(path);
    return false;
  }

  /** Remembers what this daemon just wrote at `path`. */
  async note(path: string): Promise<void> {
    const stats = await lstat(join(this.root, path)).catch(() => null);
    if (stats?.isFile()) this.signatures.set(path, statSignature(stats));
    else this.signatures.delete(path);
  }

  forget(path: string): void {
    this.signatures.delete(path);
  }
}
