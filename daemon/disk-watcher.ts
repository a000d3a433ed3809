// The folder's watcher: one small interface, two backends. The native one (@parcel/watcher, the
// watcher VS Code uses: one inotify watch per folder, its tree kept in C++) where its prebuilt
// binary loads; chokidar (one watch per file: on a 38,490-file tree it alone held 263 MiB and
// took 6 s to start, against 58 MiB and 0.14 s) where it does not, or when asked for with
// CODESHARE_WATCHER=chokidar. Either turns what the system reports into plain disk events.
//
// Running out of inotify watches is never a silent stop: the backend that hits the limit says
// which setting to raise, and the folder is then kept in step by its periodic rescans.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { IgnoreRules } from '../common/ignore-rules.js';
import { errnoCode } from '../common/fs-helpers.js';

export type DiskEvent =
  /** A file or symlink at `path` may be new or changed (or a folder took its name). */
  | { type: 'changed'; path: string }
  /** The file at `path` is gone. */
  | { type: 'removed'; path: string }
  /** The folder at `path` is gone, with whatever it held (the native watcher says so only once). */
  | { type: 'removed-folder'; path: string }
  /** A folder appeared at `path` and is watched; its entries are reported as `changed`. */
  | { type: 'folder'; path: string }
  /** The permission bits at `path` may have changed. */
  | { type: 'mode'; path: string }
  /** Events may have been lost (a burst larger than the kernel's queue): compare the whole folder. */
  | { type: 'rescan' }
  /** The folder is no longer watched whole; `message` says why and what to do. */
  | { type: 'failed'; message: string };

/** What a folder's watch hands on: every event but `failed`, which FolderWatch says itself. */
export type WatchedEvent = Exclude<DiskEvent, { type: 'failed' }>;

export type WatcherBackend = 'native' | 'chokidar';

export interface DiskWatcher {
  readonly backend: WatcherBackend;
  on(event: 'event', listener: (event: DiskEvent) => void): unknown;
  /** Resolves once the whole folder is watched. */
  start(): Promise<void>;
  /** Something at `path` the watcher knew as a file is a folder now: watch and list it. */
  rewatch(path: string): void;
  /** The ignore rules changed: what they ignore is watched (or not) accordingly. */
  rulesChanged(): Promise<void>;
  close(): Promise<void>;
}

/** Which backend CODESHARE_WATCHER asks for: native (the default, falls back) or chokidar. */
export function preferredBackend(setting = process.env.CODESHARE_WATCHER): WatcherBackend {
  if (setting === undefined || setting === '' || setting === 'native') return 'native';
  if (setting === 'chokidar') return 'chokidar';
  throw new Error(`CODESHARE_WATCHER must be native or chokidar, not ${JSON.stringify(setting)}`);
}

/**
 * Starts watching `root` with the preferred backend; the native one falls back to chokidar
 * when its binary does not load here. A watch limit hit while starting is thrown (see
 * watchLimitError): chokidar needs more watches than the native watcher, not fewer.
 */
export async function startDiskWatcher(root: string, rules: IgnoreRules, log: Logger, backend = preferredBackend()): Promise<DiskWatcher> {
  if (backend === 'native') {
    const { loadNativeWatcher } = await import('./native-watcher.js');
    const native = await loadNativeWatcher(root, rules, log);
    if (native) return native;
  }
  const { ChokidarWatcher } = await import('./chokidar-watcher.js');
  return new ChokidarWatcher(root, rules, log);
}

/** The watches this system allows a user (Linux), or null where there is no such setting. */
export async function inotifyWatchLimit(): Promise<number | null> {
  const text = await readFile('/proc/sys/fs/inotify/max_user_watches', 'utf8').catch(() => null);
  const limit = text === null ? NaN : Number.parseInt(text, 10);
  return Number.isFinite(limit) ? limit : null;
}

/**
 * The error a user sees when the system's inotify watches ran out (ENOSPC from
 * inotify_add_watch, as Node.js and @parcel/watcher report it), or null for any other error.
 */
export function watchLimitError(err: unknown, root: string, limit?: number | null): Error | null {
  const message = err instanceof Error ? err.message : String(err);
  if (errnoCode(err) !== 'ENOSPC' && !/inotify_add_watch.*No space left on device|ENOSPC/i.test(message)) return null;
  const current = limit ? ` (fs.inotify.max_user_watches is ${limit})` : '';
  return new Error(
    `cannot watch every folder of ${root}: the system's inotify watches are used up${current}. ` +
      'Raise the limit with `sudo sysctl fs.inotify.max_user_watches=1048576` ' +
      '(and add `fs.inotify.max_user_watches=1048576` to /etc/sysctl.conf to keep it), then restart the daemon. ' +
      'Until then this folder is compared with the project only by its periodic rescan.',
  );
}

export interface FolderWatchDeps {
  root: string;
  rules: IgnoreRules;
  log: Logger;
  /** Every event but `failed`, which is this module's to say. */
  event: (event: WatchedEvent) => void;
  /** The folder is no longer watched whole: `message` says why and what to do. */
  failed: (message: string) => void;
}

/**
 * A folder's watch over its life: started with the preferred backend, following the ignore
 * rules, and, when inotify's watches run out, the problem kept for status and said once.
 */
export class FolderWatch {
  private watcher: DiskWatcher | null = null;
  /** Why the folder is not watched whole, or null. */
  problem: string | null = null;

  constructor(private readonly deps: FolderWatchDeps) {}

  get backend(): WatcherBackend | null {
    return this.watcher?.backend ?? null;
  }

  /** Resolves once the folder is watched, or the watch limit was hit and said. */
  async start(): Promise<void> {
    const watcher = await startDiskWatcher(this.deps.root, this.deps.rules, this.deps.log);
    watcher.on('event', (event) => (event.type === 'failed' ? this.fail(event.message) : this.deps.event(event)));
    this.watcher = watcher;
    await watcher.start().catch((err: unknown) => {
      this.watcher = null;
      if (!this.saidWatchLimit(err)) throw err;
    });
  }

  rewatch(path: string): void {
    this.watcher?.rewatch(path);
  }

  /** The ignore rules changed: the watcher follows them (a failure is logged; the rescans go on). */
  async rulesChanged(): Promise<void> {
    await this.watcher?.rulesChanged().catch((err: unknown) => {
      if (!this.saidWatchLimit(err)) this.deps.log.error({ err }, 'the watcher could not follow the new ignore rules; the rescans keep the folder in step');
    });
  }

  async close(): Promise<void> {
    await this.watcher?.close();
  }

  /** Whether `err` is a watch limit hit, which is the user's to fix: then it was said. */
  private saidWatchLimit(err: unknown): boolean {
    const limit = watchLimitError(err, this.deps.root);
    if (limit) this.fail(limit.message);
    return limit !== null;
  }

  private fail(message: string): void {
    if (this.problem === message) return;
    this.problem = message;
    this.deps.log.error({ root: this.deps.root }, message);
    this.deps.failed(message);
  }
}
