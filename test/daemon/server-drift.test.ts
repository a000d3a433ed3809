// Which text docs differ from the server's stored hash (daemon/server-drift.ts), one row each.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IndexEntry } from '../../common/index-entry.js';
import type { ProjectFile } from '../../common/project-file.js';
import { fileDocName } from '../../common/protocol.js';
import { driftedDocs } from '../../daemon/server-drift.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const entry = (id: string, kind: IndexEntry['kind'] = 'text'): IndexEntry => ({ id, kind, mode: 0o644, size: 1 });
const stored = (path: string, fileId: string, text: string | null): ProjectFile => ({
  path,
  fileId,
  kind: 'text',
  mode: 0o644,
  size: 1,
  sha256: text === null ? null : sha(text),
  target: null,
});

describe('driftedDocs', () => {
  const rows: Array<[string, IndexEntry, ProjectFile | null, { settled: boolean; text: string | undefined }, boolean]> = [
    ['same text as the server: in step', entry('f1'), stored('a', 'f1', 'x'), { settled: true, text: 'x' }, false],
    ['other text than the server: drifted', entry('f1'), stored('a', 'f1', 'x'), { settled: true, text: 'y' }, true],
    ['still syncing or unsaved: in flight', entry('f1'), stored('a', 'f1', 'x'), { settled: false, text: 'y' }, false],
    ['the server names another file id there: a change in flight', entry('f1'), stored('a', 'f2', 'x'), { settled: true, text: 'y' }, false],
    ['the server has not stored the text yet', entry('f1'), stored('a', 'f1', null), { settled: true, text: 'y' }, false],
    ['the server lacks the path', entry('f1'), null, { settled: true, text: 'y' }, false],
    ['a binary file is compared by its blob, not here', entry('f1', 'binary'), stored('a', 'f1', 'x'), { settled: true, text: 'y' }, false],
    ['the doc is not loaded here', entry('f1'), stored('a', 'f1', 'x'), { settled: true, text: undefined }, false],
  ];
  it.each(rows)('%s', (_name, indexEntry, server, local, drifted) => {
    const onServer = new Map(server ? [[server.path, server]] : []);
    const result = driftedDocs(new Map([['a', indexEntry]]), onServer, { settled: () => local.settled, text: () => local.text });
    expect(result).toEqual(drifted ? [fileDocName(indexEntry.id)] : []);
  });
});
