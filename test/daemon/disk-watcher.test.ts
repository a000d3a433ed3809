// The watcher on its own, both backends: a real folder, real chokidar or @parcel/watcher, and
// what each reports for what tools do.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { preferredBackend, startDiskWatcher, watchLimitError, type DiskEvent, type DiskWatcher, type WatcherBackend } from '../../daemon/disk-watcher.js';
import { IgnoreRules } from '../../common/ignore-rules.js';
import { eventually } from '../helpers/eventually.js';
import { makeTempFolder } from './temp-folders.js';

let watcher: DiskWatcher | null = null;

afterEach(async () => {
  await watcher?.close();
  watcher = null;
});

async function watch(root: string, backend: WatcherBackend): Promise<DiskEvent[]> {
  const events: DiskEvent[] = [];
  watcher = await startDiskWatcher(root, await IgnoreRules.load(root), pino({ level: 'silent' }), backend);
  // The native backend must load on this machine: a silent fall back to chokidar would test chokidar twice.
  expect(watcher.backend).toBe(backend);
  watcher.on('event', (event) => events.push(event));
  await watcher.start();
  return events;
}

const pathsOf = (events: DiskEvent[], type: 'changed' | 'removed' | 'removed-folder' | 'folder' | 'mode') =>
  new Set(events.flatMap((e) => (e.type === type ? [e.path] : [])));
const changedPaths = (events: DiskEvent[]) => pathsOf(events, 'changed');

describe.each(['native', 'chokidar'] as const)('DiskWatcher (%s)', (backend) => {
  it('reports every file written right after its folders were made, 100 folders at once', async () => {
    const root = await makeTempFolder('watch');
    const events = await watch(root, backend);
    const wanted = Array.from({ length: 100 }, (_, i) => `n${i}/deeper/still/leaf.txt`);
    await Promise.all(
      wanted.map(async (path) => {
        await mkdir(join(root, path, '..'), { recursive: true });
        await writeFile(join(root, path), 'leaf\n');
      }),
    );
    // Far less than the daemon's 30 s rescan: only the watcher and its listings can pass this.
    await eventually(() => expect([...wanted].filter((path) => !changedPaths(events).has(path))).toEqual([]), 15_000, 20);
    expect(pathsOf(events, 'folder')).toContain('n0/deeper/still');
  });

  it('reports nothing inside an ignored folder, however it was made', async () => {
    const root = await makeTempFolder('watch');
    await writeFile(join(root, '.gitignore'), 'build/\n');
    await mkdir(join(root, 'build/old'), { recursive: true });
    const events = await watch(root, backend);
    await mkdir(join(root, 'build/out'), { recursive: true });
    await writeFile(join(root, 'build/out/a.js'), 'x\n');
    await writeFile(join(root, 'build/old/b.js'), 'x\n');
    await mkdir(join(root, 'src/deep'), { recursive: true });
    await writeFile(join(root, 'src/deep/b.ts'), 'y\n');
    await eventually(() => expect(changedPaths(events).has('src/deep/b.ts')).toBe(true), 15_000, 20);
    expect([...changedPaths(events)].filter((path) => path.startsWith('build'))).toEqual([]);
  });

  it('reports an edit, a chmod and a removal of a file it had', async () => {
    const root = await makeTempFolder('watch');
    await writeFile(join(root, 'run.sh'), 'echo 1\n');
    await writeFile(join(root, 'gone.txt'), 'x\n');
    const events = await watch(root, backend);
    await writeFile(join(root, 'run.sh'), 'echo 2\n');
    await eventually(() => expect(changedPaths(events).has('run.sh')).toBe(true), 15_000, 20);
    events.length = 0;
    await chmod(join(root, 'run.sh'), 0o755);
    await eventually(() => expect(changedPaths(events).has('run.sh') || pathsOf(events, 'mode').has('run.sh')).toBe(true), 15_000, 20);
    await rm(join(root, 'gone.txt'));
    await eventually(() => expect(pathsOf(events, 'removed').has('gone.txt')).toBe(true), 15_000, 20);
  });

  it('lists a folder made again after it was removed', async () => {
    const root = await makeTempFolder('watch');
    const events = await watch(root, backend);
    await mkdir(join(root, 'gen'));
    await writeFile(join(root, 'gen/one.txt'), '1\n');
    await eventually(() => expect(changedPaths(events).has('gen/one.txt')).toBe(true), 15_000, 20);
    await rm(join(root, 'gen'), { recursive: true });
    await eventually(() => expect(pathsOf(events, 'removed').has('gen/one.txt') || pathsOf(events, 'removed-folder').has('gen')).toBe(true), 15_000, 20);
    await mkdir(join(root, 'gen/again'), { recursive: true });
    await writeFile(join(root, 'gen/again/two.txt'), '2\n');
    await eventually(() => expect(changedPaths(events).has('gen/again/two.txt')).toBe(true), 15_000, 20);
  });

  it('keeps reporting edits in folders made by one mkdir -p, long after they were made', async () => {
    // @parcel/watcher alone never watches b, c or d here (parcel-bundler/watcher#97).
    const root = await makeTempFolder('watch');
    const events = await watch(root, backend);
    // The real tool: its mkdir calls follow each other at once (Node's async recursive mkdir
    // takes a turn of the event loop per level, slow enough to hide the race).
    execFileSync('mkdir', ['-p', join(root, 'a/b/c/d')]);
    await eventually(() => expect(pathsOf(events, 'folder').has('a/b/c/d')).toBe(true), 15_000, 20);
    // The scenario, not a wait for state: the user edits there a while later, when the
    // watcher's own handling of the new folders is long over.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await writeFile(join(root, 'a/b/c/d/later.txt'), 'later\n');
    await writeFile(join(root, 'a/b/mid.txt'), 'mid\n');
    await eventually(() => expect([...changedPaths(events)].filter((p) => p === 'a/b/c/d/later.txt' || p === 'a/b/mid.txt').sort()).toEqual(['a/b/c/d/later.txt', 'a/b/mid.txt']), 15_000, 20);
  });

  it('a folder moved out of the tree is said to be gone (its files with it)', async () => {
    const root = await makeTempFolder('watch');
    const outside = await makeTempFolder('watch-out');
    await mkdir(join(root, 'lib/inner'), { recursive: true });
    await writeFile(join(root, 'lib/inner/a.txt'), 'a\n');
    const events = await watch(root, backend);
    await rename(join(root, 'lib'), join(outside, 'lib'));
    // chokidar names each file it knew; the native watcher names the folder once.
    await eventually(() => expect(pathsOf(events, 'removed').has('lib/inner/a.txt') || pathsOf(events, 'removed-folder').has('lib')).toBe(true), 15_000, 20);
  });

  it('follows the ignore rules when they change: a folder no longer ignored is reported', async () => {
    const root = await makeTempFolder('watch');
    await writeFile(join(root, '.gitignore'), 'gen/\n');
    await mkdir(join(root, 'gen'));
    const rules = await IgnoreRules.load(root);
    const events: DiskEvent[] = [];
    watcher = await startDiskWatcher(root, rules, pino({ level: 'silent' }), backend);
    watcher.on('event', (event) => events.push(event));
    await watcher.start();
    await writeFile(join(root, '.gitignore'), '');
    expect(await rules.reloadFile('.gitignore')).toBe(true);
    await watcher.rulesChanged();
    await writeFile(join(root, 'gen/now-shared.txt'), 'x\n');
    await eventually(() => expect(changedPaths(events).has('gen/now-shared.txt')).toBe(true), 15_000, 20);
  });
});

