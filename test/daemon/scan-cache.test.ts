// The scan's cache kept in the local store: after a restart, a rescan reads only the files whose
// stat changed, and a file rewritten in place with its size and mtime put back is still read.
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IgnoreRules } from '../../common/ignore-rules.js';
import { BaseStore } from '../../daemon/base-store.js';
import { sha256Hex } from '../../daemon/file-content.js';
import { KeptScanCache } from '../../daemon/scan-cache.js';
import { scanFolder } from '../../daemon/scan.js';
import { statSignature } from '../../daemon/stat-signature.js';

const MAX_TEXT = 1024 * 1024;
let root: string;
let storeDir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'codeshare-scan-cache-'));
  storeDir = await mkdtemp(join(tmpdir(), 'codeshare-scan-cache-store-'));
  // Seen from a minute on, no file is racily clean: its hash may be cached.
  const now = Date.now();
  vi.spyOn(Date, 'now').mockReturnValue(now + 60_000);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all([rm(root, { recursive: true, force: true }), rm(storeDir, { recursive: true, force: true })]);
});

/** A daemon's run: the store opened, a cache kept in it, scans through it, the store closed. */
async function run<T>(work: (scan: () => ReturnType<typeof scanFolder>, cache: KeptScanCache) => Promise<T>): Promise<T> {
  const store = await BaseStore.open(storeDir);
  const cache = new KeptScanCache(() => store.scans, MAX_TEXT);
  const rules = await IgnoreRules.load(root);
  try {
    return await work(async () => {
      await cache.load();
      return scanFolder(root, rules, { cache, maxTextBytes: MAX_TEXT });
    }, cache);
  } finally {
    await store.close();
  }
}

describe('KeptScanCache', () => {
  it('lets a rescan after a restart read only the files that changed, ctime included', async () => {
    for (let i = 0; i < 20; i++) await writeFile(join(root, `file-${i}.txt`), `file ${i}\n`);
    // A whole second, so the mtime put back below is exactly the one the scan saw.
    const second = Math.floor(Date.now() / 1000) - 3600;
    await utimes(join(root, 'file-2.txt'), second, second);
    expect((await run((scan) => scan())).filesRead).toBe(20);

    // Stopped meanwhile: one file edited, one rewritten in place at its size with its mtime put back.
    await writeFile(join(root, 'file-1.txt'), 'edited 1\n');
    const sneaky = join(root, 'file-2.txt');
    const before = await stat(sneaky);
    await writeFile(sneaky, 'FILE 2\n');
    await utimes(sneaky, second, second);
    const after = await stat(sneaky);
    expect([after.ino, after.size, after.mtimeMs, after.mode]).toEqual([before.ino, before.size, before.mtimeMs, before.mode]);

    const again = await run((scan) => scan());
    expect(again.filesRead).toBe(2);
    const sha = (path: string) => again.entries.find((entry) => entry.path === path)?.sha256;
    expect(sha('file-1.txt')).toBe(sha256Hex(Buffer.from('edited 1\n')));
    expect(sha('file-2.txt')).toBe(sha256Hex(Buffer.from('FILE 2\n')));
    expect(sha('file-3.txt')).toBe(sha256Hex(Buffer.from('file 3\n')));
  });

  it("keeps a daemon's own write once a scan has found it unchanged, and forgets a removed file", async () => {
    const path = join(root, 'written.txt');
    await writeFile(path, 'written by the daemon\n');
    await writeFile(join(root, 'gone.txt'), 'soon gone\n');
    await run(async (scan, cache) => {
      await cache.load();
      const bytes = await readFile(path);
      // Noted as the daemon notes its writes: without ctime, so not kept yet.
      cache.set('written.txt', { signature: statSignature(await stat(path), { withCtime: false }), entry: { path: 'written.txt', kind: 'text', mode: 0o644, size: bytes.length, sha256: sha256Hex(bytes) } });
      expect((await scan()).filesRead).toBe(1);
    });
    await rm(join(root, 'gone.txt'));
    expect((await run((scan) => scan())).filesRead).toBe(0);
    await writeFile(join(root, 'gone.txt'), 'back\n');
    expect((await run((scan) => scan())).filesRead).toBe(1);
  });

  it('drops records made under another text limit, whose kinds may differ', async () => {
    await writeFile(join(root, 'a.txt'), 'a\n');
    await run((scan) => scan());
    const store = await BaseStore.open(storeDir);
    try {
      expect((await store.scans.loadAll(MAX_TEXT)).size).toBe(1);
      expect((await store.scans.loadAll(MAX_TEXT / 2)).size).toBe(0);
      expect((await store.scans.loadAll(MAX_TEXT)).size).toBe(0);
    } finally {
      await store.close();
    }
  });
});
