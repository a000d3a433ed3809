// Edits that follow each other faster than a daemon writes: a file created and at once filled,
// a file created and at once removed. The other side's own write echoes back while the next
// change is already on its way; taking that echo for an edit made there would undo the change
// (a binary arriving as an empty text file, a deleted file coming back) on both sides. And a
// file replaced by a folder of the same name, or back: the new paths and the removals arrive in
// either order, and the watcher may report the folder as a change of the file.
import { mkdir, open, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { World, readOrNull, untilIdentical, type Pair } from './harness.js';

let world: World;
let pair: Pair;

beforeAll(async () => {
  world = await World.create();
  pair = await world.sharedPair({ 'README.md': '# project\n' });
});

afterAll(async () => {
  await world?.dispose();
});

const COUNT = 30;
const binary = (n: number) => Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, n, 0x80, 0x81]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('changes in quick succession', () => {
  it('a file created empty and filled with binary bytes a moment later arrives with its bytes', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    for (let n = 0; n < COUNT; n++) {
      // An editor or a download: the file exists empty for a moment before its bytes land.
      const handle = await open(join(pair.a, `image-${n}.png`), 'w');
      await sleep(n % 3 === 0 ? 0 : 40 + (n % 5) * 20);
      await handle.write(binary(n));
      await handle.close();
    }
    const tree = await untilIdentical(pair.a, pair.b);
    for (let n = 0; n < COUNT; n++) {
      const entry = tree.get(`image-${n}.png`);
      expect(entry?.kind === 'file' && entry.bytes.equals(binary(n)), `image-${n}.png holds its bytes`).toBe(true);
    }
  });

  it('a file created and removed a moment later stays removed on both sides', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    for (let n = 0; n < COUNT; n++) {
      await writeFile(join(pair.b, `brief-${n}.txt`), `here for a moment ${n}\n`);
      await sleep(30 + (n % 6) * 25);
      await unlink(join(pair.b, `brief-${n}.txt`));
    }
    await writeFile(join(pair.b, 'marker.txt'), 'done\n');
    const tree = await untilIdentical(pair.a, pair.b);
    expect([...tree.keys()].filter((path) => path.startsWith('brief-'))).toEqual([]);
    expect((await readOrNull(join(pair.a, 'marker.txt')))?.toString()).toBe('done\n');
  });

  it('a file replaced by a folder of the same name, and the folder by a file again, arrive as such', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await writeFile(join(pair.a, 'thing'), 'a file\n');
    await untilIdentical(pair.a, pair.b);
    await rm(join(pair.a, 'thing'));
    await mkdir(join(pair.a, 'thing'));
    await writeFile(join(pair.a, 'thing/inside.txt'), 'inside\n');
    expect((await untilIdentical(pair.a, pair.b)).has('thing/inside.txt')).toBe(true);
    // The folder is watched: a file added to it later arrives too.
    await writeFile(join(pair.a, 'thing/second.txt'), 'second\n');
    expect((await untilIdentical(pair.a, pair.b)).has('thing/second.txt')).toBe(true);
    await rm(join(pair.a, 'thing'), { recursive: true });
    await writeFile(join(pair.a, 'thing'), 'a file again\n');
    const tree = await untilIdentical(pair.a, pair.b);
    expect(tree.get('thing')?.kind).toBe('file');
    expect([...tree.keys()].filter((path) => path.startsWith('thing/'))).toEqual([]);
  });

  it('a teammate\'s new file removed here the instant it arrives is removed on both sides', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    // A native watcher batches events and folds "created, then removed" into nothing: only the
    // daemon's second look at what it wrote finds the removal before the 30 s rescan would.
    for (let n = 0; n < 5; n++) {
      const path = `arrived-${n}.txt`;
      await writeFile(join(pair.b, path), `from bob ${n}\n`);
      const arrived = join(pair.a, path);
      // Removed the moment alice's daemon has written it whole (looked for on every turn of the
      // event loop; bounded by time, as a loaded machine takes longer to bring it).
      const deadline = Date.now() + 60_000;
      while ((await readOrNull(arrived))?.toString('utf8') !== `from bob ${n}\n`) {
        if (Date.now() > deadline) throw new Error(`${path} never arrived in alice's folder`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await unlink(arrived);
    }
    await untilIdentical(pair.a, pair.b);
    for (let n = 0; n < 5; n++) expect(await readOrNull(join(pair.b, `arrived-${n}.txt`)), `arrived-${n}.txt on bob's side`).toBeNull();
  });
});
