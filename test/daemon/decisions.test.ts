// The sync engine's decisions, one row per case: what the base, the disk and the index entry
// mean together (daemon/decisions.ts). No process, no socket, no file.
import { describe, expect, it } from 'vitest';
import type { IndexEntry } from '../../common/index-entry.js';
import {
  decideContentChange,
  decideDiskChange,
  decideProjectWrite,
  decideRemoteRemoval,
  decideRemoteRename,
  planIndexChanges,
  decideUnreportedEdit,
  type UnreportedEditAction,
  type ProjectWriteAction,
  type RemoteRenameAction,
  decideRescanFinding,
  projectAheadOfBase,
  syncStateOf,
  type DiskChangeAction,
  type DiskFacts,
  type IndexChangeAction,
  type IndexKeyChange,
  type RemovalAction,
  type RescanAction,
  type ScanFinding,
} from '../../daemon/decisions.js';
import type { Base } from '../../daemon/base-store.js';

const base = (over: Partial<Base> = {}): Base => ({ id: 'f1', kind: 'text', mode: 0o644, sha256: 'A', textLength: 2, ...over });
const entry = (over: Partial<IndexEntry> = {}): IndexEntry => ({ id: 'f1', kind: 'text', mode: 0o644, size: 2, ...over });
const file = (sha256: string, mode = 0o644): DiskFacts => ({ kind: 'file', sha256, mode });

describe('decideDiskChange: a disk change, read now', () => {
  const rows: Array<[string, DiskFacts, Base | undefined, IndexEntry | null, DiskChangeAction]> = [
    ['nothing there: removed here', null, base(), entry(), { do: 'removed' }],
    ['a folder took the file\'s name', { kind: 'dir' }, base(), entry(), { do: 'became-folder' }],
    ['a symlink', { kind: 'symlink', sha256: 'L' }, base(), entry(), { do: 'symlink' }],
    ['our own write echoing back', file('A'), base(), entry(), { do: 'unchanged', mode: null }],
    ['a chmod here: the mode is shared', file('A', 0o755), base(), entry(), { do: 'unchanged', mode: 0o755 }],
    ["a teammate's chmod not written yet is not reverted", file('A'), base(), entry({ mode: 0o755 }), { do: 'unchanged', mode: null }],
    ['disk equals base, the entry moved to another file: follow the project', file('A'), base(), entry({ id: 'f2' }), { do: 'follow-project' }],
    ['disk equals base, the project removed the path: follow the project', file('A'), base(), null, { do: 'follow-project' }],
    ['disk equals base in bytes but not in mode, entry moved on: changed here', file('A', 0o755), base(), entry({ id: 'f2' }), { do: 'changed-here' }],
    ['an edit here', file('B'), base(), entry(), { do: 'changed-here' }],
    ['a new file', file('B'), undefined, null, { do: 'changed-here' }],
    ['a file the project has, never written here (no base)', file('B'), undefined, entry(), { do: 'changed-here' }],
  ];
  for (const [name, disk, known, indexed, expected] of rows) it(name, () => expect(decideDiskChange(disk, known, indexed)).toEqual(expected));
});

describe('decideContentChange: a file changed here, by its bytes', () => {
  const rows: Array<[string, IndexEntry | null, 'text' | 'binary', string]> = [
    ['no entry: a new file (or a rename target)', null, 'text', 'new-file'],
    ['text over text: an edit of the doc', entry(), 'text', 'edit-text'],
    ['binary over text: the entry is replaced', entry(), 'binary', 'replace-content'],
    ['text over binary: the entry is replaced', entry({ kind: 'binary', sha256: 'B'.repeat(64) }), 'text', 'replace-content'],
    ['binary over binary: new bytes', entry({ kind: 'binary', sha256: 'B'.repeat(64) }), 'binary', 'replace-content'],
  ];
  for (const [name, indexed, content, expected] of rows) it(name, () => expect(decideContentChange(indexed, content)).toBe(expected));
});

