// The second, undelayed watch on the folders of the files edited last (see daemon/hot-folders.ts):
// real folders, real fs.watch, nothing else watching, so every report here is its own.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HotFolders } from '../../daemon/hot-folders.js';
import { eventually } from '../helpers/eventually.js';
import { makeTempFolder } from './temp-folders.js';

let hot: HotFolders | null = null;

afterEach(() => {
  hot?.close();
  hot = null;
});

async function hotFolders(limit?: number): Promise<{ root: string; reports: string[]; hot: HotFolders }> {
  const root = await makeTempFolder('hot');
  const reports: string[] = [];
  hot = new HotFolders(root, (path) => reports.push(path), limit);
  return { root, reports, hot };
}

describe('HotFolders', () => {
  it('reports edits, atomic saves and new files in a folder it was told of, and no removed file', async () => {
    const { root, reports, hot } = await hotFolders();
    await mkdir(join(root, 'src'));
    await writeFile(join(root, 'src/a.ts'), 'a\n');
    await writeFile(join(root, 'top.md'), 'top\n');
    hot.touch('src');
    hot.touch('');
    await writeFile(join(root, 'src/a.ts'), 'a2\n');
    await eventually(() => expect(reports).toContain('src/a.ts'), 10_000, 10);
    await writeFile(join(root, 'src/.b.ts.swp'), 'b\n');
    await rename(join(root, 'src/.b.ts.swp'), join(root, 'src/b.ts'));
    await writeFile(join(root, 'top.md'), 'top2\n');
    await eventually(() => expect(reports).toEqual(expect.arrayContaining(['src/b.ts', 'top.md'])), 10_000, 10);
    reports.length = 0;
    await rm(join(root, 'src/a.ts'));
    await writeFile(join(root, 'src/c.ts'), 'c\n');
    await eventually(() => expect(reports).toContain('src/c.ts'), 10_000, 10);
    expect(reports).not.toContain('src/a.ts');
  });

  it('watches at most its limit of folders, the least recently touched closed first', async () => {
    const { root, hot } = await hotFolders(2);
    for (const folder of ['a', 'b', 'c']) await mkdir(join(root, folder));
    hot.touch('a');
    hot.touch('b');
    hot.touch('a');
    hot.touch('c');
    expect(hot.folders).toEqual(['a', 'c']);
  });

  it('forgets a removed folder and the folders below it, and ignores a folder that is not there', async () => {
    const { root, reports, hot } = await hotFolders();
    for (const folder of ['x/y', 'xz']) await mkdir(join(root, folder), { recursive: true });
    hot.touch('x');
    hot.touch('x/y');
    hot.touch('xz');
    hot.touch('missing');
    hot.forget('x');
    expect(hot.folders).toEqual(['xz']);
    // A folder made again at a forgotten path is watched anew when touched.
    await rm(join(root, 'x'), { recursive: true });
    await mkdir(join(root, 'x'));
    hot.touch('x');
    await writeFile(join(root, 'x/new.txt'), 'n\n');
    await eventually(() => expect(reports).toContain('x/new.txt'), 10_000, 10);
  });
});
