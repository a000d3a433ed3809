// How a folder's file system compares names, and which project paths therefore cannot all be
// written there. On macOS and Windows `README.md` and `readme.md` are one file (and on macOS so
// are the NFC and NFD forms of `é`): writing both would make them overwrite each other in a loop.
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface FolderNaming {
  caseInsensitive: boolean;
  /** Names that differ only in NFC/NFD normalisation are the same file. */
  unicodeInsensitive: boolean;
}

/**
 * The values of CODESHARE_FOLDER_NAMING, which the caller reads and passes as the override: the
 * tests use it to run a case-insensitive daemon on Linux; in real use the probe decides.
 */
const NAMING_OVERRIDES: Readonly<Record<string, FolderNaming>> = {
  sensitive: { caseInsensitive: false, unicodeInsensitive: false },
  'case-insensitive': { caseInsensitive: true, unicodeInsensitive: false },
  'unicode-insensitive': { caseInsensitive: false, unicodeInsensitive: true },
  'case-insensitive,unicode-insensitive': { caseInsensitive: true, unicodeInsensitive: true },
};

/** Folders read while looking for evidence: a name with a letter is almost always near the root. */
const MAX_FOLDERS_READ = 8;

export function parseFolderNaming(value: string): FolderNaming {
  // hasOwn: `constructor` and friends are not namings.
  const naming = Object.hasOwn(NAMING_OVERRIDES, value) ? NAMING_OVERRIDES[value] : undefined;
  if (!naming) {
    const valid = Object.keys(NAMING_OVERRIDES).join(', ');
    throw new Error(`CODESHARE_FOLDER_NAMING=${JSON.stringify(value)} is not valid; use one of: ${valid}`);
  }
  return { ...naming };
}

/** What a file system usually does on this platform: the answer when the folder offers no evidence. */
export function platformNaming(platform: NodeJS.Platform): FolderNaming {
  if (platform === 'darwin') return { caseInsensitive: true, unicodeInsensitive: true };
  if (platform === 'win32') return { caseInsensitive: true, unicodeInsensitive: false };
  return { caseInsensitive: false, unicodeInsensitive: false };
}

/**
 * Learns how `root` compares names without writing into it: a folder may be read-only, watched by
 * an editor, or shared, and a probe file would show up in the project. An empty override counts
 * as none, because a shell often leaves a variable set but empty.
 */
export async function probeFolderNaming(root: string, override?: string): Promise<FolderNaming> {
  if (override !== undefined && override !== '') return parseFolderNaming(override);
  const evidence = await namingEvidence(root);
  const fallback = platformNaming(process.platform);
  return {
    caseInsensitive: evidence.caseInsensitive ?? fallback.caseInsensitive,
    unicodeInsensitive: evidence.unicodeInsensitive ?? fallback.unicodeInsensitive,
  };
}

/**
 * Looks up existing entries under another spelling of their names. Breadth first, so the answer
 * comes from as near the root as possible: a mount below it, or ext4's per-folder casefold, may
 * compare differently. `.git` only when nothing else has a usable name, as the daemon never
 * writes there. A field left out means no evidence was found.
 */
export async function namingEvidence(root: string): Promise<Partial<FolderNaming>> {
  const evidence: Partial<FolderNaming> = {};
  const folders = [root];
  const gitFolders: string[] = [];
  for (let read = 0; read < MAX_FOLDERS_READ; read++) {
    const folder = folders.shift() ?? gitFolders.shift();
    if (folder === undefined) break;
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      continue; // unreadable or gone: another folder may still tell
    }
    const names = new Set(entries.map((entry) => entry.name));
    for (const entry of entries) {
      const name = entry.name;
      if (name === '.git') {
        if (entry.isDirectory()) gitFolders.push(join(folder, name));
        continue;
      }
      const flipped = flipAsciiCase(name);
      if (evidence.caseInsensitive === undefined && flipped !== name) {
        evidence.caseInsensitive = await isSameEntry(folder, name, flipped, names);
      }
      const [nfc, nfd] = [name.normalize('NFC'), name.normalize('NFD')];
      if (evidence.unicodeInsensitive === undefined && nfc !== nfd) {
        evidence.unicodeInsensitive = await isSameEntry(folder, name, name === nfc ? nfd : nfc, names);
      }
      if (evidence.caseInsensitive !== undefined && evidence.unicodeInsensitive !== undefined) return evidence;
      if (entry.isDirectory()) folders.push(join(folder, name));
    }
  }
  return evidence;
}

