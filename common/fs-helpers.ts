// Small file-system helpers the CLI, the daemon and the shared code all need, defined once.
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import pLimit from 'p-limit';

/** Folders listed at once by a walk: one after another, a 2,500-folder tree's walks were the longest waits of a daemon's start. */
const LIST_CONCURRENCY = 16;

/** The errno code of a file-system error (ENOENT, EACCES, ...), or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Whether `candidate` is `folder` itself or somewhere below it (both absolute, no `..` games). */
export function isInside(folder: string, candidate: string): boolean {
  const rel = relative(folder, candidate);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** SHA-256 of bytes (or a string's UTF-8), in hex: how codeshare names content. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The entries of each of `folders` (relative to `root`), listed LIST_CONCURRENCY at a time, in
 * the order given; a folder that cannot be listed (gone, unreadable) has the error instead.
 */
export function listFolders(root: string, folders: string[]): Promise<(Dirent[] | Error)[]> {
  const limit = pLimit(LIST_CONCURRENCY);
  return Promise.all(folders.map((folder) => limit(() => readdir(join(root, folder), { withFileTypes: true }).catch((err: Error) => err))));
}

/** A folder's child, as a path relative to the root ('' is the root). */
export const childPath = (folder: string, name: string): string => (folder === '' ? name : `${folder}/${name}`);
