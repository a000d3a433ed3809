// A bulk write's files made durable together (syncfs where the system has it, an fsync of each
// file and folder otherwise), and the writes themselves as readable as ever meanwhile.
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../common/atomic-write.js';
import { SyncLater } from '../../common/sync-later.js';
import { makeTempFolder } from '../daemon/temp-folders.js';

describe.each([
  { how: 'one sync of the file system', wholeFileSystem: true },
  { how: 'an fsync of each file and folder', wholeFileSystem: false },
])('SyncLater, by $how', ({ wholeFileSystem }) => {
  it('makes noted writes durable at flush, which then has nothing left', async () => {
    const root = await makeTempFolder('sync-later');
    const later = new SyncLater({ wholeFileSystem });
    for (let i = 0; i < 40; i++) await writeFileAtomic(root, `f${i % 4}/file-${i}.txt`, Buffer.from(`text ${i}`), { mode: 0o644, syncLater: later });
    expect(later.size).toBe(40);
    // Written and in place before the flush: only their durability waits.
    expect(await readFile(join(root, 'f3/file-39.txt'), 'utf8')).toBe('text 39');
    await later.flush();
    expect(later.size).toBe(0);
    await later.flush();
    expect((await readdir(join(root, 'f0'))).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `file-${i * 4}.txt`).sort());
  });
});

describe('SyncLater without syncfs', () => {
  it('fails a flush by fsyncs when a noted file cannot be synced any more, for the caller to record nothing', async () => {
    const root = await makeTempFolder('sync-later');
    const later = new SyncLater({ wholeFileSystem: false });
    const { absPath } = await writeFileAtomic(root, 'gone.txt', Buffer.from('x'), { mode: 0o644, syncLater: later });
    await rm(absPath);
    await expect(later.flush()).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('writeFileAtomic with a mode given', () => {
  it('refuses to replace a folder, empty or not, and leaves no temp file', async () => {
    const root = await makeTempFolder('write');
    await mkdir(join(root, 'empty'));
    await mkdir(join(root, 'full'));
    await writeFileAtomic(root, 'full/inside', Buffer.from('x'));
    await expect(writeFileAtomic(root, 'empty', Buffer.from('x'), { mode: 0o644 })).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(writeFileAtomic(root, 'full', Buffer.from('x'), { mode: 0o644 })).rejects.toMatchObject({ code: 'EISDIR' });
    expect((await readdir(root, { recursive: true })).map(String).sort()).toEqual(['empty', 'full', 'full/inside']);
  });

  it('gets that mode under a umask that would take bits of it', async () => {
    const root = await makeTempFolder('write');
    const previous = process.umask(0o077);
    try {
      const written = await writeFileAtomic(root, 'shared.txt', Buffer.from('x'), { mode: 0o644 });
      expect((await stat(join(root, 'shared.txt'))).mode & 0o777).toBe(0o644);
      expect(written.mode).toBe(0o644);
      expect(written.stats.mode & 0o777).toBe(0o644);
    } finally {
      process.umask(previous);
    }
  });
});