/**
 * ASCII letters only: every case-insensitive file system folds them, while folding beyond ASCII
 * differs between them (NTFS's upcase table, APFS's Unicode folding).
 */
function flipAsciiCase(name: string): string {
  return name.replace(/[a-z]/gi, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
}

/** `undefined` when the answer is unclear (the entry vanished, access denied): look elsewhere. */
async function isSameEntry(folder: string, name: string, other: string, names: Set<string>): Promise<boolean | undefined> {
  // Both names listed: two entries, so the file system tells them apart (even if hard-linked).
  if (names.has(other)) return false;
  // bigint: NTFS file ids do not fit in a double.
  const original = await lstat(join(folder, name), { bigint: true }).catch(() => undefined);
  if (!original) return undefined;
  try {
    const lookedUp = await lstat(join(folder, other), { bigint: true });
    return original.dev === lookedUp.dev && original.ino === lookedUp.ino;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? false : undefined;
  }
}

/**
 * The name under which the file system sees `path`. The fold covers the whole path because folder
 * names fold too: `Docs/a.md` and `docs/a.md` are one file. toLowerCase, not toLocaleLowerCase,
 * so every machine computes the same key; it approximates each file system's own folding. NFC
 * again after lowercasing, since that can leave a composable pair (`W\u030A` -> `w\u030A`, `ẘ`).
 */
export function nameKey(path: string, naming: FolderNaming): string {
  const normalised = naming.unicodeInsensitive ? path.normalize('NFC') : path;
  if (!naming.caseInsensitive) return normalised;
  const lowered = normalised.toLowerCase();
  return naming.unicodeInsensitive ? lowered.normalize('NFC') : lowered;
}

/**
 * For each group of project paths with one key, the paths not written here, each mapped to the
 * path it yields to. The winner is the smallest in UTF-16 code-unit order, never the first seen:
 * every machine, whatever its order of events, writes the same one, so two insensitive daemons
 * agree and neither keeps replacing the other's file.
 */
export function findCollisions(paths: Iterable<string>, naming: FolderNaming): Map<string, string> {
  const shadowed = new Map<string, string>();
  if (!naming.caseInsensitive && !naming.unicodeInsensitive) return shadowed;
  const groups = new Map<string, Set<string>>();
  for (const path of paths) {
    const key = nameKey(path, naming);
    const group = groups.get(key);
    if (group) group.add(path);
    else groups.set(key, new Set([path]));
  }
  for (const group of groups.values()) {
    if (group.size < 2) continue;
    const winner = [...group].reduce((a, b) => (b < a ? b : a));
    for (const path of group) if (path !== winner) shadowed.set(path, winner);
  }
  return shadowed;
}

export function collisionMessage(shadowed: string, winner: string): string {
  return `${shadowed} not written here: it collides with ${winner} on this file system`;
}

/**
 * The project's paths grouped by the name this file system sees, kept up to date as the index
 * changes, so deciding whether one path is written here costs one lookup, not a pass over the
 * project. Agrees with findCollisions over the same paths.
 */
export class FoldedNames {
  private readonly groups = new Map<string, Set<string>>();

  constructor(private readonly naming: FolderNaming) {}

  /** Whether two paths can fold together here at all; when not, nothing is kept. */
  get folds(): boolean {
    return this.naming.caseInsensitive || this.naming.unicodeInsensitive;
  }

  add(path: string): void {
    if (!this.folds) return;
    const key = nameKey(path, this.naming);
    const group = this.groups.get(key);
    if (group) group.add(path);
    else this.groups.set(key, new Set([path]));
  }

  delete(path: string): void {
    if (!this.folds) return;
    const key = nameKey(path, this.naming);
    const group = this.groups.get(key);
    if (!group?.delete(path)) return;
    if (group.size === 0) this.groups.delete(key);
  }

  /** The project path written here for the file system's name of `path`, or null when none is. */
  winnerFor(path: string): string | null {
    if (!this.folds) return null;
    const group = this.groups.get(nameKey(path, this.naming));
    if (!group || group.size === 0) return null;
    let winner: string | null = null;
    for (const candidate of group) if (winner === null || candidate < winner) winner = candidate;
    return winner;
  }

  /** Every project path that shares the file system's name of `path`, itself included. */
  sharing(path: string): string[] {
    if (!this.folds) return [path];
    return [...(this.groups.get(nameKey(path, this.naming)) ?? [path])];
  }
}
