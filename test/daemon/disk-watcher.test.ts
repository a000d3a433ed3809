// The watcher on its own: a real folder, real chokidar, and what it reports for what tools do.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskWatcher, type DiskEvent } from '../../daemon/disk-watcher.js';
import { IgnoreRules } from '../../common/ignore-rules.js';
import { eventually } from '../helpers/eventually.js';
import { makeTempFolder } from './temp-folders.js';

let watcher: DiskWatcher | null = null;

afterEach(async () => {
  await watcher?.close();
  watcher = null;
});

async function watch(root: string): Promise<DiskEvent[]> {
  const events: DiskEvent[] = [];
  watcher = new DiskWatcher(root, await IgnoreRules.load(root), pino({ level: 'silent' }));
  watcher.on('event', (event) => events.push(event));
  await watcher.start();
  return events;
}

const changedPaths = (events: DiskEvent[]) => new Set(events.filter((e) => e.type === 'changed').map((e) => e.path));

describe('DiskWatcher', () => {
  it('reports every file written right after its folders were made, 100 folders at once', async () => {
    const root = await makeTempFolder('watch');
    const events = await watch(root);
    const wanted = Array.from({ length: 100 }, (_, i) => `n${i}/deeper/still/leaf.txt`);
    await Promise.all(
      wanted.map(async (path) => {
        await mkdir(join(root, path, '..'), { recursive: true });
        await writeFile(join(root, path), 'leaf\n');
      }),
    );
    // Far less than the daemon's 30 s rescan: only the watcher and its listings can pass this.
    await eventually(() => expect([...wanted].filter((path) => !changedPaths(events).has(path))).toEqual([]), 15_000, 20);
    expect(events.filter((e) => e.type === 'folder').map((e) => e.path)).toContain('n0/deeper/still');
  });

  it('reports nothing inside an ignored folder, however it was made', async () => {
    const root = await makeTempFolder('watch');
    await writeFile(join(root, '.gitignore'), 'build/\n');
    const events = await watch(root);
    await mkdir(join(root, 'build/out'), { recursive: true });
    await writeFile(join(root, 'build/out/a.js'), 'x\n');
    await mkdir(join(root, 'src/deep'), { recursive: true });
    await writeFile(join(root, 'src/deep/b.ts'), 'y\n');
    await eventually(() => expect(changedPaths(events).has('src/deep/b.ts')).toBe(true), 15_000, 20);
    expect([...changedPaths(events)].filter((path) => path.startsWith('build'))).toEqual([]);
  });

  it('lists a folder made again after it was removed', async () => {
    const root = await makeTempFolder('watch');
    const events = await watch(root);
    await mkdir(join(root, 'gen'));
    await writeFile(join(root, 'gen/one.txt'), '1\n');
    await eventually(() => expect(changedPaths(events).has('gen/one.txt')).toBe(true), 15_000, 20);
    await rm(join(root, 'gen'), { recursive: true });
    await eventually(() => expect(events.some((e) => e.type === 'removed' && e.path === 'gen/one.txt')).toBe(true), 15_000, 20);
    await mkdir(join(root, 'gen/again'), { recursive: true });
    await writeFile(join(root, 'gen/again/two.txt'), '2\n');
    await eventually(() => expect(changedPaths(events).has('gen/again/two.txt')).toBe(true), 15_000, 20);
  });

  it('still finds chokidar\'s record of watched paths, which it waits on', async () => {
    // The wait for a new folder's watch reads chokidar's private `_closers`: an upgrade that
    // renames it must fail here, not silently bring back the race.
    const root = await makeTempFolder('watch');
    await watch(root);
    const closers = (watcher as unknown as { watcher: { _closers?: unknown } }).watcher._closers;
    expect(closers).toBeInstanceOf(Map);
    expect((closers as Map<string, unknown>).has(root)).toBe(true);
  });
});