describe('decideRescanFinding: a rescan found a path on disk', () => {
  const found = (over: Partial<ScanFinding> = {}): ScanFinding => ({ sha256: 'A', kind: 'text', mode: 0o100644, ...over });
  const quiet = { projectAhead: false, checkEveryPath: false };
  const rows: Array<[string, ScanFinding, Base | undefined, boolean, typeof quiet, RescanAction]> = [
    ['as the base, the project agrees: nothing', found(), base(), true, quiet, 'nothing'],
    ['the project removed it since: write the project (remove, or keep a local change)', found(), base(), false, quiet, 'write-project'],
    ['changed here since the base: read it', found({ sha256: 'B' }), base(), true, quiet, 'read-disk'],
    ['a file the base does not know: read it', found(), undefined, true, quiet, 'read-disk'],
    ['a new local file, not in the project: read it', found(), undefined, false, quiet, 'read-disk'],
    ['chmod +x here: read it', found({ mode: 0o100755 }), base(), true, quiet, 'read-disk'],
    ['group bits differ, the shared mode does not: nothing', found({ mode: 0o100664 }), base(), true, quiet, 'nothing'],
    ['a symlink is mode 777', found({ kind: 'symlink' }), base({ kind: 'symlink', mode: 0o777 }), true, quiet, 'nothing'],
    ['the project moved on: write the project', found(), base(), true, { ...quiet, projectAhead: true }, 'write-project'],
    ['the full check writes every path (a write of equal bytes changes nothing)', found(), base(), true, { ...quiet, checkEveryPath: true }, 'write-project'],
  ];
  for (const [name, finding, known, inProject, flags, expected] of rows) it(name, () => expect(decideRescanFinding(finding, known, inProject, flags)).toBe(expected));
});

describe('projectAheadOfBase: the disk holds the base; does the project hold something else?', () => {
  const same = { docLength: 2, docChanged: false };
  const rows: Array<[string, Base, IndexEntry | null, typeof same, boolean]> = [
    ['the same text', base(), entry(), same, false],
    ['the entry is gone', base(), null, same, true],
    ['another file id', base(), entry({ id: 'f2' }), same, true],
    ['another mode', base(), entry({ mode: 0o755 }), same, true],
    ['another kind', base(), entry({ kind: 'binary', sha256: 'A' }), same, true],
    ['the server changed the doc since it was written', base(), entry(), { ...same, docChanged: true }, true],
    ['the doc has another length', base(), entry(), { ...same, docLength: 5 }, true],
    ['the doc is not loaded: nothing known against it', base(), entry(), { docLength: undefined, docChanged: false }, false],
    ['a binary with other bytes', base({ kind: 'binary', sha256: 'A' }), entry({ kind: 'binary', sha256: 'B' }), same, true],
    ['a binary with the same bytes', base({ kind: 'binary', sha256: 'A' }), entry({ kind: 'binary', sha256: 'A' }), same, false],
    ['a symlink pointing elsewhere', base({ kind: 'symlink', mode: 0o777, target: 'a' }), entry({ kind: 'symlink', mode: 0o777, target: 'b' }), same, true],
  ];
  for (const [name, known, indexed, text, expected] of rows) it(name, () => expect(projectAheadOfBase(known, indexed, text)).toBe(expected));
});

describe('decideRemoteRemoval: a teammate deleted the path', () => {
  const rows: Array<[string, DiskFacts, Base | undefined, RemovalAction]> = [
    ['never here', file('A'), undefined, 'nothing'],
    ['gone here too: forget the base', null, base(), 'forget-base'],
    ['the disk holds what the project last had: remove it here', file('A'), base(), 'remove-local'],
    ['changed here meanwhile: keep it, as a new file of the project', file('B'), base(), 'keep-local-as-new'],
    ['a folder stands there now: keep it', { kind: 'dir' }, base(), 'keep-local-as-new'],
    ['a symlink as it was: remove it', { kind: 'symlink', sha256: 'A' }, base({ kind: 'symlink', mode: 0o777 }), 'remove-local'],
  ];
  for (const [name, disk, known, expected] of rows) it(name, () => expect(decideRemoteRemoval(disk, known)).toBe(expected));
});

