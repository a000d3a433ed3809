// What the disk held at each path when it last agreed with the project: the path's base. A disk
// change is a diff against it, a remote change is written only once the disk's change since it
// was folded in. Kept in the folder's local store; memory holds each base without its text.
import type { IndexEntry } from '../common/index-entry.js';
import { baseInMemory, type Base, type BaseStore, type StoredBase } from './base-store.js';

export class FolderBases implements Iterable<[string, Base]> {
  constructor(
    private readonly bases: Map<string, Base>,
    private readonly store: BaseStore,
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

  /** A base as the store keeps it (a Base from get() has no text: see setFrom). */
  set(path: string, base: StoredBase & { textLength?: never }): void {
    const known = this.bases.get(path);
    const kept = baseInMemory(base);
    this.bases.set(path, kept);
    // Rescans confirm thousands of unchanged bases: only a change is written.
    if (known && sameBase(known, kept)) return;
    this.store.set(path, base);
  }

  /** The base of `source`, changed by `change`, becomes the base of `path` (its text read from the store). */
  async setFrom(path: string, source: string, change: Partial<Pick<StoredBase, 'id' | 'mode'>> = {}): Promise<void> {
    const base = this.bases.get(source);
    if (!base) return;
    this.set(path, { ...storedBase(base, await this.text(source)), ...change });
  }

  /** The text of the path's base (read from the store: memory keeps only its length). */
  async text(path: string): Promise<string | undefined> {
    if (this.bases.get(path)?.textLength === undefined) return undefined;
    const text = await this.store.text(path);
    if (text === undefined) throw new Error(`the base text of ${path} is missing from the local store`);
    return text;
  }

  delete(path: string): void {
    this.bases.delete(path);
    this.store.delete(path);
  }
}

/** A base from memory as the store keeps it, given its text. */
export function storedBase({ textLength: _length, ...base }: Base, text: string | undefined): StoredBase {
  return text === undefined ? base : { ...base, text };
}

/** The base of a path that holds the project's bytes for `entry`. */
export function baseFor(entry: IndexEntry, wanted: { sha256: string; text?: string }): StoredBase {
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
  return a.id === b.id && a.kind === b.kind && a.mode === b.mode && a.sha256 === b.sha256 && a.target === b.target && a.textLength === b.textLength;
}
