// What the last `codeshare pull` put in a folder, kept in the state folder (never inside the
// pulled folder, which must hold exactly the project). It lets a later pull remove files the
// project deleted from a folder pull itself created, and only files still as pull left them.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { codesharePaths } from '../common/paths.js';
import { sha256Hex } from '../common/fs-helpers.js';

export interface PullManifest {
  version: 1;
  /** Real path of the folder. */
  folder: string;
  server: string;
  projectId: string;
  /** The folder did not exist before the first pull into it, so everything pull wrote is pull's. */
  createdByPull: boolean;
  /** Path -> sha256 of what pull left there (for a symlink, of its target string). */
  files: Record<string, string>;
}

function manifestFile(folderRealPath: string): string {
  const key = sha256Hex(folderRealPath).slice(0, 32);
  return join(codesharePaths().stateDir, 'pulls', `${key}.json`);
}

export async function readPullManifest(folderRealPath: string): Promise<PullManifest | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(manifestFile(folderRealPath), 'utf8'));
  } catch {
    // Missing or damaged: either way this folder is treated as one pull did not create.
    return null;
  }
  const manifest = parsed as Partial<PullManifest> | null;
  if (
    manifest?.version !== 1 ||
    manifest.folder !== folderRealPath ||
    typeof manifest.server !== 'string' ||
    typeof manifest.projectId !== 'string' ||
    typeof manifest.createdByPull !== 'boolean' ||
    !manifest.files ||
    typeof manifest.files !== 'object'
  ) {
    return null;
  }
  return manifest as PullManifest;
}

export async function writePullManifest(manifest: PullManifest): Promise<void> {
  const file = manifestFile(manifest.folder);
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(manifest)}\n`, { mode: 0o600 });
  await rename(temp, file);
}
