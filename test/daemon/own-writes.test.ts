import { appendFile, chmod, lstat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../common/atomic-write.js';
import { OwnWrites } from '../../daemon/own-writes.js';
import { makeTempFolder } from './temp-folders.js';

describe('OwnWrites: the watcher echo of our own write, and nothing else', () => {
  it('knows the file it wrote when the watcher reports it back', async () => {
    const root = await makeTempFolder('own');
    const own = new OwnWrites();
    const written = await writeFileAtomic(root, 'a.txt', Buffer.from('ours\n'));
    own.note('a.txt', written.stats);
    expect(own.isOwn('a.txt', await lstat(join(root, 'a.txt')))).toBe(true);
  });

  it('a save that lands between the move and the daemon noting it is not taken for ours', async () => {
    const root = await makeTempFolder('own');
    const own = new OwnWrites();
    const written = await writeFileAtomic(root, 'a.txt', Buffer.from('ours\n'));
    // The user's editor writes in the instant after the move, before the write is noted.
    await appendFile(join(root, 'a.txt'), 'the user typed this\n');
    own.note('a.txt', written.stats);
    expect(own.isOwn('a.txt', await lstat(join(root, 'a.txt')))).toBe(false);
  });

  it('a file saved over ours, or a chmod of it, is no longer ours (and stays so)', async () => {
    const root = await makeTempFolder('own');
    const own = new OwnWrites();
    own.note('a.txt', (await writeFileAtomic(root, 'a.txt', Buffer.from('ours\n'))).stats);
    own.note('b.sh', (await writeFileAtomic(root, 'b.sh', Buffer.from('echo\n'), { mode: 0o644 })).stats);
    await writeFile(join(root, 'a.txt'), 'theirs, longer\n');
    await chmod(join(root, 'b.sh'), 0o755);
    expect(own.isOwn('a.txt', await lstat(join(root, 'a.txt')))).toBe(false);
    expect(own.isOwn('b.sh', await lstat(join(root, 'b.sh')))).toBe(false);
    own.note('a.txt', (await writeFileAtomic(root, 'a.txt', Buffer.from('ours again\n'))).stats);
    expect(own.isOwn('a.txt', await lstat(join(root, 'a.txt')))).toBe(true);
  });

  it('remembers only the writes made last: an older one is read again, as any file would be', async () => {
    const root = await makeTempFolder('own');
    const own = new OwnWrites(2);
    for (const name of ['a.txt', 'b.txt', 'c.txt']) own.note(name, (await writeFileAtomic(root, name, Buffer.from(`${name}\n`))).stats);
    const isOwn = async (name: string) => own.isOwn(name, await lstat(join(root, name)));
    expect([await isOwn('a.txt'), await isOwn('b.txt'), await isOwn('c.txt')]).toEqual([false, true, true]);
    // Writing a path again makes it the newest.
    own.note('b.txt', (await writeFileAtomic(root, 'b.txt', Buffer.from('b again\n'))).stats);
    own.note('d.txt', (await writeFileAtomic(root, 'd.txt', Buffer.from('d\n'))).stats);
    expect([await isOwn('b.txt'), await isOwn('c.txt'), await isOwn('d.txt')]).toEqual([true, false, true]);
  });
});
