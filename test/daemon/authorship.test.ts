// Whose uncommitted work a revert or a removal would throw away, read from the Yjs items of a
// file doc that alice and bob both edited (each daemon writes with one client id per run).
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Authors, UNKNOWN_AUTHOR } from '../../daemon/authorship.js';
import { contentText } from '../../common/index-entry.js';
import { applyTextChange } from '../../common/text-diff.js';
import { makeTempFolder } from './temp-folders.js';

const ALICE = 1001;
const BOB = 2002;
const STRANGER = 3003;

/** A doc whose text is `committed` as alice shared it, then edited by each writer in turn. */
function history(committed: string, ...edits: [client: number, text: string][]): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = ALICE;
  contentText(doc).insert(0, committed);
  for (const [client, text] of edits) {
    if (client === ALICE) {
      applyTextChange(contentText(doc), contentText(doc).toString(), text);
      continue;
    }
    const replica = new Y.Doc();
    replica.clientID = client;
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(doc));
    applyTextChange(contentText(replica), contentText(replica).toString(), text);
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(replica));
  }
  return doc;
}

async function authors(): Promise<Authors> {
  const known = await Authors.load(await makeTempFolder('authors'), 'alice', ALICE);
  known.learn(BOB, 'bob');
  await known.settled();
  return known;
}

const BASE = 'const a = 1;\nconst b = 2;\n';

describe('whose uncommitted work a change to the committed text throws away', () => {
  const cases: Array<[string, Y.Doc, string, string[]]> = [
    ['nothing uncommitted', history(BASE), BASE, []],
    ["bob's new line", history(BASE, [BOB, `${BASE}// bob's work\n`]), BASE, ['bob']],
    ["alice's own new line", history(BASE, [ALICE, `${BASE}// mine\n`]), BASE, []],
    ["bob's line, committed since", history(BASE, [BOB, `${BASE}// bob's work\n`]), `${BASE}// bob's work\n`, []],
    [
      // alice's edit keeps stray letters of bob's committed line: reverting it discards only hers.
      "alice rewrote bob's committed line",
      history(BASE, [BOB, `${BASE}// bob's work three\n`], [ALICE, `${BASE}// alice's experiment\n`]),
      `${BASE}// bob's work three\n`,
      [],
    ],
    ['a file the commit lacks, created by bob', history('', [BOB, 'export {};\n']), '', ['bob']],
    ['both added lines', history(BASE, [BOB, `${BASE}// bob\n`], [ALICE, `${BASE}// bob\n// alice\n`]), BASE, ['bob']],
    ['a writer never seen in presence', history(BASE, [STRANGER, `${BASE}// who?\n`]), BASE, [UNKNOWN_AUTHOR]],
    ['a line without a final newline', history(BASE, [BOB, `${BASE}tail`]), BASE, ['bob']],
  ];
  for (const [name, doc, committed, expected] of cases) {
    it(name, async () => expect((await authors()).uncommittedTeammates(doc, committed)).toEqual(expected));
  }

  it('leaves the doc as it was', async () => {
    const doc = history(BASE, [BOB, `${BASE}// bob's work\n`]);
    (await authors()).uncommittedTeammates(doc, BASE);
    expect(contentText(doc).toString()).toBe(`${BASE}// bob's work\n`);
  });

  it('tells a doc only this user wrote from one a teammate wrote into', async () => {
    const known = await authors();
    expect(known.teammatesWrote(history(BASE, [ALICE, 'x']))).toBe(false);
    expect(known.teammatesWrote(history(BASE, [BOB, 'x']))).toBe(true);
  });

  it('names who set an index entry last', async () => {
    const known = await authors();
    const doc = new Y.Doc();
    doc.clientID = BOB;
    doc.getMap('files').set('logo.png', { id: 'x' });
    expect(known.keyAuthor(doc.getMap('files'), 'logo.png')).toBe('bob');
    doc.clientID = ALICE;
    doc.getMap('files').set('logo.png', { id: 'y' });
    expect(known.keyAuthor(doc.getMap('files'), 'logo.png')).toBeNull();
  });

  it('keeps the names it learned for the next run, which has an id of its own', async () => {
    const dir = await makeTempFolder('authors');
    const first = await Authors.load(dir, 'alice', ALICE);
    first.learn(BOB, 'bob');
    await first.settled();
    const next = await Authors.load(dir, 'alice', 4004);
    expect(next.teammate(BOB)).toBe('bob');
    // The earlier run's id is still alice's own.
    expect(next.teammate(ALICE)).toBeNull();
    expect(next.teammate(4004)).toBeNull();
  });
});
