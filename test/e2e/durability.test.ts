// Crashes lose nothing: a daemon killed with SIGKILL finds the edits made while it was down
// when it starts again, and a server killed with SIGKILL and restarted on the same storage and
// port is reconnected to by the daemons, with the edits made while it was down (invariant 1).
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import {
  ServerProcess,
  World,
  createPostgresStorage,
  eventually,
  expectServerMatches,
  untilContent,
  untilGoneFile,
  untilIdentical,
  SYNC_MS,
  type Pair,
} from './harness.js';
import type { TestStorage } from '../helpers/storage.js';

let storage: TestStorage;
let server: ServerProcess;
let world: World;
let pair: Pair;

beforeAll(async () => {
  storage = await createPostgresStorage();
  server = await ServerProcess.start(storage, storage.dataDir);
  world = await World.create(server);
  pair = await world.sharedPair({
    'notes.txt': 'one\ntwo\nthree\n',
    'keep.txt': 'kept\n',
    'doomed.txt': 'to be deleted while the daemon is down\n',
    'moving.txt': 'to be renamed while the daemon is down\n',
  });
});

afterAll(async () => {
  await world?.dispose();
  await storage?.dispose();
});

it('a daemon killed with SIGKILL syncs the edits made while it was down once it starts again', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  await pair.bob.killDaemon();
  expect((await pair.bob.status()).daemon.running).toBe(false);

  // Bob keeps working with no daemon running; alice keeps working too.
  await writeFile(join(pair.b, 'notes.txt'), 'one\ntwo (bob, offline)\nthree\n');
  await writeFile(join(pair.b, 'offline-new.txt'), 'created while the daemon was down\n');
  await unlink(join(pair.b, 'doomed.txt'));
  await rename(join(pair.b, 'moving.txt'), join(pair.b, 'moved.txt'));
  await writeFile(join(pair.a, 'from-alice.txt'), 'alice wrote this while bob was away\n');
  await writeFile(join(pair.a, 'keep.txt'), 'kept, and edited by alice\n');

  await pair.bob.startDaemon();

  await untilContent(join(pair.a, 'notes.txt'), 'one\ntwo (bob, offline)\nthree\n');
  await untilContent(join(pair.a, 'offline-new.txt'), 'created while the daemon was down\n');
  await untilContent(join(pair.a, 'moved.txt'), 'to be renamed while the daemon is down\n');
  await untilGoneFile(join(pair.a, 'doomed.txt'));
  await untilGoneFile(join(pair.a, 'moving.txt'));
  await untilContent(join(pair.b, 'from-alice.txt'), 'alice wrote this while bob was away\n');
  await untilContent(join(pair.b, 'keep.txt'), 'kept, and edited by alice\n');
  await untilIdentical(pair.a, pair.b);
  await pair.bob.untilSynced(pair.b);
});

it('daemons reconnect to a server killed with SIGKILL and restarted, and nothing is lost', { timeout: 180_000 }, async () => {
  onTestFailed(async () => console.log(await world.dumpLogs()));
  // Acknowledged edits: both folders report everything saved before the crash.
  await writeFile(join(pair.a, 'before-crash.txt'), 'saved before the crash\n');
  await writeFile(join(pair.b, 'notes.txt'), 'one\ntwo\nthree\nfour (bob, before the crash)\n');
  await untilContent(join(pair.b, 'before-crash.txt'), 'saved before the crash\n');
  await untilContent(join(pair.a, 'notes.txt'), 'one\ntwo\nthree\nfour (bob, before the crash)\n');
  await pair.alice.untilSynced(pair.a);
  await pair.bob.untilSynced(pair.b);

  await server.kill();
  await pair.alice.untilFolder(pair.a, (folder) => expect(folder.state).toBe('offline'));
  await pair.bob.untilFolder(pair.b, (folder) => expect(folder.state).toBe('offline'));

  // Edits while the server is down, on both sides, one of them in the same file.
  await writeFile(join(pair.a, 'during-outage-alice.txt'), 'alice, server down\n');
  await writeFile(join(pair.b, 'during-outage-bob.txt'), 'bob, server down\n');
  await writeFile(join(pair.a, 'notes.txt'), 'zero (alice, server down)\none\ntwo\nthree\nfour (bob, before the crash)\n');
  await writeFile(join(pair.b, 'keep.txt'), 'kept, edited by bob while the server was down\n');
  await pair.alice.untilFolder(pair.a, (folder) => expect(folder.unsaved).toBeGreaterThan(0));

  await server.restart();

  const notes = 'zero (alice, server down)\none\ntwo\nthree\nfour (bob, before the crash)\n';
  await untilContent(join(pair.b, 'during-outage-alice.txt'), 'alice, server down\n', 60_000);
  await untilContent(join(pair.a, 'during-outage-bob.txt'), 'bob, server down\n', 60_000);
  await untilContent(join(pair.b, 'notes.txt'), notes, 60_000);
  await untilContent(join(pair.a, 'keep.txt'), 'kept, edited by bob while the server was down\n', 60_000);
  await untilIdentical(pair.a, pair.b);
  await pair.alice.untilSynced(pair.a, 60_000);
  await pair.bob.untilSynced(pair.b, 60_000);
  expect(await readFile(join(pair.a, 'before-crash.txt'), 'utf8')).toBe('saved before the crash\n');

  // The restarted server holds everything, including what was saved before the crash.
  await eventually(() => expectServerMatches(server.url, pair.alice.token, pair.projectId, pair.a), SYNC_MS, 200);
});
