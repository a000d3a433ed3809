// Joining into a folder that already holds the project (a clone): equal files are kept, a
// differing file takes the project's version with the local one saved in a backup outside the
// folder, a file only this folder has is shared; with --keep-local the local version wins.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { World, sh, untilContent, untilIdentical, type ShareResult, type User } from './harness.js';

let world: World;
let alice: User;
let a: string;
let shared: ShareResult;

const binary = Buffer.from([0, 1, 2, 3, 250, 251, 252, 0, 7]);

beforeAll(async () => {
  world = await World.create();
  alice = await world.user('alice');
  a = await world.folder('a', {
    'same.txt': 'the same everywhere\n',
    'differs.txt': 'the project version\n',
    'src/also-same.ts': 'export {};\n',
    'logo.bin': binary,
  });
  shared = await alice.share(a, 'clone');
});

afterAll(async () => {
  await world?.dispose();
});

it('keeps equal files, backs up and replaces differing ones, and shares local-only ones', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const bob = await world.user('bob');
  await alice.json(['members', shared.project, 'add', 'bob', '--role', 'editor']);
  const b = await world.folder('b', {
    'same.txt': 'the same everywhere\n',
    'differs.txt': "bob's local version\n",
    'src/also-same.ts': 'export {};\n',
    'logo.bin': binary,
    'only-bob.txt': 'only bob has this\n',
  });

  const joined = await bob.join(shared.project, b);

  expect(joined.report.kept).toBe(3);
  expect(joined.report.replaced).toHaveLength(1);
  const [replaced] = joined.report.replaced;
  expect(replaced!.path).toBe('differs.txt');
  // The backup is under bob's state, never inside the synced folder.
  expect(relative(join(bob.home, 'state'), replaced!.backup).startsWith('..')).toBe(false);
  expect(relative(b, replaced!.backup).startsWith('..')).toBe(true);
  expect(await readFile(replaced!.backup, 'utf8')).toBe("bob's local version\n");
  expect(joined.report.pushed).toBe(1);

  expect(await readFile(join(b, 'differs.txt'), 'utf8')).toBe('the project version\n');
  expect(await readFile(join(b, 'same.txt'), 'utf8')).toBe('the same everywhere\n');
  await untilContent(join(a, 'only-bob.txt'), 'only bob has this\n');
  await untilIdentical(a, b);
  // Nothing was duplicated by joining with a clone of the same files.
  expect(await readFile(join(a, 'same.txt'), 'utf8')).toBe('the same everywhere\n');
  expect(await readFile(join(a, 'src/also-same.ts'), 'utf8')).toBe('export {};\n');
  await bob.untilSynced(b);
});

it('pushes the local version of a differing file with --keep-local', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const carol = await world.user('carol');
  await alice.json(['members', shared.project, 'add', 'carol', '--role', 'editor']);
  await untilContent(join(a, 'differs.txt'), 'the project version\n');
  const c = await world.folder('c', {
    'same.txt': 'the same everywhere\n',
    'differs.txt': "carol's version wins\n",
  });

  const joined = await carol.join(shared.project, c, { keepLocal: true });

  expect(joined.report.replaced).toEqual([]);
  expect(joined.report.pushed).toBe(1);
  expect(await readFile(join(c, 'differs.txt'), 'utf8')).toBe("carol's version wins\n");
  await untilContent(join(a, 'differs.txt'), "carol's version wins\n");
  await untilIdentical(a, c);
  expect(existsSync(join(c, 'only-bob.txt'))).toBe(true);
});

it('joins into the folder it runs in when that is a git clone, and into a new folder named after the project otherwise', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const dave = await world.user('dave');
  await alice.json(['members', shared.project, 'add', 'dave', '--role', 'editor']);
  const clone = await world.folder('dave-clone', { 'same.txt': 'the same everywhere\n' });
  await sh('git', ['init', '-q'], clone);
  const intoClone = await dave.joinIn(clone, shared.project);
  expect(intoClone.root).toBe(clone);
  expect(await readFile(join(clone, 'src/also-same.ts'), 'utf8')).toBe('export {};\n');
  expect(existsSync(join(clone, 'clone'))).toBe(false);

  const plain = await world.folder('dave-plain');
  const intoNew = await dave.joinIn(plain, shared.project);
  expect(intoNew.root).toBe(join(plain, 'clone'));
  expect(await readFile(join(plain, 'clone', 'same.txt'), 'utf8')).toBe('the same everywhere\n');
  await dave.untilSynced(clone);
  await dave.untilSynced(join(plain, 'clone'));
});