describe('syncStateOf: the word a folder status shows', () => {
  const online = { paused: false, connection: 'online' as const, unsaved: 0, pending: false };
  const rows: Array<[string, Parameters<typeof syncStateOf>[0], string]> = [
    ['all stored, nothing on its way', online, 'synced'],
    ['updates not yet acknowledged', { ...online, unsaved: 3 }, 'unsaved'],
    ['paths queued or settling', { ...online, pending: true }, 'unsaved'],
    ['offline with unsaved work: offline first', { ...online, connection: 'connecting', unsaved: 3 }, 'offline'],
    ['refused by the server', { ...online, connection: 'refused' }, 'refused'],
    ['paused wins over everything: it is the user\'s to resolve', { paused: true, connection: 'refused', unsaved: 3, pending: true }, 'paused'],
  ];
  for (const [name, facts, expected] of rows) it(name, () => expect(syncStateOf(facts)).toBe(expected));
});

describe('planIndexChanges: a remote change of the index, for the disk', () => {
  const added = (path: string, id = 'f1'): IndexKeyChange => ({ path, deleted: false, entry: entry({ id }) });
  const deleted = (path: string, id = 'f1'): IndexKeyChange => ({ path, deleted: true, old: entry({ id }) });
  const rows: Array<[string, IndexKeyChange[], IndexChangeAction[]]> = [
    ['a new file is written', [added('a.ts')], [{ do: 'write', path: 'a.ts' }]],
    ['a removed file is written (removed, or kept if changed here)', [deleted('a.ts')], [{ do: 'write', path: 'a.ts' }]],
    ['a key gone and its id under a new key: a rename', [deleted('a.ts'), added('b.ts')], [{ do: 'rename', from: 'a.ts', to: 'b.ts' }]],
    ['the new key first in the event: still a rename', [added('b.ts'), deleted('a.ts')], [{ do: 'rename', from: 'a.ts', to: 'b.ts' }]],
    ['a delete and an add of different files: no rename', [deleted('a.ts', 'f1'), added('b.ts', 'f2')], [{ do: 'write', path: 'a.ts' }, { do: 'write', path: 'b.ts' }]],
    [
      'both sides renamed it at once: one new key takes the file, the other is written as a file of its own',
      [deleted('a.ts'), added('b.ts'), added('c.ts')],
      [{ do: 'rename', from: 'a.ts', to: 'b.ts' }, { do: 'write', path: 'c.ts' }],
    ],
    // A key set again shows as an update, never as a delete and an add in one event.
    ['two files swapped names: both keys updated, both written', [added('a.ts', 'f2'), added('b.ts', 'f1')], [{ do: 'write', path: 'a.ts' }, { do: 'write', path: 'b.ts' }]],
    ['a malformed entry is written (and refused there), never renamed onto', [deleted('a.ts'), { path: 'b.ts', deleted: false, entry: null }], [{ do: 'write', path: 'a.ts' }, { do: 'write', path: 'b.ts' }]],
  ];
  for (const [name, changes, expected] of rows) it(name, () => expect(planIndexChanges(changes)).toEqual(expected));
});

