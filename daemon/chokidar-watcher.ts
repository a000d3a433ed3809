// The chokidar backend of the folder's watcher (see disk-watcher.ts): turns chokidar's events
// into plain disk events, and closes the gap every directory watcher has with new folders.
// chokidar opens one watch per file; it is the fallback where the native watcher does not load.
//
// chokidar lists a new folder and only then starts watching it, and a folder that appears
// between a parent's listing and the parent's watch is never reported at all. So a file
// written right after `mkdir -p` (a `tar -x`, a generator, a `git merge`) was reported by
// nothing and waited for the periodic rescan. Here, every new folder is listed again once it
// is watched: whatever was written before or during the watch set-up is reported as a
// `changed` event, and whatever comes after is reported by the watch. A sub-folder found by
// that listing gets the same treatment once it is watched (or is added to the watcher when
// chokidar missed it).
import { EventEmitter } from 'node:events';
import { opendir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { IgnoreRules } from '../common/ignore-rules.js';
import { watchLimitError, type DiskEvent, type DiskWatcher } from './disk-watcher.js';

/** How often, and how long, a new folder's watch is waited for before it is added by hand. */
const WATCH_POLL_MS = 10;
const WATCH_WAIT_MS = 3000;

export class ChokidarWatcher extends EventEmitter<{ event: [DiskEvent] }> implements DiskWatcher {
  readonly backend = 'chokidar';
  private watcher: FSWatcher | null = null;
  private closed = false;
  /**
   * New folders listed since they appeared: chokidar reports the sub-folders that a listing
   * here also finds, and one listing after the watch is enough. A removed folder leaves it.
   */
  private readonly listed = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly rules: IgnoreRules,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Resolves once the whole folder is watched. */
  async start(): Promise<void> {
    const watcher = chokidar.watch(this.root, { ignored: this.rules.chokidarIgnored, ignoreInitial: true, followSymlinks: false, atomic: false });
    this.watcher = watcher;
    watcher.on('add', (abs) => this.report('changed', abs));
    watcher.on('change', (abs) => this.report('changed', abs));
    watcher.on('unlink', (abs) => this.report('removed', abs));
    watcher.on('addDir', (abs) => void this.newFolder(abs));
    watcher.on('unlinkDir', (abs) => this.forgetListed(abs));
    watcher.on('raw', (event, name, details) => {
      const watched = (details as { watchedPath?: string }).watchedPath;
      if (typeof name !== 'string' || !watched) return;
      const abs = watched.endsWith(`${sep}${name}`) ? watched : join(watched, name);
      // A name that is not UTF-8 reaches us decoded with U+FFFD: chokidar cannot stat it and
      // says nothing, so it is reported here (the daemon lists it as not shared).
      if (name.includes('\uFFFD')) this.report('changed', abs);
      // chokidar drops a chmod when the file's atime is newer than its mtime; the raw event
      // still arrives, so the executable bit is checked on it.
      else if (event === 'change') this.report('mode', abs);
    });
    watcher.on('error', (err) => {
      // Out of inotify watches: the folder is no longer watched whole, which must be said.
      const limit = watchLimitError(err, this.root);
      if (limit) this.emit('event', { type: 'failed', message: limit.message });
      else this.log.warn({ err }, 'watcher error');
    });
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  /**
   * Something at `path` that the watcher knew as a file is a folder now: chokidar's watch of
   * the file sees nothing inside, so it is replaced by a watch of the folder, which is then
   * listed like any new folder.
   */
  rewatch(path: string): void {
    const abs = join(this.root, path);
    this.forgetListed(abs);
    this.watcher?.unwatch(abs);
    this.watcher?.add(abs);
    void this.newFolder(abs);
  }

  /**
   * chokidar asks the rules about each path as it goes, but a folder it skipped as ignored is
   * never looked at again: the watch starts over (the caller rescans the gap).
   */
  async rulesChanged(): Promise<void> {
    if (this.closed) return;
    const previous = this.watcher;
    this.watcher = null;
    this.listed.clear();
    await previous?.close();
    await this.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.close();
  }

  private forgetListed(abs: string): void {
    for (const folder of this.listed) if (folder === abs || folder.startsWith(`${abs}${sep}`)) this.listed.delete(folder);
  }

  private report(type: 'changed' | 'removed' | 'mode', abs: string): void {
    const path = this.relPath(abs);
    if (path !== null && !this.closed) this.emit('event', { type, path });
  }

  private relPath(abs: string): string | null {
    const rel = relative(this.root, abs);
    if (!rel || rel.startsWith('..')) return null;
    return sep === '/' ? rel : rel.split(sep).join('/');
  }

  /** A folder appeared: once it is watched, what it already holds is reported. */
  private async newFolder(abs: string): Promise<void> {
    const path = this.relPath(abs);
    if (path === null || this.closed || this.listed.has(abs)) return;
    this.listed.add(abs);
    await this.untilWatched(abs);
    if (this.closed) return;
    this.emit('event', { type: 'folder', path });
    let dir;
    try {
      dir = await opendir(abs);
    } catch {
      return; // Gone again, or replaced by a file: the watcher reports that.
    }
    const folders: string[] = [];
    for await (const entry of dir) {
      const child = `${path}/${entry.name}`;
      if (this.rules.ignores(child, entry.isDirectory())) continue;
      if (entry.isDirectory()) folders.push(join(abs, entry.name));
      else this.emit('event', { type: 'changed', path: child });
    }
    await Promise.all(folders.map((folder) => this.newFolder(folder)));
  }

  /**
   * Waits until chokidar watches `abs`. chokidar has no event for that: a path with a closer
   * registered is watched (its `_closers` map, read here on purpose; the suite's folder tests
   * fail if a chokidar upgrade changes it). A folder chokidar never picked up is added.
   */
  private async untilWatched(abs: string): Promise<void> {
    const watched = () => (this.watcher as unknown as { _closers?: Map<string, unknown> })._closers?.has(abs) ?? true;
    for (let waited = 0, added = false; !watched() && !this.closed; waited += WATCH_POLL_MS) {
      if (waited >= WATCH_WAIT_MS) {
        if (added) {
          this.log.warn({ path: this.relPath(abs) }, 'a new folder is still not watched; listing it anyway');
          return;
        }
        this.log.debug({ path: this.relPath(abs) }, 'the watcher missed a new folder; adding it');
        this.watcher?.add(abs);
        added = true;
        waited = 0;
      }
      await new Promise((resolve) => setTimeout(resolve, WATCH_POLL_MS));
    }
  }
}
