// Everyday file operations in one folder arrive in the other, both ways, and the two folders
// end byte-identical: content, executable bit, symlinks, odd texts (CRLF, BOM, no final
// newline, empty), binaries and nested folders.
import { chmod, mkdir, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  World,
  eventually,
  expectServerMatches,
  readOrNull,
  serverFiles,
  untilContent,
  untilGoneFile,
  untilIdentical,
  SYNC_MS,
  type Pair,
  type User,
} from './harness.js';

let world: World;
let pair: Pair;

beforeAll(async () => {
  world = await World.create();
  // One daemon on each watcher backend: every operation below is seen by both, one each way.
  pair = await world.sharedPair(
    {
      'README.md': '# project\n',
      'src/index.ts': 'export const answer = 42;\n',
    },
    ['alice', 'bob'],
    { watchers: ['native', 'chokidar'] },
  );
});

afterAll(async () => {
  await world?.dispose();
});

const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0xff, 0xfe, 0x01, 0x02, 0x80, 0x81]);
const crlf = 'first line\r\nsecond line\r\n';
const bom = '\ufeffconst withBom = true;\n';
const noNewline = 'no newline at the end';

async function everydayOperations(from: string, to: string, author: User, tag: string): Promise<void> {
  const p = (dir: string, path: string) => join(dir, path);

  // Creates of every kind.
  await writeFile(p(from, `${tag}-notes.txt`), 'hello\n');
  await writeFile(p(from, `${tag}-crlf.txt`), crlf);
  await writeFile(p(from, `${tag}-bom.ts`), bom);
  await writeFile(p(from, `${tag}-no-newline.txt`), noNewline);
  await writeFile(p(from, `${tag}-empty.txt`), '');
  await writeFile(p(from, `${tag}-image.png`), binary);
  await mkdir(p(from, `${tag}-deep/er/still`), { recursive: true });
  await writeFile(p(from, `${tag}-deep/er/still/leaf.txt`), 'deep down\n');
  await writeFile(p(from, `${tag}-script.sh`), '#!/bin/sh\necho hi\n');
  await writeFile(p(from, `${tag}-doomed.txt`), 'short-lived\n');
  await writeFile(p(from, `${tag}-moving.txt`), 'I move around\n');
  await symlink(`${tag}-notes.txt`, p(from, `${tag}-link`));

  await untilContent(p(to, `${tag}-notes.txt`), 'hello\n');
  await untilContent(p(to, `${tag}-crlf.txt`), crlf);
  await untilContent(p(to, `${tag}-bom.ts`), bom);
  await untilContent(p(to, `${tag}-no-newline.txt`), noNewline);
  await untilContent(p(to, `${tag}-empty.txt`), '');
  await untilContent(p(to, `${tag}-image.png`), binary);
  await untilContent(p(to, `${tag}-deep/er/still/leaf.txt`), 'deep down\n');
  await untilContent(p(to, `${tag}-doomed.txt`), 'short-lived\n');
  await untilContent(p(to, `${tag}-moving.txt`), 'I move around\n');
  await untilIdentical(from, to);

  const movingId = await eventually(async () => {
    const file = (await serverFiles(world.server.url, author.token, pair.projectId)).find((f) => f.path === `${tag}-moving.txt`);
    expect(file).toBeDefined();
    return file!.fileId;
  }, SYNC_MS, 100);

  // Edits, a rename into another folder, a delete, a chmod +x.
  await writeFile(p(from, `${tag}-notes.txt`), 'hello\nworld\n');
  await writeFile(p(from, `${tag}-crlf.txt`), `${crlf}third line\r\n`);
  await writeFile(p(from, `${tag}-empty.txt`), 'not empty any more');
  await writeFile(p(from, `${tag}-image.png`), Buffer.concat([binary, binary]));
  await mkdir(p(from, `${tag}-moved-here`));
  await rename(p(from, `${tag}-moving.txt`), p(from, `${tag}-moved-here/moved.txt`));
  await unlink(p(from, `${tag}-doomed.txt`));
  await chmod(p(from, `${tag}-script.sh`), 0o755);

  await untilContent(p(to, `${tag}-notes.txt`), 'hello\nworld\n');
  await untilContent(p(to, `${tag}-crlf.txt`), `${crlf}third line\r\n`);
  await untilContent(p(to, `${tag}-empty.txt`), 'not empty any more');
  await untilContent(p(to, `${tag}-image.png`), Buffer.concat([binary, binary]));
  await untilContent(p(to, `${tag}-moved-here/moved.txt`), 'I move around\n');
  await untilGoneFile(p(to, `${tag}-moving.txt`));
  await untilGoneFile(p(to, `${tag}-doomed.txt`));
  await eventually(async () => {
    const { stat } = await import('node:fs/promises');
    expect((await stat(p(to, `${tag}-script.sh`))).mode & 0o777).toBe(0o755);
  }, SYNC_MS, 50);
  await untilIdentical(from, to);

  // A rename keeps the file's identity, so its history follows it.
  await eventually(async () => {
    const files = await serverFiles(world.server.url, author.token, pair.projectId);
    expect(files.find((f) => f.path === `${tag}-moved-here/moved.txt`)?.fileId).toBe(movingId);
    expect(files.find((f) => f.path === `${tag}-moving.txt`)).toBeUndefined();
  }, SYNC_MS, 100);

  // An edit of a file the other side created, and the removal of a whole folder's content.
  await writeFile(p(from, 'README.md'), `${(await readOrNull(p(from, 'README.md')))!.toString()}${tag} was here\n`);
  await unlink(p(from, `${tag}-deep/er/still/leaf.txt`));
  await untilGoneFile(p(to, `${tag}-deep/er/still/leaf.txt`));
  await untilIdentical(from, to);
}

describe('sync basics', () => {
  it('watches alice\'s folder with the native watcher and bob\'s with chokidar, as each asked', async () => {
    // Status says which backend runs: a native watcher that silently fell back would test chokidar twice.
    expect((await pair.alice.folderStatus(pair.a)).watcher).toEqual({ backend: 'native', problem: null });
    expect((await pair.bob.folderStatus(pair.b)).watcher).toEqual({ backend: 'chokidar', problem: null });
  });

  it('carries every everyday operation from alice to bob', { timeout: 180_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await everydayOperations(pair.a, pair.b, pair.alice, 'alice');
  });

  it('carries every everyday operation from bob to alice', { timeout: 180_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await everydayOperations(pair.b, pair.a, pair.bob, 'bob');
  });

  it('leaves the server holding exactly what both folders hold', async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await untilIdentical(pair.a, pair.b);
    await eventually(() => expectServerMatches(world.server.url, pair.alice.token, pair.projectId, pair.a), SYNC_MS, 200);
  });
});
