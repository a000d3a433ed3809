// "Skipped entirely" means never opened, not opened and filtered: a node_modules of 100,000
// files must cost nothing. node:fs/promises is wrapped for this file only, to see every opendir.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { IgnoreRules } from '../../common/ignore-rules.js';
import { scanFolder } from '../../daemon/scan.js';
import { makeTempFolder } from './temp-folders.js';

const opened = vi.hoisted(() => [] as string[]);

vi.mock('node:fs/promises', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...original,
    opendir: (path: string, options?: Parameters<typeof original.opendir>[1]) => {
      opened.push(path);
      return original.opendir(path, options);
    },
  };
});

describe('ignored folders', () => {
  it('are never opened by IgnoreRules.load or scanFolder', async () => {
    const root = await makeTempFolder('never-enters');
    for (const folder of ['node_modules/pkg/lib', '.git/objects/ab', 'build/out', 'src/vendor', 'src/keep']) {
      await mkdir(join(root, folder), { recursive: true });
      await writeFile(join(root, folder, 'file.txt'), 'x');
    }
    await writeFile(join(root, '.gitignore'), 'build/\n');
    await writeFile(join(root, 'src', '.gitignore'), 'vendor/\n');

    opened.length = 0;
    const rules = await IgnoreRules.load(root);
    const { entries } = await scanFolder(root, rules);

    expect(entries.map((entry) => entry.path)).toEqual(['.gitignore', 'src/.gitignore', 'src/keep/file.txt']);
    const openedRelative = opened.map((path) => path.slice(root.length + 1));
    expect(new Set(openedRelative)).toEqual(new Set(['', 'src', 'src/keep']));
  });
});
