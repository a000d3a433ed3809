// Which paths name each file id, followed through adds, renames, a doubled id and deletes.
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { FILES_MAP, type IndexEntry } from '../../common/index-entry.js';
import { PathsByFileId } from '../../daemon/paths-by-id.js';

const entry = (id: string) => ({ id, kind: 'text', mode: 0o644, sha256: 'h' }) as unknown as IndexEntry;

describe('PathsByFileId', () => {
  it('follows the index: one path, two paths for one id, and back to one, then none', () => {
    const files = new Y.Doc().getMap<IndexEntry>(FILES_MAP);
    files.set('a.ts', entry('A'));
    const paths = new PathsByFileId(files);
    files.set('b.ts', entry('B'));
    expect([paths.of('A'), paths.of('B'), paths.of('C')]).toEqual([['a.ts'], ['b.ts'], []]);
    // Both sides renamed the same file at once: one id, two keys.
    files.set('a2.ts', entry('A'));
    expect(paths.of('A').sort()).toEqual(['a.ts', 'a2.ts']);
    expect(paths.count('A')).toBe(2);
    files.delete('a.ts');
    expect([paths.of('A'), paths.count('A')]).toEqual([['a2.ts'], 1]);
    // A path given another file's id leaves the first id.
    files.set('b.ts', entry('A'));
    expect([paths.of('A').sort(), paths.of('B')]).toEqual([['a2.ts', 'b.ts'], []]);
    files.delete('a2.ts');
    files.delete('b.ts');
    expect([paths.of('A'), paths.count('A')]).toEqual([[], 0]);
    paths.dispose();
  });
});