describe('decideProjectWrite: a remote change, against what the disk holds', () => {
  const link = (sha256: string): DiskFacts => ({ kind: 'symlink', sha256 });
  const rows: Array<[string, DiskFacts, { kind: IndexEntry['kind']; sha256: string; mode: number }, ProjectWriteAction]> = [
    ['nothing there: write', null, { kind: 'text', sha256: 'A', mode: 0o644 }, 'write'],
    ['a folder there: write (after clearing the way)', { kind: 'dir' }, { kind: 'text', sha256: 'A', mode: 0o644 }, 'write'],
    ['the same bytes and mode: only the base', file('A'), { kind: 'text', sha256: 'A', mode: 0o644 }, 'record-base'],
    ['the same bytes, another mode: write (the mode)', file('A', 0o755), { kind: 'text', sha256: 'A', mode: 0o644 }, 'write'],
    ['other bytes: write', file('B'), { kind: 'binary', sha256: 'A', mode: 0o644 }, 'write'],
    ['a blob already on disk: no download', file('A'), { kind: 'binary', sha256: 'A', mode: 0o644 }, 'record-base'],
    ['the same symlink target: only the base', link('T'), { kind: 'symlink', sha256: 'T', mode: 0o777 }, 'record-base'],
    ['another symlink target: write', link('U'), { kind: 'symlink', sha256: 'T', mode: 0o777 }, 'write'],
    ['a file whose bytes spell the symlink target: write the symlink', file('T', 0o777), { kind: 'symlink', sha256: 'T', mode: 0o777 }, 'write'],
    ['a symlink whose target hashes like the text: write the file', link('A'), { kind: 'text', sha256: 'A', mode: 0o644 }, 'write'],
  ];
  it.each(rows)('%s', (_name, disk, wanted, expected) => {
    expect(decideProjectWrite(disk, wanted)).toBe(expected);
  });
});

describe('decideUnreportedEdit: an edit here the watcher has not reported, before a remote change is written', () => {
  const rows: Array<[string, DiskFacts, Base | undefined, 'text' | 'binary' | null, IndexEntry['kind'], UnreportedEditAction]> = [
    ['the disk as last synced: nothing to fold', file('A'), base(), 'text', 'text', 'none'],
    ['text edited here, base text known: merge', file('B'), base(), 'text', 'text', 'merge-text'],
    ['a text file replaced by binary bytes here: shared, not overwritten', file('B'), base(), 'binary', 'text', 'share-local'],
    ['text over a binary base (base text unknown): shared, not overwritten', file('B'), base({ kind: 'binary', textLength: undefined }), 'text', 'text', 'share-local'],
    ['a binary file edited here while the teammate changed it: shared, not overwritten', file('B'), base({ kind: 'binary', textLength: undefined }), 'binary', 'binary', 'share-local'],
    ['a text edit here while the teammate made the file binary: shared, not merged into bytes', file('B'), base(), 'text', 'binary', 'share-local'],
    ['a file here where the project has a symlink, edited since: shared', file('B'), base(), 'text', 'symlink', 'share-local'],
    ['no base (never synced here): nothing to tell an edit by', file('B'), undefined, 'text', 'text', 'none'],
    ['removed here since the base: the removal is shared, the file not written back', null, base(), null, 'text', 'share-local'],
    ['nothing there and never written here: the project\'s version is written', null, undefined, null, 'text', 'none'],
    ['a symlink there', { kind: 'symlink', sha256: 'B' }, base(), null, 'text', 'none'],
    ['a folder there', { kind: 'dir' }, base(), null, 'text', 'none'],
  ];
  it.each(rows)('%s', (_name, disk, known, content, kind, expected) => {
    expect(decideUnreportedEdit(disk, known, content, kind)).toBe(expected);
  });
});

describe('decideRemoteRename: a teammate moved a file', () => {
  const rows: Array<[string, Base | undefined, DiskFacts, boolean, RemoteRenameAction]> = [
    ['as last synced, new path free: move', base(), file('A'), false, 'move'],
    ['a mode change here does not stop the move', base(), file('A', 0o755), false, 'move'],
    ['edited here meanwhile: delete and add (the edit is read as a change)', base(), file('B'), false, 'delete-and-add'],
    ['removed here meanwhile', base(), null, false, 'delete-and-add'],
    ['a folder took its name here', base(), { kind: 'dir' }, false, 'delete-and-add'],
    ['the new path is taken here', base(), file('A'), true, 'delete-and-add'],
    ['never synced here', undefined, file('A'), false, 'delete-and-add'],
  ];
  it.each(rows)('%s', (_name, known, disk, taken, expected) => {
    expect(decideRemoteRename(known, disk, taken)).toBe(expected);
  });
});
