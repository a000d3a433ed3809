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

