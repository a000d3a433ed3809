// What the disk held at each path when it last agreed with the project: the path's base. A disk
// change is a diff against it, a remote change is written only once the disk's change since it
// was folded in. Kept in memory and in the folder's local store.
import type { IndexEntry } from '../common/index-entry.js';
import type { Base, LocalStore } from './local-store.js';

export class FolderBases implements Iterable<[string, Base]> {
  constructor(
    private readonly bases: Map<string, Base>,
    private readonly store: LocalStore,
  ) {}

  get(path: string): Base | undefined {
    return this.bases.get(path);
  }

  has(path: string): boolean {
    return this.bases.has(path);
  }

  keys(): IterableIterator<string> {
    return this.bases.keys();
  }

  [Symbol.iterator](): IterableIterator<[string, Base]> {
    return this.bases.entries();
  }

  set(path: string, base: Base): void {
    const known = this.bases.get(path);
    this.bases.set(path, base);
    // Rescans confirm thousands of unchanged bases: only a change is written.
    if (known && sameBase(known, base)) return;
    this.store.setBase(path, base);
  }

  delete(path: string): void {
    this.bases.delete(path);
    this.store.deleteBase(path);
  }
}

/** The base of a path that holds the project's bytes for `entry`. */
export function baseFor(entry: IndexEntry, wanted: { sha256: string; text?: string }): Base {
  return {
    id: entry.id,
    kind: entry.kind,
    mode: entry.mode,
    sha256: wanted.sha256,
    ...(wanted.text !== undefined ? { text: wanted.text } : {}),
    ...(entry.target !== undefined ? { target: entry.target } : {}),
  };
}

/**
 * The mode a disk change carries to the project: the disk's when it was changed here, else the
 * project's (a teammate's chmod may not be written here yet; sharing the disk's would undo it).
 */
export function modeToShare(diskMode: number, base: Base | undefined, entry: IndexEntry): number {
  return base && diskMode === base.mode ? entry.mode : diskMode;
}

function sameBase(a: Base, b: Base): boolean {
  return a.id === b.id && a.kind === b.kind && a.mode === b.mode && a.sha256 === b.sha256 && a.target === b.target && (a.text === undefined) === (b.text === undefined);
}
