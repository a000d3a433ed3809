// The folders of the files edited last, watched a second time by Node's own fs.watch, so an
// edit is seen the moment it lands. @parcel/watcher batches what inotify says and, whenever its
// previous batch was less than 500 ms ago, waits at least 50 ms before the next (its
// Debounce.cc): a person's typing, saved again and again, reached teammates ~60 ms late against
// ~15 ms with chokidar. The watches are few and bounded (one inotify watch each, the least
// recently used one closed), so their cost follows what is being edited, not the tree.
//
// Only what is there is reported (a file or symlink, looked at when the event came); removals,
// folders and renames away are left to @parcel/watcher, whose later report of the same change
// finds nothing new to read.
import { watch, type FSWatcher } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';

/** How many folders are watched this way at most. */
export const HOT_FOLDERS = 64;

export class HotFolders {
  /** Watches by relative folder path ('' for the root), least recently used first. */
  private readonly watches = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    private readonly root: string,
    /** Something that is a file or a symlink now was written at `path` (relative). */
    private readonly changed: (path: string) => void,
    private readonly limit = HOT_FOLDERS,
  ) {}

  /** The folders watched, least recently used first. */
  get folders(): string[] {
    return [...this.watches.keys()];
  }

  /** A file in `folder` changed: the folder is watched (again the most recent one). */
  touch(folder: string): void {
    if (this.closed) return;
    const known = this.watches.get(folder);
    if (known) {
      this.watches.delete(folder);
      this.watches.set(folder, known);
      return;
    }
    let watcher: FSWatcher;
    try {
      // Not persistent: these watches alone never keep the daemon running.
      watcher = watch(join(this.root, folder), { persistent: false }, (_type, name) => {
        if (typeof name === 'string' && name !== '') void this.report(folder === '' ? name : `${folder}/${name}`);
      });
    } catch {
      return; // Gone already, or the system's watches are used up: the main watcher still reports it.
    }
    watcher.on('error', () => this.drop(folder, watcher));
    this.watches.set(folder, watcher);
    for (const [oldest, old] of this.watches) {
      if (this.watches.size <= this.limit) break;
      this.drop(oldest, old);
    }
  }

  /** The folder at `path` is gone: its watches (and those below it) watch nothing any more. */
  forget(path: string): void {
    for (const [folder, watcher] of this.watches) {
      if (folder === path || folder.startsWith(`${path}/`)) this.drop(folder, watcher);
    }
  }

  close(): void {
    this.closed = true;
    for (const [folder, watcher] of this.watches) this.drop(folder, watcher);
  }

  private drop(folder: string, watcher: FSWatcher): void {
    if (this.watches.get(folder) === watcher) this.watches.delete(folder);
    watcher.close();
  }

  private async report(path: string): Promise<void> {
    const stats = await lstat(join(this.root, path)).catch(() => null);
    if (!this.closed && stats && (stats.isFile() || stats.isSymbolicLink())) this.changed(path);
  }
}
