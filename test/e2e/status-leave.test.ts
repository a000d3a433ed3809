// `codeshare status` shows each synced folder, its state and who else is online; `codeshare
// leave` stops syncing a folder and leaves its files as they are.
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { World, eventually, serverFiles, sleep, untilContent, untilIdentical, SYNC_MS, type Pair } from './harness.js';

let world: World;
let pair: Pair;

/** Quiet time after which an edit that was going to propagate would have. */
const QUIET_MS = 2000;

beforeAll(async () => {
  world = await World.create();
  pair = await world.sharedPair({ 'README.md': '# status\n', 'src/app.ts': 'export {};\n' });
});

afterAll(async () => {
  await world?.dispose();
});

it('status lists the folder as synced, with the teammate online', { timeout: 120_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  const aliceFolder = await pair.alice.untilFolder(pair.a, (folder) => {
    expect(folder.state).toBe('synced');
    expect(folder.peers.map((peer) => peer.name)).toContain('bob');
  });
  expect(aliceFolder.projectName).toBe(pair.project);
  expect(aliceFolder.projectId).toBe(pair.projectId);
  expect(aliceFolder.files).toBe(2);

  const status = await pair.bob.status();
  expect(status.daemon.running).toBe(true);
  expect(status.folders).toHaveLength(1);
  await pair.bob.untilFolder(pair.b, (folder) => {
    expect(folder.state).toBe('synced');
    expect(folder.peers.map((peer) => peer.name)).toContain('alice');
  });

  // The plain form says the same in words.
  const plain = await pair.bob.run(['status']);
  expect(plain.exitCode).toBe(0);
  expect(plain.stdout).toContain(pair.b);
  expect(plain.stdout).toContain('synced');
  expect(plain.stdout).toContain('online: alice');
});

it('leave stops syncing the folder both ways and keeps its files', { timeout: 120_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  await untilIdentical(pair.a, pair.b);
  const left = await pair.bob.json<{ root: string; left: boolean }>(['leave', pair.b]);
  expect(left).toEqual({ root: pair.b, left: true });
  expect((await pair.bob.status()).folders).toEqual([]);
  // Alice no longer sees bob in the project.
  await pair.alice.untilFolder(pair.a, (folder) => expect(folder.peers.map((peer) => peer.name)).not.toContain('bob'));

  // The files stay.
  expect(await readFile(join(pair.b, 'README.md'), 'utf8')).toBe('# status\n');
  expect(await readFile(join(pair.b, 'src/app.ts'), 'utf8')).toBe('export {};\n');

  // Edits no longer travel, either way.
  await writeFile(join(pair.b, 'README.md'), '# status\nbob, after leaving\n');
  await writeFile(join(pair.b, 'after-leave.txt'), 'bob, after leaving\n');
  await writeFile(join(pair.a, 'src/app.ts'), 'export const alice = true;\n');
  await eventually(async () => {
    const files = await serverFiles(world.server.url, pair.alice.token, pair.projectId);
    expect(files.find((file) => file.path === 'src/app.ts')?.size).toBe(Buffer.byteLength('export const alice = true;\n'));
  }, SYNC_MS, 100);
  await sleep(QUIET_MS);
  expect(await readFile(join(pair.b, 'src/app.ts'), 'utf8')).toBe('export {};\n');
  expect(await readFile(join(pair.a, 'README.md'), 'utf8')).toBe('# status\n');
  expect(existsSync(join(pair.a, 'after-leave.txt'))).toBe(false);
  expect((await serverFiles(world.server.url, pair.alice.token, pair.projectId)).map((file) => file.path).sort()).toEqual(['README.md', 'src/app.ts']);

  // Leaving twice is an error that says so.
  const again = await pair.bob.run(['leave', pair.b]);
  expect(again.exitCode).toBe(1);
  expect(again.stderr).toContain('not synced');

  // Alice's folder is unaffected.
  await writeFile(join(pair.a, 'still-live.txt'), 'alice still syncs\n');
  await pair.alice.untilSynced(pair.a);
  await untilContent(join(pair.a, 'still-live.txt'), 'alice still syncs\n');
});
