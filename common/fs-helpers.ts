// Small file-system helpers the CLI, the daemon and the shared code all need, defined once.
import { createHash } from 'node:crypto';
import { isAbsolute, relative, sep } from 'node:path';

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
