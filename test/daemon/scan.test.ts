import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { IgnoreRules } from '../../common/ignore-rules.js';
import { scanFolder, type ScanCache, type ScannedEntry } from '../../daemon/scan.js';
import { makeTempFolder } from './temp-folders.js';

const run = promisify(execFile);

function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes a file with an explicit mode, so the expected modes do not depend on the umask. */
async function put(root: string, path: string, content: Buffer | string, mode = 0o644): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  await chmod(join(root, path), mode);
}

describe('scanFolder', () => {
  it('reports a mixed tree as the index would record it', async () => {
    const root = await makeTempFolder('scan');
    const outside = await makeTempFolder('outside');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]);
    await put(root, '.gitignore', 'dist/\n*.log\n');
    await put(root, 'README.md', '# project\r\n');
    await put(root, 'src/index.ts', 'export const answer = 42;\n');
    await put(root, 'src/deep/er/util.ts', '😀', 0o600);
    await put(root, 'src/.gitignore', 'generated.ts\n');
    await put(root, 'src/generated.ts', 'ignored by the nested rule');
    await put(root, 'assets/logo.png', png);
    await put(root, 'bin/run.sh', '#!/bin/sh\necho hi\n', 0o755);
    await put(root, 'dist/bundle.js', 'ignored');
    await put(root, 'debug.log', 'ignored');
    await put(root, 'node_modules/pkg/index.js', 'ignored');
    await put(root, 'packages/a/node_modules/x.js', 'ignored');
    await put(root, '.git/HEAD', 'ref: refs/heads/main\n');
    await put(root, '.env', 'SECRET=1');
    await put(root, 'big.txt', 'a'.repeat(2048));
    await put(outside, 'secret.txt', 'outside');
    await symlink('src/index.ts', join(root, 'link-inside'));
    await symlink('../../README.md', join(root, 'src', 'deep', 'readme-link'));
    await symlink(join(outside, 'secret.txt'), join(root, 'link-absolute'));
    await symlink('../outside-folder', join(root, 'link-escaping'));
    await symlink('src/missing.ts', join(root, 'link-dangling'));

    const rules = await IgnoreRules.load(root);
    const { entries, skipped } = await scanFolder(root, rules, { maxTextBytes: 1024 });

    const expected: ScannedEntry[] = [
      { path: '.gitignore', kind: 'text', mode: 0o644, size: 12, sha256: sha256('dist/\n*.log\n') },
      { path: 'README.md', kind: 'text', mode: 0o644, size: 11, sha256: sha256('# project\r\n') },
      { path: 'assets/logo.png', kind: 'binary', mode: 0o644, size: png.length, sha256: sha256(png) },
      { path: 'big.txt', kind: 'binary', mode: 0o644, size: 2048, sha256: sha256('a'.repeat(2048)) },
      { path: 'bin/run.sh', kind: 'text', mode: 0o755, size: 18, sha256: sha256('#!/bin/sh\necho hi\n') },
      { path: 'link-dangling', kind: 'symlink', mode: 0o777, size: 14, sha256: sha256('src/missing.ts'), target: 'src/missing.ts' },
      { path: 'link-inside', kind: 'symlink', mode: 0o777, size: 12, sha256: sha256('src/index.ts'), target: 'src/index.ts' },
      { path: 'src/.gitignore', kind: 'text', mode: 0o644, size: 13, sha256: sha256('generated.ts\n') },
      { path: 'src/deep/er/util.ts', kind: 'text', mode: 0o600, size: 4, sha256: sha256('😀') },
      { path: 'src/deep/readme-link', kind: 'symlink', mode: 0o777, size: 15, sha256: sha256('../../README.md'), target: '../../README.md' },
      { path: 'src/index.ts', kind: 'text', mode: 0o644, size: 26, sha256: sha256('export const answer = 42;\n') },
    ];
    // Symlink permission bits are whatever the system gives links; only Linux promises 0o777.
    const normalise = (list: ScannedEntry[]): ScannedEntry[] =>
      list.map((entry) => (entry.kind === 'symlink' ? { ...entry, mode: 0o777 } : entry));
    expect(normalise(entries)).toEqual(expected);
    expect(skipped).toEqual([
      { path: 'link-absolute', reason: 'unsafe-symlink', detail: `absolute: ${JSON.stringify(join(outside, 'secret.txt'))}` },
      { path: 'link-escaping', reason: 'unsafe-symlink', detail: 'outside-root: "../outside-folder"' },
    ]);
  });

  it('skips a symlink whose target escapes through another symlink', async () => {
    const root = await makeTempFolder('scan');
    const outside = await makeTempFolder('outside');
    await put(outside, 'secret.txt', 'outside');
    await symlink(outside, join(root, 'portal'));
    await symlink('portal/secret.txt', join(root, 'sneaky'));
    const { entries, skipped } = await scanFolder(root, await IgnoreRules.load(root));
    expect(entries).toEqual([]);
    expect(skipped.map((skip) => [skip.path, skip.reason])).toEqual([
      ['portal', 'unsafe-symlink'],
      ['sneaky', 'unsafe-symlink'],
    ]);
  });

  it('skips FIFOs and names the index cannot carry', async () => {
    const root = await makeTempFolder('scan');
    await run('mkfifo', [join(root, 'pipe')]);
    await put(root, 'back\\slash.txt', 'x');
    await put(root, 'ok.txt', 'x');
    const { entries, skipped } = await scanFolder(root, await IgnoreRules.load(root));
    expect(entries.map((entry) => entry.path)).toEqual(['ok.txt']);
    expect(skipped).toEqual([
      { path: 'back\\slash.txt', reason: 'unsafe-path', detail: 'backslash' },
      { path: 'pipe', reason: 'special-file' },
    ]);
  });

  it('reports names that are not UTF-8, special files and files over maxFileBytes, and scans the rest', async () => {
    const root = await makeTempFolder('scan');
    const named = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => Buffer.from(part as string)));
    writeFileSync(named(`${root}/bad`, [0xff], '.txt'), 'x');
    writeFileSync(named(`${root}/debug`, [0xfe], '.log'), 'ignored by *.log');
    mkdirSync(named(`${root}/dir`, [0xe9]));
    writeFileSync(named(`${root}/dir`, [0xe9], '/inside.txt'), 'never listed');
    await put(root, '.gitignore', '*.log\n');
    await put(root, 'src/ok.txt', 'fine');
    await put(root, 'src/at-limit.bin', Buffer.alloc(64));
    await put(root, 'src/over-limit.bin', Buffer.alloc(65));
    symlinkSync(named('target', [0xff]), join(root, 'src', 'link-to-bad-name'));
    execFileSync('mkfifo', [join(root, 'src', 'pipe')]);

    const { entries, skipped } = await scanFolder(root, await IgnoreRules.load(root), { maxFileBytes: 64 });
    expect(entries.map((entry) => entry.path)).toEqual(['.gitignore', 'src/at-limit.bin', 'src/ok.txt']);
    expect(skipped).toEqual([
      { path: 'bad\\xff.txt', reason: 'invalid-name' },
      { path: 'dir\\xe9', reason: 'invalid-name', detail: 'folder' },
      { path: 'src/link-to-bad-name', reason: 'invalid-name', detail: 'symlink-target' },
      { path: 'src/over-limit.bin', reason: 'too-large', size: 65, limit: 64 },
      { path: 'src/pipe', reason: 'special-file' },
    ]);
  });

  it('has no size limit unless given one, and applies a lower one to cached files too', async () => {
    const root = await makeTempFolder('scan');
    await put(root, 'big.bin', Buffer.alloc(4096));
    const rules = await IgnoreRules.load(root);
    const cache: ScanCache = new Map();
    expect((await scanFolder(root, rules, { cache })).skipped).toEqual([]);
    // Seen from a minute later, the file is not racily clean: its hash is cached.
    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now + 60_000);
    try {
      expect((await scanFolder(root, rules, { cache })).entries).toHaveLength(1);
      expect(cache.size).toBe(1);
      const limited = await scanFolder(root, rules, { cache, maxFileBytes: 4095 });
      expect(limited.entries).toEqual([]);
      expect(limited.skipped).toEqual([{ path: 'big.bin', reason: 'too-large', size: 4096, limit: 4095 }]);
      expect(cache.size).toBe(0);
    } finally {
      clock.mockRestore();
    }
  });

  it('classifies exactly at the size limit', async () => {
    const root = await makeTempFolder('scan');
    await put(root, 'at-limit.txt', 'x'.repeat(100));
    await put(root, 'over-limit.txt', 'x'.repeat(101));
    const { entries } = await scanFolder(root, await IgnoreRules.load(root), { maxTextBytes: 100 });
    expect(entries.map((entry) => [entry.path, entry.kind, entry.size])).toEqual([
      ['at-limit.txt', 'text', 100],
      ['over-limit.txt', 'binary', 101],
    ]);
  });

  it('hashes a file larger than its read buffer in pieces, correctly', async () => {
    const root = await makeTempFolder('scan');
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    await put(root, 'large.bin', bytes);
    const { entries } = await scanFolder(root, await IgnoreRules.load(root));
    expect(entries).toMatchObject([{ path: 'large.bin', kind: 'binary', size: bytes.length, sha256: sha256(bytes) }]);
  });

  it('scans 5,000 files and 50 MB quickly', async () => {
    const root = await makeTempFolder('scan-big');
    const content = Buffer.alloc(10 * 1024, 'abcdefghij\n');
    const writes: Promise<void>[] = [];
    for (let folder = 0; folder < 50; folder++) {
      await mkdir(join(root, `pkg${folder}`, 'src'), { recursive: true });
      for (let file = 0; file < 100; file++) {
        writes.push(writeFile(join(root, `pkg${folder}`, 'src', `file${file}.ts`), content));
      }
    }
    await Promise.all(writes);
    const rules = await IgnoreRules.load(root);
    const { entries, skipped } = await scanFolder(root, rules);
    expect(entries).toHaveLength(5000);
    expect(skipped).toEqual([]);
    expect(entries.every((entry) => entry.kind === 'text' && entry.size === 10 * 1024)).toBe(true);
  });
});
