// Which paths of the index name each file id, kept in step with the index. A remote update of a
// file doc must find its path, and during a burst of thousands of files a pass over the whole
// index for each update made the receiving side quadratic: 9,000 new files took minutes.
import type * as Y from 'yjs';
import type { IndexEntry } from '../common/index-entry.js';

function idOf(value: unknown): string | null {
  const id = (value as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : null;
}

export class PathsByFileId {
  /** A path, or the paths when there are several: a Set per file was most of this map's weight. */
  private readonly paths = new Map<string, string | Set<string>>();

  /** Starts from the map's current keys and follows every later change, whatever its origin. */
  constructor(private readonly files: Y.Map<IndexEntry>) {
    for (const [path, value] of files.entries()) this.add(idOf(value), path);
    files.observe(this.onChange);
  }

  /** Usually one path; two when both sides renamed the same file at once (same id, two keys). */
  of(id: string): string[] {
    const known = this.paths.get(id);
    return known === undefined ? [] : typeof known === 'string' ? [known] : [...known];
  }

  count(id: string): number {
    const known = this.paths.get(id);
    return known === undefined ? 0 : typeof known === 'string' ? 1 : known.size;
  }

  dispose(): void {
    this.files.unobserve(this.onChange);
  }

  private readonly onChange = (event: Y.YMapEvent<IndexEntry>) => {
    for (const [path, change] of event.changes.keys) {
      if (change.action !== 'add') this.remove(idOf(change.oldValue), path);
      if (change.action !== 'delete') this.add(idOf(this.files.get(path)), path);
    }
  };

  private add(id: string | null, path: string): void {
    if (id === null) return;
    const known = this.paths.get(id);
    if (known === undefined || known === path) this.paths.set(id, path);
    else if (typeof known === 'string') this.paths.set(id, new Set([known, path]));
    else known.add(path);
  }

  private remove(id: string | null, path: string): void {
    if (id === null) return;
    const known = this.paths.get(id);
    if (known === path) this.paths.delete(id);
    else if (typeof known === 'object' && known.delete(path) && known.size === 1) this.paths.set(id, known.values().next().value!);
  }
}
