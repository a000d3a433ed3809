// The daemon's local store: docs and bases survive a close and a reopen, including docs
// written through the batched new-doc path and an update made before that batch ran.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Base, StoredBase } from '../../daemon/base-store.js';
import { LocalStore } from '../../daemon/local-store.js';
import { REMOTE_ORIGIN } from '../../daemon/origins.js';
import { LeveldbPersistence } from 'y-leveldb';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codeshare-local-store-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const textOf = (doc: Y.Doc) => doc.getText('content').toString();

describe('LocalStore', () => {
  it('keeps new docs written together, and updates made to them before the batch ran', async () => {
    const store = await LocalStore.open(dir);
    const docs = Array.from({ length: 300 }, (_, i) => {
      const doc = new Y.Doc();
      doc.getText('content').insert(0, `file ${i}\n`);
      return doc;
    });
    const stored = docs.map((doc, i) => store.storeNewDoc(`file:${i}`, doc));
    // Edited before any of the batch reached LevelDB: the edit must land after it.
    docs[7]!.getText('content').insert(0, 'edited ');
    await Promise.all(stored);
    docs[8]!.getText('content').insert(0, 'later ');
    await store.close();

    const reopened = await LocalStore.open(dir);
    for (let i = 0; i < docs.length; i++) {
      const doc = await reopened.loadDoc(`file:${i}`);
      const expected = i === 7 ? `edited file ${i}\n` : i === 8 ? `later file ${i}\n` : `file ${i}\n`;
      expect(textOf(doc)).toBe(expected);
    }
    // A doc never stored starts empty.
    expect(textOf(await reopened.loadDoc('file:unknown'))).toBe('');
    await reopened.close();
  });

  it('serves and stores the docs of a reopened store before it has listed them, and counts them once it has', async () => {
    const store = await LocalStore.open(dir);
    const made = (text: string) => {
      const doc = new Y.Doc();
      doc.getText('content').insert(0, text);
      return doc;
    };
    const [a, b] = [made('a\n'), made('b\n')];
    await Promise.all([store.storeNewDoc('file:a', a), store.storeNewDoc('file:b', b)]);
    await store.close();

    const reopened = await LocalStore.open(dir);
    // The start does not wait for the list: a stored doc is read, not taken for a new one.
    expect(reopened.docCount).toBeNull();
    const loaded = await reopened.loadDoc('file:a');
    expect(textOf(loaded)).toBe('a\n');
    loaded.getText('content').insert(0, 'edited ');
    const teammate = new Y.Doc();
    Y.applyUpdate(teammate, Y.encodeStateAsUpdate(b));
    const before = Y.encodeStateVector(teammate);
    teammate.getText('content').insert(0, 'remote ');
    reopened.storeRemoteUpdate('file:b', Y.encodeStateAsUpdate(teammate, before));
    reopened.storeRemoteUpdate('file:c', Y.encodeStateAsUpdate(made('c\n')));
    expect(await reopened.stateVector('file:b')).toEqual(Y.encodeStateVector(teammate));
    await reopened.listStoredDocs();
    expect(reopened.docCount).toBe(3);
    await reopened.close();

    const again = await LocalStore.open(dir);
    expect(textOf(await again.loadDoc('file:a'))).toBe('edited a\n');
    expect(textOf(await again.loadDoc('file:b'))).toBe('remote b\n');
    expect(textOf(await again.loadDoc('file:c'))).toBe('c\n');
    await again.listStoredDocs();
    expect(again.docCount).toBe(3);
    await again.close();
  });

  it('keeps the last base written for each path, and forgets deleted ones', async () => {
    const store = await LocalStore.open(dir);
    const base = (sha256: string): StoredBase => ({ id: 'f1', kind: 'text', mode: 0o644, sha256, text: `text ${sha256}` });
    store.bases.set('a.txt', base('1'));
    store.bases.set('a.txt', base('2'));
    store.bases.set('b.txt', base('3'));
    store.bases.set('c.txt', base('4'));
    store.bases.delete('c.txt');
    // Readable as set before, while and after it is written.
    expect(await store.bases.text('a.txt')).toBe('text 2');
    expect(await store.bases.text('c.txt')).toBeUndefined();
    await store.settled();
    expect(await store.bases.text('b.txt')).toBe('text 3');
    await store.close();

    // Memory holds each base without its text, which stays in the store.
    const reopened = await LocalStore.open(dir);
    const inMemory = (sha256: string): Base => ({ id: 'f1', kind: 'text', mode: 0o644, sha256, textLength: `text ${sha256}`.length });
    expect(Object.fromEntries(await reopened.bases.loadAll())).toEqual({ 'a.txt': inMemory('2'), 'b.txt': inMemory('3') });
    expect(await reopened.bases.text('a.txt')).toBe('text 2');
    expect(await reopened.bases.text('c.txt')).toBeUndefined();
    expect(await reopened.bases.text('never.txt')).toBeUndefined();
    await reopened.close();
  });

  it('upgrades a store of the first format (bases with their texts in one record), keeping every base', async () => {
    // Written as the release before base-store.ts wrote it: the `bases` folder, JSON, text included.
    const first = new Level<string, StoredBase>(join(dir, 'bases'), { valueEncoding: 'json' });
    const texts = Array.from({ length: 2_500 }, (_, i) => `file ${i}\n`);
    await first.batch(texts.map((text, i) => ({ type: 'put' as const, key: `src/f${i}.ts`, value: { id: `id${i}`, kind: 'text' as const, mode: 0o644, sha256: `h${i}`, text } })));
    await first.put('logo.png', { id: 'png', kind: 'binary', mode: 0o644, sha256: 'hp' });
    await first.close();

    for (let open = 0; open < 2; open++) {
      const store = await LocalStore.open(dir);
      const bases = await store.bases.loadAll();
      expect(bases.size).toBe(2_501);
      expect(bases.get('src/f7.ts')).toEqual({ id: 'id7', kind: 'text', mode: 0o644, sha256: 'h7', textLength: texts[7]!.length });
      expect(bases.get('logo.png')).toEqual({ id: 'png', kind: 'binary', mode: 0o644, sha256: 'hp' });
      expect(await store.bases.text('src/f2499.ts')).toBe('file 2499\n');
      expect(await store.bases.text('logo.png')).toBeUndefined();
      await store.close();
      // The first format's folder is gone once copied.
      expect(await stat(join(dir, 'bases')).catch(() => null)).toBeNull();
    }
  });

  it("marks a teammate's change as unwritten until its paths are written, across a restart", async () => {
    const store = await LocalStore.open(dir);
    expect(store.tracksUnwritten).toBe(true);
    // Arrived for docs not in memory: one new to the store, one it holds already.
    const update = (text: string) => {
      const doc = new Y.Doc();
      doc.getText('content').insert(0, text);
      return Y.encodeStateAsUpdate(doc);
    };
    await store.storeNewUpdate('file:known', update('ours\n'));
    store.storeRemoteUpdate('file:new', update('theirs\n'));
    store.storeRemoteUpdate('file:known', update('theirs too\n'));
    // Arrived for a doc in memory (the connection applies it with the remote origin).
    const loaded = await store.loadDoc('file:loaded');
    loaded.getText('content').insert(0, 'made here\n');
    Y.applyUpdate(loaded, update('from a teammate\n'), REMOTE_ORIGIN);
    // The index is no file: its changes are written from the index itself.
    Y.applyUpdate(await store.loadDoc('index'), update('x'), REMOTE_ORIGIN);
    await store.settled();
    await store.close();

    const reopened = await LocalStore.open(dir);
    expect(reopened.unwrittenDocs.sort()).toEqual(['file:known', 'file:loaded', 'file:new']);
    expect(reopened.unsavedDocs).toEqual(['file:loaded']);
    reopened.markWritten('file:new');
    reopened.markWritten('file:loaded');
    await reopened.close();
    const again = await LocalStore.open(dir);
    expect(again.unwrittenDocs).toEqual(['file:known']);
    await again.close();
  });

  it('says a store written before the marks does not track unwritten changes, until told it does', async () => {
    // What the release before the marks left: docs, and no record that marks are kept.
    const older = new LeveldbPersistence(join(dir, 'docs'));
    const doc = new Y.Doc();
    doc.getText('content').insert(0, 'from the release before\n');
    await older.storeUpdate('file:old', Y.encodeStateAsUpdate(doc));
    await older.destroy();

    const store = await LocalStore.open(dir);
    expect(store.tracksUnwritten).toBe(false);
    expect(textOf(await store.loadDoc('file:old'))).toBe('from the release before\n');
    store.noteTracksUnwritten();
    await store.settled();
    await store.close();
    const reopened = await LocalStore.open(dir);
    expect(reopened.tracksUnwritten).toBe(true);
    await reopened.close();
  });
});

