// Real folders under the OS temp folder, each removed after the test that made it.
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

const created: string[] = [];

afterEach(async () => {
  const folders = created.splice(0);
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

/** A fresh empty folder, by its real path (macOS puts tmpdir behind a symlink). */
export async function makeTempFolder(label: string): Promise<string> {
  const folder = await realpath(await mkdtemp(join(tmpdir(), `codeshare-${label}-`)));
  created.push(folder);
  return folder;
}

/** A small seeded PRNG (mulberry32), so random tests replay exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
