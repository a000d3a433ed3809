// The materialiser's decisions, without a database or a room: for each index entry against its
// stored row, which row is written and which change is recorded, by whom, with what line counts.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IndexEntry } from '../common/index-entry.js';
import type { StoredFileState } from '../server/repos/files.js';
import { deletionActivities, planFileChanges, rowsMissingFrom, type TextVersions } from '../server/rooms/file-changes.js';

const PROJECT = 'p1';
const NOW = new Date('2026-01-02T03:04:05Z');
const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const BLOB = 'cd'.repeat(32);

const text = (id: string, content: string): IndexEntry => ({ id, kind: 'text', mode: 0o644, size: Buffer.byteLength(content) });
const row = (id: string, path: string, content: string | null, over: Partial<StoredFileState> = {}): StoredFileState => ({
  file_id: id,
  path,
  kind: 'text',
  mode: 0o644,
  sha256: content === null ? null : sha(content),
  size: content === null ? 0 : Buffer.byteLength(content),
  ...over,
});

interface Case {
  name: string;
  entry: [string, IndexEntry];
  row?: StoredFileState;
  text?: TextVersions;
  /** Who edited the file's content since the last run; absent when only the index changed. */
  editedBy?: string | null;
  expected: {
    /** The row written: its path, content (null keeps the stored one) and hash; null when none is. */
    upsert: { path: string; content: string | null; sha256: string | null; updated_by: string | null } | null;
    activities: { action: string; user_id: string | null; old_path?: string | null; lines_added: number; lines_removed: number }[];
    /** Whether the text is remembered on its room as the one stored. */
    written: boolean;
  };
}

const cases: Case[] = [
  {
    name: 'a new text file is written with its content and recorded as created, with its lines',
    entry: ['a.txt', text('f1', 'one\ntwo\n')],
    text: { now: 'one\ntwo\n', previous: null },
    editedBy: 'bob',
    expected: {
      upsert: { path: 'a.txt', content: 'one\ntwo\n', sha256: sha('one\ntwo\n'), updated_by: 'bob' },
      activities: [{ action: 'created', user_id: 'bob', lines_added: 2, lines_removed: 0 }],
      written: true,
    },
  },
  {
    name: 'a text file neither edited nor moved writes and records nothing',
    entry: ['a.txt', text('f1', 'same\n')],
    row: row('f1', 'a.txt', 'same\n'),
    expected: { upsert: null, activities: [], written: false },
  },
  {
    name: 'a rename keeps the stored content and is the index editor\'s',
    entry: ['b.txt', text('f1', 'same\n')],
    row: row('f1', 'a.txt', 'same\n'),
    expected: {
      upsert: { path: 'b.txt', content: null, sha256: sha('same\n'), updated_by: 'ivy' },
      activities: [{ action: 'renamed', user_id: 'ivy', old_path: 'a.txt', lines_added: 0, lines_removed: 0 }],
      written: false,
    },
  },
  {
    name: 'an edit counts the lines between the previous text and the new one',
    entry: ['a.txt', text('f1', 'one\nTWO\nthree\nfour\n')],
    row: row('f1', 'a.txt', 'one\ntwo\nthree\n'),
    text: { now: 'one\nTWO\nthree\nfour\n', previous: 'one\ntwo\nthree\n' },
    editedBy: 'bob',
    expected: {
      upsert: { path: 'a.txt', content: 'one\nTWO\nthree\nfour\n', sha256: sha('one\nTWO\nthree\nfour\n'), updated_by: 'bob' },
      activities: [{ action: 'edited', user_id: 'bob', old_path: null, lines_added: 2, lines_removed: 1 }],
      written: true,
    },
  },
  {
    name: 'an edit that ends where it began writes nothing, yet its text is remembered',
    entry: ['a.txt', text('f1', 'same\n')],
    row: row('f1', 'a.txt', 'same\n'),
    text: { now: 'same\n', previous: 'same\n' },
    editedBy: 'bob',
    expected: { upsert: null, activities: [], written: true },
  },
  {
    name: 'an edit of a file also renamed is the editor\'s edit and the index editor\'s rename',
    entry: ['b.txt', text('f1', 'new\n')],
    row: row('f1', 'a.txt', 'old\n'),
    text: { now: 'new\n', previous: 'old\n' },
    editedBy: 'bob',
    expected: {
      upsert: { path: 'b.txt', content: 'new\n', sha256: sha('new\n'), updated_by: 'bob' },
      activities: [
        { action: 'renamed', user_id: 'ivy', old_path: 'a.txt', lines_added: 0, lines_removed: 0 },
        { action: 'edited', user_id: 'bob', old_path: null, lines_added: 1, lines_removed: 1 },
      ],
      written: true,
    },
  },
  {
    name: 'a new binary is written with the index\'s hash and no content',
    entry: ['img.png', { id: 'f2', kind: 'binary', mode: 0o644, size: 10, sha256: BLOB }],
    expected: {
      upsert: { path: 'img.png', content: null, sha256: BLOB, updated_by: 'ivy' },
      activities: [{ action: 'created', user_id: 'ivy', lines_added: 0, lines_removed: 0 }],
      written: false,
    },
  },
  {
    name: 'a text file turned binary is an edit without line counts (git counts none for a binary either)',
    entry: ['a.txt', { id: 'f1', kind: 'binary', mode: 0o644, size: 10, sha256: BLOB }],
    row: row('f1', 'a.txt', 'one\ntwo\n'),
    expected: {
      upsert: { path: 'a.txt', content: null, sha256: BLOB, updated_by: 'ivy' },
      activities: [{ action: 'edited', user_id: 'ivy', old_path: null, lines_added: 0, lines_removed: 0 }],
      written: false,
    },
  },
  {
    name: 'a mode change alone rewrites the row and records nothing',
    entry: ['run.sh', { ...text('f1', 'echo\n'), mode: 0o755 }],
    row: row('f1', 'run.sh', 'echo\n'),
    expected: { upsert: { path: 'run.sh', content: null, sha256: sha('echo\n'), updated_by: 'ivy' }, activities: [], written: false },
  },
];

