// Invariant 3: nothing from the network writes outside the synced folder or into .git/. A
// member with a raw client plants index entries with absolute paths, `..`, paths into .git,
// paths through a symlink that leaves the folder, and a symlink pointing out: the daemons
// write none of it, keep running and keep syncing ordinary files.
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import * as Y from 'yjs';
import { filesMap, contentText } from '../../common/index-entry.js';
import { INDEX_DOC, fileDocName } from '../../common/protocol.js';
import { LiveTestClient } from '../helpers/live-client.js';
import { World, readTree, sh, untilContent, SYNC_MS, type Pair } from './harness.js';

let world: World;
let pair: Pair;
let outside: string;

beforeAll(async () => {
  world = await World.create();
  pair = await world.sharedPair({ 'README.md': '# safe\n' });
  outside = await world.tempDir('outside');
  await writeFile(join(outside, 'sentinel.txt'), 'untouched\n');
});

afterAll(async () => {
  await world?.dispose();
});

/** Every file under a folder with its bytes, to compare before and after. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isSymbolicLink()) out[path] = 'symlink';
      else out[path] = (await readFile(join(dir, path))).toString('base64');
    }
  };
  await walk('');
  return out;
}

let counter = 0;
const newId = () => `planted${++counter}x${Date.now().toString(36)}`;

/** Plants a text entry at `path` with `text` as its content, as any editor of the project could. */
function plantText(client: LiveTestClient, index: Y.Doc, path: string, text: string): string {
  const id = newId();
  const doc = client.subscribe(fileDocName(id));
  contentText(doc).insert(0, text);
  index.transact(() => filesMap(index).set(path, { id, kind: 'text', mode: 0o644, size: Buffer.byteLength(text) }));
  return fileDocName(id);
}

it('writes nothing outside the folder or into .git, and keeps syncing', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  // Bob's folder is a git repository, and has a symlink to a folder outside it.
  await sh('git', ['init', '-q', '-b', 'main'], pair.b);
  await symlink(outside, join(pair.b, 'link'));
  await mkdir(join(pair.a, 'sub'));
  await writeFile(join(pair.a, 'sub/ok.txt'), 'fine\n');
  await untilContent(join(pair.b, 'sub/ok.txt'), 'fine\n');
  const bobGit = await snapshot(join(pair.b, '.git'));
  const outsideBefore = await snapshot(outside);
  const bobParent = await readdir(dirname(pair.b));
  const aliceParent = await readdir(dirname(pair.a));
  const alicePid = await pair.alice.daemonPid();
  const bobPid = await pair.bob.daemonPid();
  const absolute = join(outside, 'absolute.txt');

  const client = await LiveTestClient.connect(world.server.url, pair.projectId, pair.bob.token);
  try {
    const index = client.subscribe(INDEX_DOC);
    await client.until(() => filesMap(index).has('README.md'), SYNC_MS);
    const planted = [
      plantText(client, index, absolute, 'absolute path\n'),
      plantText(client, index, '../escaped.txt', 'dot-dot\n'),
      plantText(client, index, 'sub/../../escaped-too.txt', 'dot-dot inside\n'),
      plantText(client, index, '.git/config', '[core]\n\thooksPath = /tmp/evil\n'),
      plantText(client, index, '.git/hooks/post-checkout', '#!/bin/sh\necho pwned\n'),
      plantText(client, index, '.GIT/hooks/pre-commit', '#!/bin/sh\necho pwned\n'),
      plantText(client, index, 'sub/.git/config', '[core]\n'),
      plantText(client, index, 'link/evil.txt', 'through the symlink\n'),
      plantText(client, index, 'link/deeper/evil.txt', 'through the symlink, deeper\n'),
    ];
    // A symlink whose target leaves the folder, and one through which a later write would.
    const linkId = newId();
    index.transact(() => {
      filesMap(index).set('escape-link', { id: linkId, kind: 'symlink', mode: 0o777, size: outside.length, target: outside });
      filesMap(index).set('relative-escape', { id: newId(), kind: 'symlink', mode: 0o777, size: 9, target: '../../..' });
    });
    for (const docName of [...planted, INDEX_DOC]) await client.untilPersisted(docName, SYNC_MS);

    // An ordinary file after the planted ones: once it arrived, the planted ones were handled.
    plantText(client, index, 'after-the-attack.txt', 'still syncing\n');
    await untilContent(join(pair.b, 'after-the-attack.txt'), 'still syncing\n');
    await untilContent(join(pair.a, 'after-the-attack.txt'), 'still syncing\n');
  } finally {
    await client.close();
  }

  expect(await snapshot(outside)).toEqual(outsideBefore);
  expect(existsSync(absolute)).toBe(false);
  expect(await snapshot(join(pair.b, '.git'))).toEqual(bobGit);
  expect(existsSync(join(pair.a, '.git'))).toBe(false);
  expect(existsSync(join(pair.a, '.GIT'))).toBe(false);
  expect(existsSync(join(pair.b, '.GIT'))).toBe(false);
  expect(existsSync(join(pair.b, 'sub/.git'))).toBe(false);
  expect(await readdir(dirname(pair.b))).toEqual(bobParent);
  expect(await readdir(dirname(pair.a))).toEqual(aliceParent);
  expect(existsSync(join(pair.a, 'escape-link'))).toBe(false);
  expect(existsSync(join(pair.b, 'escape-link'))).toBe(false);
  expect(existsSync(join(pair.a, 'relative-escape'))).toBe(false);
  expect(existsSync(join(pair.b, 'relative-escape'))).toBe(false);
  // Alice has no symlink called link: a folder `link` there is harmless, but holds nothing of the attack through bob's link.
  const aliceTree = await readTree(pair.a);
  expect([...aliceTree.keys()].filter((path) => path.startsWith('/') || path.includes('..'))).toEqual([]);

  // Both daemons are the same processes as before, and still sync both ways.
  expect(await pair.alice.daemonPid()).toBe(alicePid);
  expect(await pair.bob.daemonPid()).toBe(bobPid);
  await writeFile(join(pair.a, 'README.md'), '# safe\nand sound\n');
  await writeFile(join(pair.b, 'from-bob.txt'), 'bob is fine\n');
  await untilContent(join(pair.b, 'README.md'), '# safe\nand sound\n');
  await untilContent(join(pair.a, 'from-bob.txt'), 'bob is fine\n');
  await pair.bob.untilFolder(pair.b, (folder) => expect(folder.connection).toBe('online'));
  expect(await snapshot(outside)).toEqual(outsideBefore);

  // Each refusal is in bob's daemon log, for someone to find.
  const log = await pair.bob.daemonLog(5000);
  for (const path of [absolute, '../escaped.txt', '.git/config', '.GIT/hooks/pre-commit', 'link/evil.txt', 'escape-link']) {
    expect(log, `a refusal of ${path} in bob's log`).toContain(JSON.stringify(path).slice(1, -1));
  }
});
