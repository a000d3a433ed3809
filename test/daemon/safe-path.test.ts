import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertSafeIndexPath,
  checkSymlinkTarget,
  isGitSegment,
  isSafeSymlinkTarget,
  resolveInside,
  UnsafePathError,
  type UnsafePathReason,
} from '../../common/safe-path.js';
import { makeTempFolder } from './temp-folders.js';

const hostilePaths: Array<[unknown, UnsafePathReason]> = [
  ['', 'empty'],
  ['/etc/passwd', 'absolute'],
  ['//server/share/x', 'absolute'],
  ['C:/Windows/system32', 'windows-drive'],
  ['c:relative', 'windows-drive'],
  ['a\\..\\..\\x', 'backslash'],
  ['a\0b', 'nul-byte'],
  ['..', 'dot-segment'],
  ['../x', 'dot-segment'],
  ['a/../../x', 'dot-segment'],
  ['a/../b', 'dot-segment'],
  ['.', 'dot-segment'],
  ['a/./b', 'dot-segment'],
  ['a//b', 'empty-segment'],
  ['a/', 'empty-segment'],
  ['.git', 'git-folder'],
  ['.git/config', 'git-folder'],
  ['.GIT/hooks/pre-commit', 'git-folder'],
  ['.Git/config', 'git-folder'],
  ['vendor/lib/.git/hooks/post-checkout', 'git-folder'],
  ['.git./config', 'git-folder'],
  ['.git /config', 'git-folder'],
  ['.git::$INDEX_ALLOCATION/config', 'git-folder'],
  ['git~1/config', 'git-folder'],
  ['.g\u200cit/config', 'git-folder'],
  ['.\ufeffgit/config', 'git-folder'],
  [42, 'not-a-string'],
  [null, 'not-a-string'],
];

describe('assertSafeIndexPath', () => {
  it.each(hostilePaths)('refuses %j (%s)', (path, reason) => {
    expect(() => assertSafeIndexPath(path)).toThrowError(UnsafePathError);
    try {
      assertSafeIndexPath(path);
    } catch (err) {
      expect((err as UnsafePathError).reason).toBe(reason);
    }
  });

  it.each(['a.txt', 'src/index.ts', '.gitignore', '.github/workflows/ci.yml', '.gitkeep', 'a/.git-blame-ignore-revs', 'ünï/😀 file.md', '...', 'a..b/c'])(
    'accepts %j',
    (path) => {
      expect(assertSafeIndexPath(path)).toEqual(path.split('/'));
    },
  );

  it('knows .git in its disguises and nothing else', () => {
    expect(isGitSegment('.git')).toBe(true);
    expect(isGitSegment('.GiT')).toBe(true);
    expect(isGitSegment('.github')).toBe(false);
    expect(isGitSegment('git')).toBe(false);
  });
});

