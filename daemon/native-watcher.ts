// The native backend of the folder's watcher (see disk-watcher.ts), on @parcel/watcher: one
// inotify watch per folder (FSEvents, ReadDirectoryChangesW elsewhere), its tree kept in C++.
//
// What it does not say, this adds:
// - a new folder is listed once reported, so a file written into it before its watch was set
//   (a `tar -x`, `mkdir -p && touch`) is reported too;
// - on Linux a folder made inside a new folder before that one's watch was set is never
//   watched by @parcel/watcher at all (parcel-bundler/watcher#97, open since 2022: `mkdir -p
//   a/b/c`, then every later write in b or c is silent). A second subscription of the root
//   would not help (@parcel/watcher reuses the tree it holds for that folder, unwatched
//   folders and all), so a new folder whose listing finds folders gets a subscription of its
//   own, which walks it and watches everything in it, and is listed again once that is done;
// - a removed folder is one event with no word of what it held: it is said as `removed-folder`
//   (the folders are known here, not the files), and the daemon removes what it had inside;
// - the kernel's event queue can overflow in a large burst, which @parcel/watcher drops
//   silently: a burst near the queue's size asks for a rescan once it is quiet;
// - ignored folders are not watched at all: they are found by a walk before subscribing, and
//   found again when the ignore rules change (rulesChanged);
// - @parcel/watcher can drop an event that arrives just as a batch is handed over: every
//   subscription is audited by a second one (audited-subscription.ts).
import { EventEmitter } from 'node:events';
import { lstat, opendir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { AsyncSubscription, Event } from '@parcel/watcher';
import type { Logger } from 'pino';
import type { IgnoreRules } from '../common/ignore-rules.js';
import { childPath, listFolders } from '../common/fs-helpers.js';
import { inotifyWatchLimit, watchLimitError, type DiskEvent, type DiskWatcher } from './disk-watcher.js';
import { HotFolders } from './hot-folders.js';
import { subscribeAudited } from './audited-subscription.js';

type Parcel = typeof import('@parcel/watcher');

/** A burst is over when no event came for this long. */
const BURST_QUIET_MS = 1_000;
/** New folders that may hold unwatched ones get their subscriptions this long after the last, at most REFRESH_MAX_MS after the first. */
const REFRESH_QUIET_MS = 200;
const REFRESH_MAX_MS = 2_000;
/** Linux's default fs.inotify.max_queued_events, where /proc does not say. */
const DEFAULT_QUEUED_EVENTS = 16_384;
/** A batch of at most this many events is a person's save, whose folder becomes hot (see hot-folders.ts); a larger one is a burst. */
const HOT_BATCH_EVENTS = 8;

/** The native watcher, or null (logged) when its binary does not load on this system. */
export async function loadNativeWatcher(root: string, rules: IgnoreRules, log: Logger): Promise<NativeWatcher | null> {
  try {
    const parcel = (await import('@parcel/watcher')) as Parcel;
    const queued = Number.parseInt(await readFile('/proc/sys/fs/inotify/max_queued_events', 'utf8').catch(() => ''), 10);
    return new NativeWatcher(parcel, root, rules, log, Number.isFinite(queued) ? queued : DEFAULT_QUEUED_EVENTS);
  } catch (err) {
    log.info({ err: (err as Error).message }, 'the native watcher does not load here; watching with chokidar');
    return null;
  }
}

export class NativeWatcher extends EventEmitter<{ event: [DiskEvent] }> implements DiskWatcher {
  readonly backend = 'native';
  private subscription: AsyncSubscription | null = null;
  private closed = false;
  /** The folders below the root that are watched (not ignored), by relative path. */
  private readonly folders = new Set<string>();
  /** Batches are handled one after another, so events keep their order. */
  private handling: Promise<void> = Promise.resolve();
  private readonly burst = { events: 0, lastAt: 0, timer: null as NodeJS.Timeout | null };
  /** The ignored folders of the last walk: what every subscription leaves unwatched. */
  private ignored: string[] = [];
  /** New folders whose sub-folders may be unwatched, waiting for a subscription of their own (see watchSubtrees). */
  private readonly stale = { folders: new Set<string>(), since: 0, timer: null as NodeJS.Timeout | null };
  /** New folders watched by a subscription of their own (see the header), by relative path. */
  private readonly subtrees = new Map<string, AsyncSubscription>();
  /** The folders of the files changed last, watched without @parcel/watcher's batching delay. */
  private readonly hot: HotFolders;

  constructor(
    private readonly parcel: Parcel,
    private readonly root: string,
    private readonly rules: IgnoreRules,
    private readonly log: Logger,
    /** The kernel's event queue: a burst of half as many events may have overflowed it. */
    private readonly queuedEvents: number,
  ) {
    super();
    this.hot = new HotFolders(root, (path) => this.emit('event', { type: 'changed', path }));
  }

  async start(): Promise<void> {
    this.ignored = await this.walk('');
    this.subscription = await this.subscribe(this.root);
  }

  /** A subscription of `abs`: @parcel/watcher walks it and watches every folder in it. */
  private async subscribe(abs: string): Promise<AsyncSubscription> {
    try {
      return await subscribeAudited(this.parcel, abs, this.ignored, (err, events) => this.onBatch(err, events), this.log);
    } catch (err) {
      throw watchLimitError(err, this.root, await inotifyWatchLimit()) ?? err;
    }
  }

  /** A listing found folders inside a new folder: they may be unwatched (see the header). */
  private markStale(folder: string): void {
    const { stale } = this;
    const now = Date.now();
    if (stale.timer) clearTimeout(stale.timer);
    else stale.since = now;
    stale.folders.add(folder);
    stale.timer = setTimeout(() => void this.watchSubtrees(), Math.max(0, Math.min(REFRESH_QUIET_MS, stale.since + REFRESH_MAX_MS - now)));
  }

  /** Each stale folder (not inside one already watched so) gets its subscription; then it is listed again. */
  private async watchSubtrees(): Promise<void> {
    const folders = [...this.stale.folders].sort();
    this.stale.folders.clear();
    this.stale.timer = null;
    for (const folder of folders) {
      if (this.closed || this.insideSubtree(folder)) continue;
      try {
        this.subtrees.set(folder, await this.subscribe(join(this.root, folder)));
      } catch (err) {
        const limit = watchLimitError(err, this.root);
        if (limit) this.emit('event', { type: 'failed', message: limit.message });
        else this.log.debug({ err: (err as Error).message, folder }, 'a new folder could not be watched (gone again?)');
        continue;
      }
      // What was written in it between the first listing and its watch.
      await this.listFolder(folder, { relisting: true });
    }
  }

  private insideSubtree(folder: string): boolean {
    for (let prefix = folder; ; ) {
      if (this.subtrees.has(prefix)) return true;
      const slash = prefix.lastIndexOf('/');
      if (slash === -1) return false;
      prefix = prefix.slice(0, slash);
    }
  }

  private async dropSubtrees(under: string | null): Promise<void> {
    for (const [folder, subscription] of this.subtrees) {
      if (under !== null && folder !== under && !folder.startsWith(`${under}/`)) continue;
      this.subtrees.delete(folder);
      await subscription.unsubscribe().catch(() => undefined);
    }
  }

  /** The ignore rules changed: folders they now ignore (or no longer ignore) are watched anew. */
  async rulesChanged(): Promise<void> {
    if (this.closed) return;
    const previous = this.subscription;
    this.subscription = null;
    this.folders.clear();
    await this.dropSubtrees(null);
    // Unsubscribed first: @parcel/watcher walks the folder afresh only once it holds no tree of it.
    await previous?.unsubscribe();
    await this.start();
  }

  rewatch(path: string): void {
    void this.listFolder(path);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hot.close();
    if (this.burst.timer) clearTimeout(this.burst.timer);
    if (this.stale.timer) clearTimeout(this.stale.timer);
    await this.dropSubtrees(null);
    await this.subscription?.unsubscribe();
    this.subscription = null;
  }

  /** Lists the tree below `path` a depth at a time: its folders are remembered, its ignored folders returned (absolute). */
  private async walk(path: string): Promise<string[]> {
    const ignored: string[] = [];
    for (let level = [path]; level.length > 0; ) {
      const listed = await listFolders(this.root, level);
      const below = listed.flatMap((entries, i) => (entries instanceof Error ? [] : entries.filter((e) => e.isDirectory()).map((e) => childPath(level[i]!, e.name))));
      level = [];
      for (const child of below) {
        if (this.rules.ignores(child, true)) ignored.push(join(this.root, child));
        else {
          this.folders.add(child);
          level.push(child);
        }
      }
    }
    return ignored;
  }

  private onBatch(err: Error | null, events: Event[]): void {
    if (this.closed) return;
    if (err) {
      const limit = watchLimitError(err, this.root);
      if (limit) this.emit('event', { type: 'failed', message: limit.message });
      else {
        this.log.warn({ err: err.message }, 'watcher error; rescanning the folder');
        this.emit('event', { type: 'rescan' });
      }
      return;
    }
    this.noteBurst(events.length);
    this.handling = this.handling.then(() => this.handle(events)).catch((failure: unknown) => this.log.warn({ err: failure }, 'watcher event failed'));
  }

  private async handle(events: Event[]): Promise<void> {
    // What each created path is, looked at all at once; reported in the order they came.
    const kinds = await Promise.all(events.map((event) => (event.type === 'create' ? lstat(event.path).catch(() => null) : null)));
    // A burst (a checkout, a join's own writes) is not someone typing: its folders would only churn the hot watches.
    const typing = events.length <= HOT_BATCH_EVENTS;
    for (const [i, event] of events.entries()) {
      const path = this.relPath(event.path);
      if (path === null || this.closed) continue;
      if (event.type === 'delete') this.removed(path);
      else if (kinds[i]?.isDirectory()) await this.listFolder(path);
      else this.fileChanged(path, typing);
    }
  }

  /** A file was written: said, and when `typing`, its folder is watched for the next edit (see hot-folders.ts). */
  private fileChanged(path: string, typing: boolean): void {
    this.emit('event', { type: 'changed', path });
    if (!typing) return;
    const slash = path.lastIndexOf('/');
    this.hot.touch(slash === -1 ? '' : path.slice(0, slash));
  }

  /**
   * Something at `path` is gone. Said as a file's removal in any case (a folder replaced by a
   * file within one batch is reported as one update, so what is known as a folder may be a
   * file by now), and as a folder's when it was one.
   */
  private removed(path: string): void {
    this.emit('event', { type: 'removed', path });
    if (!this.folders.has(path)) return;
    this.hot.forget(path);
    for (const folder of this.folders) if (folder === path || folder.startsWith(`${path}/`)) this.folders.delete(folder);
    void this.dropSubtrees(path);
    this.emit('event', { type: 'removed-folder', path });
  }

  /**
   * A folder appeared (or took a file's name): it and what it already holds are reported. Its
   * sub-folders may have been made before it was watched, so they are watched afresh
   * (markStale), unless this is the listing that follows that.
   */
  private async listFolder(path: string, { relisting = false } = {}): Promise<void> {
    if (this.closed || this.rules.ignores(path, true)) return;
    this.folders.add(path);
    this.emit('event', { type: 'folder', path });
    const dir = await opendir(join(this.root, path)).catch(() => null);
    if (!dir) return; // Gone again, or replaced by a file: the watcher reports that.
    const folders: string[] = [];
    for await (const entry of dir) {
      const child = `${path}/${entry.name}`;
      if (this.rules.ignores(child, entry.isDirectory())) continue;
      if (entry.isDirectory()) folders.push(child);
      else this.emit('event', { type: 'changed', path: child });
    }
    if (folders.length > 0 && !relisting) this.markStale(path);
    for (const folder of folders) await this.listFolder(folder, { relisting: true });
  }

  /** A burst near the kernel queue's size may have lost events: rescan once it is quiet. */
  private noteBurst(count: number): void {
    const now = Date.now();
    if (now - this.burst.lastAt > BURST_QUIET_MS) this.burst.events = 0;
    this.burst.events += count;
    this.burst.lastAt = now;
    if (this.burst.events < this.queuedEvents / 2) return;
    if (this.burst.timer) clearTimeout(this.burst.timer);
    this.burst.timer = setTimeout(() => {
      this.burst.timer = null;
      this.burst.events = 0;
      if (!this.closed) this.emit('event', { type: 'rescan' });
    }, BURST_QUIET_MS);
  }

  private relPath(abs: string): string | null {
    const rel = relative(this.root, abs);
    if (!rel || rel.startsWith('..')) return null;
    return sep === '/' ? rel : rel.split(sep).join('/');
  }
}
