import { chmod, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSymlinkSafe, removeFileSafe, TEMP_FILE_PREFIX, writeFileAtomic } from '../../common/atomic-write.js';
import { IgnoreRules } from '../../common/ignore-rules.js';
import { UnsafePathError } from '../../common/safe-path.js';
import { makeTempFolder } from './temp-folders.js';

async function listRecursive(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true });
  return entries.map(String).sort();
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('writeFileAtomic', () => {
  it('writes exact bytes and creates missing parent folders', async () => {
    const root = await makeTempFolder('write');
    const bytes = Buffer.from('\ufeffline one\r\nline two 😀', 'utf8');
    const written = await writeFileAtomic(root, 'a/b/c/file.txt', bytes);
    expect(written.absPath).toBe(join(root, 'a', 'b', 'c', 'file.txt'));
    expect(Buffer.compare(await readFile(written.absPath), bytes)).toBe(0);
    expect(await listRecursive(root)).toEqual(['a', 'a/b', 'a/b/c', 'a/b/c/file.txt']);
  });

  it('replaces an existing file and keeps its mode', async () => {
    const root = await makeTempFolder('write');
    await writeFile(join(root, 'secret.txt'), 'old');
    await chmod(join(root, 'secret.txt'), 0o600);
    const written = await writeFileAtomic(root, 'secret.txt', Buffer.from('new'));
    expect(await readFile(join(root, 'secret.txt'), 'utf8')).toBe('new');
    expect(await modeOf(join(root, 'secret.txt'))).toBe(0o600);
    expect(written.mode).toBe(0o600);

    await chmod(join(root, 'secret.txt'), 0o755);
    await writeFileAtomic(root, 'secret.txt', Buffer.from('newer'));
    expect(await modeOf(join(root, 'secret.txt'))).toBe(0o755);
  });

  it('sets the executable bit when asked, on new and existing files', async () => {
    const root = await makeTempFolder('write');
    await writeFileAtomic(root, 'bin/run.sh', Buffer.from('#!/bin/sh\n'), { mode: 0o755 });
    expect(await modeOf(join(root, 'bin', 'run.sh'))).toBe(0o755);
    await writeFile(join(root, 'tool'), 'x');
    await chmod(join(root, 'tool'), 0o644);
    await writeFileAtomic(root, 'tool', Buffer.from('y'), { mode: 0o755 });
    expect(await modeOf(join(root, 'tool'))).toBe(0o755);
    await writeFileAtomic(root, 'tool', Buffer.from('z'), { mode: 0o644 });
    expect(await modeOf(join(root, 'tool'))).toBe(0o644);
  });

  it('drops setuid, setgid and sticky bits from a requested mode', async () => {
    const root = await makeTempFolder('write');
    await writeFileAtomic(root, 'suid', Buffer.from('x'), { mode: 0o7755 });
    expect((await stat(join(root, 'suid'))).mode & 0o7777).toBe(0o755);
  });

  it('never writes through a symlinked parent folder, even a missing deeper one', async () => {
    const root = await makeTempFolder('write');
    const outside = await makeTempFolder('outside');
    await symlink(outside, join(root, 'escape'));
    await expect(writeFileAtomic(root, 'escape/evil.txt', Buffer.from('x'))).rejects.toBeInstanceOf(UnsafePathError);
    await expect(writeFileAtomic(root, 'escape/new/evil.txt', Buffer.from('x'))).rejects.toMatchObject({ reason: 'symlink-ancestor' });
    expect(await readdir(outside)).toEqual([]);
  });

  it('replaces a symlink at the target instead of writing through it', async () => {
    const root = await makeTempFolder('write');
    const outside = await makeTempFolder('outside');
    await writeFile(join(outside, 'victim'), 'untouched');
    await symlink(join(outside, 'victim'), join(root, 'file.txt'));
    await writeFileAtomic(root, 'file.txt', Buffer.from('mine'));
    expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('untouched');
    expect((await lstat(join(root, 'file.txt'))).isFile()).toBe(true);
    expect(await readFile(join(root, 'file.txt'), 'utf8')).toBe('mine');
  });

  it.each(['../escape.txt', '/tmp/absolute.txt', '.git/config', '.GIT/hooks/pre-commit', 'a/../../x', 'a\\b'])(
    'refuses %j and creates nothing',
    async (path) => {
      const root = await makeTempFolder('write');
      await expect(writeFileAtomic(root, path, Buffer.from('x'))).rejects.toBeInstanceOf(UnsafePathError);
      expect(await readdir(root)).toEqual([]);
    },
  );

  it('refuses to replace a folder with a file and leaves no temp file', async () => {
    const root = await makeTempFolder('write');
    await mkdir(join(root, 'folder'));
    await writeFile(join(root, 'folder', 'inside'), 'x');
    await expect(writeFileAtomic(root, 'folder', Buffer.from('x'))).rejects.toMatchObject({ code: 'EISDIR' });
    expect(await listRecursive(root)).toEqual(['folder', 'folder/inside']);
  });

  it('refuses a parent path that is a file', async () => {
    const root = await makeTempFolder('write');
    await writeFile(join(root, 'plain'), 'x');
    await expect(writeFileAtomic(root, 'plain/child.txt', Buffer.from('y'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(await listRecursive(root)).toEqual(['plain']);
  });

  it('removes its temp file when writing fails midway', async () => {
    const root = await makeTempFolder('write');
    await writeFile(join(root, 'keep.txt'), 'original');
    // Not bytes: the handle opens, the temp file exists, then the write throws.
    const notBytes = 12345 as unknown as Uint8Array;
    await expect(writeFileAtomic(root, 'keep.txt', notBytes)).rejects.toThrow();
    expect(await readdir(root)).toEqual(['keep.txt']);
    expect(await readFile(join(root, 'keep.txt'), 'utf8')).toBe('original');
  });

  it('names temp files so the watcher ignores them', async () => {
    const root = await makeTempFolder('write');
    const rules = await IgnoreRules.load(root);
    expect(rules.ignores(`${TEMP_FILE_PREFIX}0123456789abcdef`, false)).toBe(true);
    expect(rules.ignores(`src/deep/${TEMP_FILE_PREFIX}0123456789abcdef`, false)).toBe(true);
  });

  it('survives 20 concurrent writes to one file with one of the contents', async () => {
    const root = await makeTempFolder('write');
    const contents = Array.from({ length: 20 }, (_, i) => `version ${i}\n`.repeat(1000));
    await Promise.all(contents.map((content) => writeFileAtomic(root, 'race.txt', Buffer.from(content))));
    expect(contents).toContain(await readFile(join(root, 'race.txt'), 'utf8'));
    expect(await readdir(root)).toEqual(['race.txt']);
  });
});

describe('removeFileSafe', () => {
  it('removes the file and the folders it leaves empty, never root', async () => {
    const root = await makeTempFolder('remove');
    await writeFileAtomic(root, 'a/b/c/only.txt', Buffer.from('x'));
    await writeFileAtomic(root, 'a/sibling.txt', Buffer.from('x'));
    expect(await removeFileSafe(root, 'a/b/c/only.txt')).toBe(true);
    expect(await listRecursive(root)).toEqual(['a', 'a/sibling.txt']);
    expect(await removeFileSafe(root, 'a/sibling.txt')).toBe(true);
    expect(await readdir(root)).toEqual([]);
    expect((await stat(root)).isDirectory()).toBe(true);
  });

  it('keeps a folder that still holds an ignored file', async () => {
    const root = await makeTempFolder('remove');
    await writeFileAtomic(root, 'src/main.ts', Buffer.from('x'));
    await writeFile(join(root, 'src', '.DS_Store'), 'finder');
    await removeFileSafe(root, 'src/main.ts');
    expect(await listRecursive(root)).toEqual(['src', 'src/.DS_Store']);
  });

  it('says false when there is nothing to remove', async () => {
    const root = await makeTempFolder('remove');
    expect(await removeFileSafe(root, 'missing.txt')).toBe(false);
    expect(await removeFileSafe(root, 'missing/deeper.txt')).toBe(false);
  });

  it('removes a symlink, not what it points to', async () => {
    const root = await makeTempFolder('remove');
    const outside = await makeTempFolder('outside');
    await writeFile(join(outside, 'victim'), 'untouched');
    await symlink(join(outside, 'victim'), join(root, 'link'));
    expect(await removeFileSafe(root, 'link')).toBe(true);
    expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('untouched');
    expect(await readdir(root)).toEqual([]);
  });

  it('refuses to remove through a symlinked folder', async () => {
    const root = await makeTempFolder('remove');
    const outside = await makeTempFolder('outside');
    await writeFile(join(outside, 'victim'), 'untouched');
    await symlink(outside, join(root, 'escape'));
    await expect(removeFileSafe(root, 'escape/victim')).rejects.toMatchObject({ reason: 'symlink-ancestor' });
    expect(await readdir(outside)).toEqual(['victim']);
  });

  it('refuses .git and folders', async () => {
    const root = await makeTempFolder('remove');
    await mkdir(join(root, '.git'));
    await writeFile(join(root, '.git', 'HEAD'), 'ref');
    await mkdir(join(root, 'folder'));
    await expect(removeFileSafe(root, '.git/HEAD')).rejects.toMatchObject({ reason: 'git-folder' });
    await expect(removeFileSafe(root, 'folder')).rejects.toMatchObject({ code: 'EISDIR' });
    expect(await listRecursive(root)).toEqual(['.git', '.git/HEAD', 'folder']);
  });
});

describe('createSymlinkSafe', () => {
  it('creates a relative symlink inside the folder, with its parents', async () => {
    const root = await makeTempFolder('symlink');
    await writeFileAtomic(root, 'docs/guide.md', Buffer.from('# guide'));
    await createSymlinkSafe(root, 'links/readme.md', '../docs/guide.md');
    expect(await readlink(join(root, 'links', 'readme.md'))).toBe('../docs/guide.md');
    expect(await readFile(join(root, 'links', 'readme.md'), 'utf8')).toBe('# guide');
  });

  it('replaces an existing file or symlink atomically', async () => {
    const root = await makeTempFolder('symlink');
    await writeFile(join(root, 'entry'), 'file');
    await createSymlinkSafe(root, 'entry', 'a');
    expect(await readlink(join(root, 'entry'))).toBe('a');
    await createSymlinkSafe(root, 'entry', 'b');
    expect(await readlink(join(root, 'entry'))).toBe('b');
    expect(await readdir(root)).toEqual(['entry']);
  });

  it.each([
    ['outside', '../outside'],
    ['absolute', '/etc/passwd'],
    ['into .git', '.git/config'],
    ['the root itself', '.'],
  ])('refuses a target %s', async (_label, target) => {
    const root = await makeTempFolder('symlink');
    await expect(createSymlinkSafe(root, 'link', target)).rejects.toBeInstanceOf(UnsafePathError);
    expect(await readdir(root)).toEqual([]);
  });

  it('refuses a target that escapes through an existing symlink', async () => {
    const root = await makeTempFolder('symlink');
    const outside = await makeTempFolder('outside');
    await symlink(outside, join(root, 'escape'));
    await expect(createSymlinkSafe(root, 'link', 'escape/x')).rejects.toMatchObject({ reason: 'outside-root' });
    expect(await readdir(root)).toEqual(['escape']);
  });
});
