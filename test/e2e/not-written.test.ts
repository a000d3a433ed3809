// What a folder cannot hold is said, and never fought over: two project paths that are one name
// on a case-insensitive file system (one is written, the other reported, both kept on the side
// that has both), and paths that are not shared at all (a FIFO, a name that is not UTF-8, a
// symlink out of the folder).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readFile, readdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { World, eventually, serverFiles, untilContent, untilGoneFile, SYNC_MS, apiGet } from './harness.js';

let world: World;

beforeAll(async () => {
  world = await World.create();
});

afterAll(async () => {
  await world?.dispose();
});

describe('paths a folder cannot hold', () => {
  it('writes one of two names that fold together, reports the other, and loses neither', { timeout: 180_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    const alice = await world.user('alice');
    const bob = await world.user('bob');
    // The tests run on Linux: bob's daemon is told his folder compares names without case.
    bob.env.CODESHARE_FOLDER_NAMING = 'case-insensitive';
    const a = await world.folder('a', { 'Notes.md': 'upper\n', 'notes.md': 'lower\n', 'src/x.ts': 'x\n' });
    const shared = await alice.share(a, 'fold');
    await alice.json(['members', shared.project, 'add', bob.name, '--role', 'editor']);
    const b = join(await world.tempDir('b'), 'b');
    await bob.join(shared.project, b);
    await bob.untilSynced(b);

    expect((await readdir(b)).sort()).toEqual(['Notes.md', 'src']);
    expect((await bob.folderStatus(b)).problems).toEqual([
      { path: 'notes.md', reason: 'name-collision', message: 'notes.md not written here: it collides with Notes.md on this file system' },
    ]);
    const text = await bob.run(['status']);
    expect(text.stdout).toContain('1 path not shared here');
    expect(text.stdout).toContain('notes.md not written here: it collides with Notes.md on this file system');

    // Each side edits its own: neither overwrites the other, on any side.
    await writeFile(join(a, 'notes.md'), 'lower, edited by alice\n');
    await writeFile(join(b, 'Notes.md'), 'upper, edited by bob\n');
    await untilContent(join(a, 'Notes.md'), 'upper, edited by bob\n');
    await alice.untilSynced(a);
    await bob.untilSynced(b);
    expect((await readdir(b)).sort()).toEqual(['Notes.md', 'src']);
    await eventually(async () => {
      const files = await serverFiles(world.server.url, alice.token, shared.projectId);
      expect(files.map((f) => f.path).sort()).toEqual(['Notes.md', 'notes.md', 'src/x.ts']);
      const lower = await apiGet(world.server.url, alice.token, `/api/projects/${shared.projectId}/files/content?path=notes.md`);
      expect(lower.bytes.toString('utf8')).toBe('lower, edited by alice\n');
    }, SYNC_MS, 100);
    expect(await readFile(join(a, 'notes.md'), 'utf8')).toBe('lower, edited by alice\n');

    // The name it yielded to goes away: now it is written here.
    await unlink(join(a, 'Notes.md'));
    await untilGoneFile(join(b, 'Notes.md'));
    await untilContent(join(b, 'notes.md'), 'lower, edited by alice\n');
    await bob.untilFolder(b, (folder) => {
      expect(folder.state).toBe('synced');
      expect(folder.problems).toEqual([]);
    });
  });

  it('lists a FIFO and a name that is not UTF-8 in status, and syncs everything else', { timeout: 180_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    const pair = await world.sharedPair({ 'README.md': '# project\n' }, ['carol', 'dave']);
    execFileSync('mkfifo', [join(pair.a, 'pipe')]);
    await symlink('/etc/passwd', join(pair.a, 'evil'));
    writeFileSync(Buffer.concat([Buffer.from(`${pair.a}/bad`), Buffer.from([0xff]), Buffer.from('.txt')]), 'bad name\n');
    await writeFile(join(pair.a, 'fine.txt'), 'fine\n');
    await untilContent(join(pair.b, 'fine.txt'), 'fine\n');
    const folder = await pair.alice.untilFolder(pair.a, (status) => {
      expect(status.state).toBe('synced');
      expect(status.problems.map((p) => [p.path, p.reason])).toEqual([
        ['bad\\xff.txt', 'invalid-name'],
        ['evil', 'unsafe-symlink'],
        ['pipe', 'special-file'],
      ]);
    });
    expect(folder.problems.map((p) => p.message)).toEqual([
      'bad\\xff.txt not shared: its name is not valid UTF-8',
      'evil not shared: the symlink points outside the folder (absolute: "/etc/passwd")',
      'pipe not shared: a FIFO, socket or device is not a file',
    ]);
    expect((await readdir(pair.b)).sort()).toEqual(['README.md', 'fine.txt']);
    const text = await pair.alice.run(['status']);
    expect(text.stdout).toContain('3 paths not shared here');

    // Gone from the folder, gone from the list.
    await unlink(join(pair.a, 'pipe'));
    await pair.alice.untilFolder(pair.a, (status) => expect(status.problems.map((p) => p.path)).toEqual(['bad\\xff.txt', 'evil']));
  });
});
