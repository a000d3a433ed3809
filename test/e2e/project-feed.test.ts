// The project feed (DESIGN.md, Scale): a daemon follows its project through one subscription,
// holds a bounded set of docs in memory, and after time offline moves what changed, not the
// project. The server holds rooms only for docs in use. A few thousand files here; the
// 40,000-file runs are in bench/.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { World, eventually, readTree, startInProcessServer, untilContent, untilIdentical, type TreeSpec, type User } from './harness.js';
import type { App } from '../../server/app.js';
import { TEMP_FILE_PREFIX } from '../../common/atomic-write.js';

const FILES = 1000;
/** Bob's daemon keeps at most this many file docs in memory. */
const BOB_DOCS_IN_MEMORY = 20;

let world: World;
let app: App;
let alice: User;
let bob: User;
let a: string;
let b: string;
let project: string;

const pathOf = (i: number) => `pkg${i % 15}/mod${i % 7}/file${i}.ts`;
const textOf = (i: number) => `// file ${i}\nexport const value${i} = ${i};\n${'// filler line\n'.repeat(i % 20)}`;

function tree(count: number): TreeSpec {
  const spec: TreeSpec = {};
  for (let i = 0; i < count; i++) spec[pathOf(i)] = textOf(i);
  return spec;
}

/** The daemon log's "caught up" lines: what each catch-up moved. */
async function catchUps(user: User): Promise<{ since: number; position: number; frames: number; bytes: number }[]> {
  const lines = (await user.daemonLog(100_000)).split('\n').filter((line) => line.includes('caught up with the project feed'));
  return lines.map((line) => JSON.parse(line));
}

beforeAll(async () => {
  // Rooms unload (and compact) soon after their last use, so this test sees both happen.
  const server = await startInProcessServer((config) => {
    config.rooms.idleUnloadMs = 300;
    config.rooms.compactAfterUpdates = 3;
    config.rooms.compactOnUnloadAfterUpdates = 3;
  });
  app = server.app;
  world = await World.create(server);
  alice = await world.user('alice');
  bob = await world.user('bob');
  bob.env.CODESHARE_DOCS_IN_MEMORY = String(BOB_DOCS_IN_MEMORY);
  a = await world.folder('a', tree(FILES));
  const shared = await alice.share(a, 'feed');
  project = shared.project;
  await alice.json(['members', project, 'add', 'bob', '--role', 'editor']);
  b = join(await world.tempDir('b'), 'b');
  await bob.join(project, b);
  await alice.untilSynced(a);
  await bob.untilSynced(b);
}, 240_000);

afterAll(async () => {
  await world?.dispose();
});

it('holds a bounded set of docs in the daemon, and no room per file on the server once idle', { timeout: 120_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const status = await bob.untilFolder(b, (folder) => expect(folder.docs.inMemory).toBeLessThanOrEqual(BOB_DOCS_IN_MEMORY + 1), 30_000);
  expect(status.docs.stored).toBeGreaterThanOrEqual(FILES);
  // Both daemons follow the feed, not the docs: every room unloads once nobody edits.
  await eventually(() => expect(app.live.registry.loadedCount).toBe(0), 30_000);
});

it('writes a teammate\'s edit of a doc not in memory, merged with an edit made here at once', { timeout: 120_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const i = 777;
  const path = pathOf(i);
  const lines = textOf(i).split('\n');
  const aliceText = [lines[0] + ' (alice)', ...lines.slice(1)].join('\n');
  const bobText = [lines[0], lines[1] + ' // bob', ...lines.slice(2)].join('\n');
  const both = [lines[0] + ' (alice)', lines[1] + ' // bob', ...lines.slice(2)].join('\n');
  await Promise.all([writeFile(join(a, path), aliceText), writeFile(join(b, path), bobText)]);
  await untilContent(join(a, path), both);
  await untilContent(join(b, path), both);
});

it('catches up after time offline with what changed, not the project, across a compaction', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const [join0] = await catchUps(bob);
  expect(join0!.since).toBe(0);
  await bob.stopDaemon();
  const changed = [3, 141, 512, 600, 701, 777, 820, 901, 950, 999];
  // Several edits each: past the compaction threshold, and the rooms unload and compact after.
  for (let round = 1; round <= 4; round++) {
    for (const i of changed) await writeFile(join(a, pathOf(i)), `${textOf(i)}// round ${round}\n`);
    await alice.untilSynced(a);
  }
  await eventually(() => expect(app.live.registry.loadedCount).toBe(0), 30_000);

  await bob.startDaemon();
  for (const i of changed) await untilContent(join(b, pathOf(i)), `${textOf(i)}// round 4\n`);
  await untilIdentical(a, b);
  const last = (await catchUps(bob)).at(-1)!;
  expect(last.since).toBeGreaterThan(0);
  // Ten files' worth of traffic, where the join moved the project.
  expect(last.bytes).toBeLessThan(join0!.bytes / 20);
  expect(last.frames).toBeLessThan(100);
});

it('resumes an interrupted join into a clone: every differing file backed up, the rest kept', { timeout: 240_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const carol = await world.user('carol');
  await alice.json(['members', project, 'add', 'carol', '--role', 'editor']);
  // A clone of what the project holds now, with 400 files changed here: each is backed up and
  // written, so the join is still at work well after its first backup (with 100 it could end
  // between that backup and the kill).
  const clone: TreeSpec = {};
  for (const [path, entry] of await readTree(a)) if (entry.kind === 'file') clone[path] = entry.bytes;
  const differing = Array.from({ length: 400 }, (_, k) => pathOf(k * 2));
  for (const path of differing) clone[path] = `carol's own version of ${path}\n`;
  const c = await world.folder('c', clone);

  // The daemon dies while the join writes the folder.
  const joining = carol.join(project, c).then(
    () => 'finished',
    () => 'interrupted',
  );
  const backups = join(carol.home, 'state', 'backups');
  await eventually(async () => expect((await listFiles(backups)).length).toBeGreaterThan(0), 60_000, 5);
  await carol.killDaemon();
  expect(await joining).toBe('interrupted');

  const again = await carol.join(project, c);
  await untilIdentical(a, c);
  // Each local version is in a backup, whichever run replaced it.
  const saved = await Promise.all((await listFiles(backups)).map((file) => readFile(file, 'utf8')));
  for (const path of differing) expect(saved).toContain(`carol's own version of ${path}\n`);
  // (A file backed up just before the daemon died is backed up again by the second run.)
  expect([...new Set(saved)].filter((text) => !text.startsWith("carol's own version"))).toEqual([]);
  expect(new Set(saved).size).toBe(differing.length);
  expect(again.report.kept + again.report.written).toBe(FILES);
});

async function listFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  // A backup being written when the daemon was killed is a temp file (the next join saves that file again).
  for (const entry of entries) if (entry.isFile() && !entry.name.startsWith(TEMP_FILE_PREFIX)) found.push(join(entry.parentPath, entry.name));
  return found;
}