describe('DiskWatcher: choosing and failing', () => {
  it('still finds chokidar\'s record of watched paths, which it waits on', async () => {
    // The wait for a new folder's watch reads chokidar's private `_closers`: an upgrade that
    // renames it must fail here, not silently bring back the race.
    const root = await makeTempFolder('watch');
    await watch(root, 'chokidar');
    const closers = (watcher as unknown as { watcher: { _closers?: unknown } }).watcher._closers;
    expect(closers).toBeInstanceOf(Map);
    expect((closers as Map<string, unknown>).has(root)).toBe(true);
  });

  it('CODESHARE_WATCHER picks the backend; anything else is a clear error', () => {
    expect(preferredBackend(undefined)).toBe('native');
    expect(preferredBackend('chokidar')).toBe('chokidar');
    expect(() => preferredBackend('inotify')).toThrow(/CODESHARE_WATCHER must be native or chokidar/);
  });

  it('running out of inotify watches says which setting to raise, as either backend reports it', () => {
    const native = new Error("inotify_add_watch on '/work/app/src' failed: No space left on device");
    const node = Object.assign(new Error("ENOSPC: System limit for number of file watchers reached, watch '/work/app/src'"), { code: 'ENOSPC' });
    for (const err of [native, node]) {
      const said = watchLimitError(err, '/work/app', 8192);
      expect(said?.message).toMatch(/fs\.inotify\.max_user_watches is 8192/);
      expect(said?.message).toMatch(/sudo sysctl fs\.inotify\.max_user_watches=/);
    }
    expect(watchLimitError(new Error('EACCES: permission denied'), '/work/app')).toBeNull();
  });
});