describe('resolveInside', () => {
  it('returns the absolute path under the real root, existing or not', async () => {
    const root = await makeTempFolder('safe');
    expect(await resolveInside(root, 'a/b/c.txt')).toBe(join(root, 'a', 'b', 'c.txt'));
    await mkdir(join(root, 'a'));
    expect(await resolveInside(root, 'a/new.txt')).toBe(join(root, 'a', 'new.txt'));
  });

  it.each(hostilePaths)('refuses %j before touching the disk', async (path, reason) => {
    const root = await makeTempFolder('safe');
    await expect(resolveInside(root, path as string)).rejects.toMatchObject({ name: 'UnsafePathError', reason });
  });

  it('refuses a path whose parent is a symlink to a folder outside root', async () => {
    const root = await makeTempFolder('safe');
    const outside = await makeTempFolder('outside');
    await symlink(outside, join(root, 'escape'));
    await expect(resolveInside(root, 'escape/x.txt')).rejects.toMatchObject({ reason: 'symlink-ancestor' });
    await expect(resolveInside(root, 'escape/deeper/x.txt')).rejects.toMatchObject({ reason: 'symlink-ancestor' });
  });

  it('refuses a symlinked parent even when it points inside root', async () => {
    const root = await makeTempFolder('safe');
    await mkdir(join(root, 'real'));
    await symlink('real', join(root, 'alias'));
    await expect(resolveInside(root, 'alias/x.txt')).rejects.toMatchObject({ reason: 'symlink-ancestor' });
  });

  it('refuses a symlink deep in the chain', async () => {
    const root = await makeTempFolder('safe');
    const outside = await makeTempFolder('outside');
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    await symlink(outside, join(root, 'a', 'b', 'c'));
    await expect(resolveInside(root, 'a/b/c/d/e.txt')).rejects.toMatchObject({ reason: 'symlink-ancestor' });
  });

  it('accepts a path that is itself a symlink: callers replace or unlink it, never write through', async () => {
    const root = await makeTempFolder('safe');
    const outside = await makeTempFolder('outside');
    await symlink(join(outside, 'secret'), join(root, 'link'));
    expect(await resolveInside(root, 'link')).toBe(join(root, 'link'));
  });

  it('works when root itself is reached through a symlink', async () => {
    const real = await makeTempFolder('safe');
    const holder = await makeTempFolder('holder');
    await symlink(real, join(holder, 'root-link'));
    expect(await resolveInside(join(holder, 'root-link'), 'x/y')).toBe(join(real, 'x', 'y'));
  });
});

describe('checkSymlinkTarget', () => {
  it('accepts relative targets that stay inside', async () => {
    const root = await makeTempFolder('link');
    await mkdir(join(root, 'docs'));
    await writeFile(join(root, 'docs', 'guide.md'), 'x');
    expect(await checkSymlinkTarget(root, 'readme.md', 'docs/guide.md')).toEqual({ safe: true, resolvedPath: 'docs/guide.md' });
    expect(await checkSymlinkTarget(root, 'a/b/link', '../../docs')).toEqual({ safe: true, resolvedPath: 'docs' });
    // Dangling but inside: fine, the target may arrive later in the same sync.
    expect(await isSafeSymlinkTarget(root, 'link', 'not-yet/there.txt')).toBe(true);
  });

  it.each<[string, string, UnsafePathReason]>([
    ['link', '../outside', 'outside-root'],
    ['a/link', '../../x', 'outside-root'],
    ['a/link', 'b/../../../x', 'outside-root'],
    ['link', '/etc/passwd', 'absolute'],
    ['link', 'C:/Windows', 'windows-drive'],
    ['link', 'a\\b', 'backslash'],
    ['link', '', 'empty'],
    ['link', 'a\0b', 'nul-byte'],
    ['link', '.', 'outside-root'],
    ['a/link', '..', 'outside-root'],
    ['link', '.git/config', 'git-folder'],
    ['a/link', '../.GIT', 'git-folder'],
    ['../link', 'x', 'dot-segment'],
  ])('refuses %j -> %j (%s)', async (linkPath, target, reason) => {
    const root = await makeTempFolder('link');
    expect(await checkSymlinkTarget(root, linkPath, target)).toMatchObject({ safe: false, reason });
  });

  it('refuses a target that leaves through another symlink', async () => {
    const root = await makeTempFolder('link');
    const outside = await makeTempFolder('outside');
    await writeFile(join(outside, 'secret'), 's');
    await symlink(outside, join(root, 'escape'));
    expect(await isSafeSymlinkTarget(root, 'innocent', 'escape/secret')).toBe(false);
    expect(await isSafeSymlinkTarget(root, 'innocent', 'escape/not-there')).toBe(false);
    expect(await isSafeSymlinkTarget(root, 'innocent', 'escape')).toBe(false);
  });

  it('refuses a loop of links', async () => {
    const root = await makeTempFolder('link');
    await symlink('b', join(root, 'a'));
    await symlink('a', join(root, 'b'));
    expect(await isSafeSymlinkTarget(root, 'c', 'a')).toBe(false);
  });
});
