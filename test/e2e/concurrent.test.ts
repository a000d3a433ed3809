// The same file edited in both folders at the same moment: neither edit is lost, and both
// disks end with both edits (invariants 1 and 2).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { filesMap } from '../../common/index-entry.js';
import { INDEX_DOC } from '../../common/protocol.js';
import { LiveTestClient } from '../helpers/live-client.js';
import { World, eventually, expectServerMatches, serverFiles, untilContent, untilIdentical, SYNC_MS, type Pair } from './harness.js';

let world: World;
let pair: Pair;

const lines = (count: number, label: string) => Array.from({ length: count }, (_, i) => `${label} line ${i + 1}`);

beforeAll(async () => {
  world = await World.create();
  pair = await world.sharedPair({ 'shared.txt': `${lines(12, 'base').join('\n')}\n`, 'renamed-twice.txt': 'renamed by both\n' });
});

afterAll(async () => {
  await world?.dispose();
});

it('keeps both edits of one file made at once on different lines, on both disks', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const fileA = join(pair.a, 'shared.txt');
  const fileB = join(pair.b, 'shared.txt');
  let expected = await readFile(fileA, 'utf8');
  await untilContent(fileB, expected);
  // Several rounds, each a pair of writes issued together, so that at least some really race.
  for (let round = 1; round <= 5; round++) {
    const base = expected.split('\n');
    const fromAlice = [...base];
    fromAlice[1] = `alice was here in round ${round}`;
    const fromBob = [...base];
    fromBob[9] = `bob was here in round ${round}`;
    const both = [...base];
    both[1] = fromAlice[1];
    both[9] = fromBob[9];
    await Promise.all([writeFile(fileA, fromAlice.join('\n')), writeFile(fileB, fromBob.join('\n'))]);
    expected = both.join('\n');
    await untilContent(fileA, expected);
    await untilContent(fileB, expected);
  }
});

it('keeps both lines when both sides append to the same file at once', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const fileA = join(pair.a, 'shared.txt');
  const fileB = join(pair.b, 'shared.txt');
  const base = await readFile(fileA, 'utf8');
  await untilContent(fileB, base);
  await Promise.all([writeFile(fileA, `${base}\nappended by alice\n`), writeFile(fileB, `${base}\nappended by bob\n`)]);
  await untilIdentical(pair.a, pair.b);
  const merged = await readFile(fileA, 'utf8');
  expect(merged).toContain('appended by alice');
  expect(merged).toContain('appended by bob');
  expect(merged.startsWith(base)).toBe(true);
});

it('keeps both new files when both sides create files at once', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 10; i++) {
    writes.push(writeFile(join(pair.a, `alice-${i}.txt`), `alice ${i}\n`));
    writes.push(writeFile(join(pair.b, `bob-${i}.txt`), `bob ${i}\n`));
  }
  await Promise.all(writes);
  const tree = await untilIdentical(pair.a, pair.b);
  for (let i = 0; i < 10; i++) {
    expect(tree.has(`alice-${i}.txt`)).toBe(true);
    expect(tree.has(`bob-${i}.txt`)).toBe(true);
  }
  await pair.alice.untilSynced(pair.a);
});

it('turns one file renamed on both sides at once into two independent files', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  // Alice renamed it to one name and bob to another before either saw the other's rename: the
  // merged index has both new keys with the one file id. A raw client makes exactly that state,
  // since two real renames race only sometimes.
  const client = await LiveTestClient.connect(world.server.url, pair.projectId, pair.alice.token);
  try {
    const index = client.subscribe(INDEX_DOC);
    await client.until(() => filesMap(index).has('renamed-twice.txt'), SYNC_MS);
    const entry = filesMap(index).get('renamed-twice.txt')!;
    index.transact(() => {
      filesMap(index).delete('renamed-twice.txt');
      filesMap(index).set('docs/alice-name.txt', entry);
      filesMap(index).set('src/bob-name.txt', entry);
    });
    await client.untilPersisted(INDEX_DOC, SYNC_MS);
  } finally {
    await client.close();
  }
  await untilContent(join(pair.a, 'docs/alice-name.txt'), 'renamed by both\n');
  await untilContent(join(pair.b, 'src/bob-name.txt'), 'renamed by both\n');
  await untilIdentical(pair.a, pair.b);
  // Each file has its own id now, so the server has both, and editing one leaves the other be.
  await eventually(async () => {
    const files = await serverFiles(world.server.url, pair.alice.token, pair.projectId);
    const ids = files.filter((f) => f.path === 'docs/alice-name.txt' || f.path === 'src/bob-name.txt').map((f) => f.fileId);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  }, SYNC_MS, 100);
  await writeFile(join(pair.b, 'src/bob-name.txt'), 'renamed by both\nedited by bob\n');
  await writeFile(join(pair.a, 'docs/alice-name.txt'), 'renamed by both\nedited by alice\n');
  await untilContent(join(pair.a, 'src/bob-name.txt'), 'renamed by both\nedited by bob\n');
  await untilContent(join(pair.b, 'docs/alice-name.txt'), 'renamed by both\nedited by alice\n');
  await untilIdentical(pair.a, pair.b);
  await pair.alice.untilSynced(pair.a);
  await pair.bob.untilSynced(pair.b);
  await eventually(() => expectServerMatches(world.server.url, pair.alice.token, pair.projectId, pair.a), SYNC_MS, 200);
});
