// A rename that fails after the temp file is complete: the one failure the other tests cannot
// provoke with real files, so node:fs/promises is wrapped for this file only.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createSymlinkSafe, writeFileAtomic } from '../../common/atomic-write.js';
import { makeTempFolder } from './temp-folders.js';

const failure = vi.hoisted(() => ({ rename: false }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...original,
    rename: async (from: string, to: string) => {
      if (failure.rename) throw Object.assign(new Error('simulated rename failure'), { code: 'EIO' });
      return original.rename(from, to);
    },
  };
});

describe('atomic writes when the final rename fails', () => {
  it('leave the old file and no temp file behind', async () => {
    const root = await makeTempFolder('rename-fails');
    await writeFile(join(root, 'file.txt'), 'original');
    failure.rename = true;
    try {
      await expect(writeFileAtomic(root, 'file.txt', Buffer.from('new'))).rejects.toMatchObject({ code: 'EIO' });
      await expect(createSymlinkSafe(root, 'link', 'file.txt')).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      failure.rename = false;
    }
    expect(await readdir(root)).toEqual(['file.txt']);
    expect(await readFile(join(root, 'file.txt'), 'utf8')).toBe('original');
  });
});