describe('materialiser: what a run writes and records', () => {
  it.each(cases)('$name', ({ entry, row: stored, text: versions, editedBy, expected }) => {
    const [path, indexEntry] = entry;
    const changes = planFileChanges(
      PROJECT,
      new Map([[path, indexEntry]]),
      new Map(stored ? [[stored.file_id, stored]] : []),
      new Map(versions ? [[indexEntry.id, versions]] : []),
      { dirtyFiles: new Map(editedBy === undefined ? [] : [[indexEntry.id, editedBy]]), indexChangedBy: 'ivy' },
      NOW,
    );
    if (expected.upsert === null) expect(changes.upserts).toEqual([]);
    else expect(changes.upserts).toEqual([expect.objectContaining({ ...expected.upsert, project_id: PROJECT, file_id: indexEntry.id, updated_at: NOW })]);
    expect(changes.activities).toEqual(expected.activities.map((a) => expect.objectContaining({ ...a, path, file_id: indexEntry.id })));
    expect(changes.written.map((w) => w.fileId)).toEqual(expected.written ? [indexEntry.id] : []);
  });

  it('records a deletion for each stored row missing from the index, with the lines its text had', () => {
    const entries = new Map([['kept.txt', text('f1', 'x\n')]]);
    const rows = new Map([
      ['f1', row('f1', 'kept.txt', 'x\n')],
      ['f2', row('f2', 'gone.txt', 'a\nb\nc')],
      ['f3', row('f3', 'gone.png', null, { kind: 'binary', sha256: BLOB })],
    ]);
    const removed = rowsMissingFrom(entries, rows);
    expect(removed.map((r) => r.file_id)).toEqual(['f2', 'f3']);
    const activities = deletionActivities(PROJECT, removed, new Map([['f2', 'a\nb\nc']]), 'ivy');
    expect(activities).toEqual([
      expect.objectContaining({ action: 'deleted', file_id: 'f2', path: 'gone.txt', user_id: 'ivy', lines_added: 0, lines_removed: 3 }),
      expect.objectContaining({ action: 'deleted', file_id: 'f3', path: 'gone.png', user_id: 'ivy', lines_added: 0, lines_removed: 0 }),
    ]);
  });
});
