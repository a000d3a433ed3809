// The index doc: a Y.Map "files" from a POSIX relative path to a plain JSON entry. Shared by
// the server (materialised files) and the daemon (the folder mirror).
import type * as Y from 'yjs';
import { isValidFileId } from './protocol.js';

export type EntryKind = 'text' | 'binary' | 'symlink';

export interface IndexEntry {
  id: string;
  kind: EntryKind;
  /** Permission bits, 0o644 or 0o755. */
  mode: number;
  size: number;
  /** Content hash of binaries (the blob) and, when known, of text. */
  sha256?: string;
  /** Symlinks: the link's target, relative and inside the folder. */
  target?: string;
}

/**
 * The mode a file's permission bits share: like git, only the executable bit travels, so a
 * teammate's umask (or odd bits a peer plants) is not imposed on others.
 */
export const sharedMode = (mode: number): number => (mode & 0o111 ? 0o755 : 0o644);

/** Text files larger than this travel as blobs, not as Yjs text. */
export const MAX_TEXT_BYTES = 1024 * 1024;

/** The largest file shared at all: the server's default blob limit (a blob goes up in one PUT). */
export const MAX_SHARED_FILE_BYTES = 100 * 1024 * 1024;

export const FILES_MAP = 'files';
export const PROJECT_MAP = 'project';
export const CONTENT_TEXT = 'content';

export const filesMap = (indexDoc: Y.Doc) => indexDoc.getMap<IndexEntry>(FILES_MAP);
export const projectMap = (indexDoc: Y.Doc) => indexDoc.getMap<unknown>(PROJECT_MAP);
export const contentText = (fileDoc: Y.Doc) => fileDoc.getText(CONTENT_TEXT);

/** A well-formed entry, or null: index entries come from the network and are checked. */
export function parseIndexEntry(value: unknown): IndexEntry | null {
  if (!value || typeof value !== 'object') return null;
  const entry = value as Record<string, unknown>;
  if (typeof entry.id !== 'string' || !isValidFileId(entry.id)) return null;
  if (entry.kind !== 'text' && entry.kind !== 'binary' && entry.kind !== 'symlink') return null;
  if (typeof entry.mode !== 'number' || !Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) return null;
  if (typeof entry.size !== 'number' || !Number.isInteger(entry.size) || entry.size < 0) return null;
  if (entry.sha256 !== undefined && (typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha256))) return null;
  if (entry.kind === 'binary' && entry.sha256 === undefined) return null;
  if (entry.kind === 'symlink' && typeof entry.target !== 'string') return null;
  return {
    id: entry.id,
    kind: entry.kind,
    mode: entry.mode,
    size: entry.size,
    ...(entry.sha256 !== undefined ? { sha256: entry.sha256 as string } : {}),
    ...(entry.kind === 'symlink' ? { target: entry.target as string } : {}),
  };
}
