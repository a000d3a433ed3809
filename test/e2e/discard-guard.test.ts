// A git command must never wipe a teammate's live work (issue 10). bob edits files live,
// uncommitted; alice runs the everyday "throw away my changes" in her repository. Her folder
// halts before sending, says why, and keeps receiving other changes; bob keeps his work; and
// whichever way alice decides (`resume` sends, `resume --restore` undoes here), both folders
// end identical with nothing lost: what either choice replaced is in the backup folder.
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { ControlClient } from '../../common/control-client.js';
import { World, sh, untilContent, untilIdentical, type Pair } from './harness.js';

let world: World;
let pair: Pair;

const git = (cwd: string, ...args: string[]) => sh('git', args, cwd);
const SRC = Array.from({ length: 10 }, (_, i) => `src/f${i}.ts`);
const committed = (path: string) => `// ${path}\nexport const value = 1;\n`;
const FORMATTED = Array.from({ length: 50 }, (_, i) => `fmt/m${i}.ts`);

beforeAll(async () => {
  world = await World.create();
  const tree: Record<string, string> = { 'README.md': '# repo\n' };
  for (const path of SRC) tree[path] = committed(path);
  for (const path of FORMATTED) tree[path] = `export const name = "m";\nexport const list = [1,2,3];\n`;
  pair = await world.sharedPair(tree, ['alice', 'bob'], { gitRepo: true });
});

afterAll(async () => {
  await world?.dispose();
});

/** bob edits `paths` in his folder (live, uncommitted) and waits until alice's disk has it. */
async function bobEdits(paths: string[], tag: string): Promise<void> {
  for (const path of paths) await writeFile(join(pair.b, path), `${committed(path)}// bob's work ${tag}\n`);
  for (const path of paths) await untilContent(join(pair.a, path), `${committed(path)}// bob's work ${tag}\n`);
}

/** alice's folder halted, holding `files` paths, for bob's work, and said so in `codeshare status`. */
async function untilHalted(files: number, looksLike: string, rule: 'discards' | 'removal' = 'discards') {
  const folder = await pair.alice.untilFolder(pair.a, (status) => {
    expect(status.state).toBe('paused');
    expect(status.halt).toMatchObject({ rule, looksLike, files });
  });
  if (rule === 'discards') expect(folder.halt!.whose).toEqual(['bob']);
  const text = await pair.alice.run(['status']);
  expect(text.stdout).toContain('paused before sending');
  expect(text.stdout).toContain(`\n  nothing sent: this looks like ${looksLike}`);
  return folder;
}

async function expectBobKeeps(paths: string[], tag: string): Promise<void> {
  for (const path of paths) expect(await readFile(join(pair.b, path), 'utf8')).toBe(`${committed(path)}// bob's work ${tag}\n`);
}

/** Every file of a backup folder, by path inside it. */
async function backupFiles(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(join(entry.parentPath, entry.name).slice(dir.length + 1), await readFile(join(entry.parentPath, entry.name), 'utf8'));
  }
  return files;
}

/** Both synced, identical, and everything committed again for the next case. */
async function settle(): Promise<void> {
  await pair.alice.untilSynced(pair.a);
  await pair.bob.untilSynced(pair.b);
  await untilIdentical(pair.a, pair.b);
  await git(pair.a, 'add', '-A');
  await git(pair.a, 'commit', '-q', '--allow-empty', '-m', 'checkpoint');
}

describe('a git command over a teammate\'s live work', () => {
  it('git checkout -- . halts; other files still arrive; resume --restore brings bob\'s work back', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await bobEdits(SRC, 'one');
    await git(pair.a, 'checkout', '--', '.');
    await untilHalted(10, 'git checkout -- . (or git restore)');
    await expectBobKeeps(SRC, 'one');
    // Remote changes to other files still arrive while alice decides.
    await writeFile(join(pair.b, 'README.md'), '# repo\nbob was here\n');
    await untilContent(join(pair.a, 'README.md'), '# repo\nbob was here\n');

    const report = await pair.alice.json(['resume', '--restore'], { cwd: join(pair.a, 'src') });
    expect(report).toMatchObject({ root: pair.a, restored: 10, sent: 0 });
    for (const path of SRC) expect(await readFile(join(pair.a, path), 'utf8')).toBe(`${committed(path)}// bob's work one\n`);
    // What the restore replaced here (the committed text the checkout wrote) is saved.
    const saved = await backupFiles(report.backup);
    expect([...saved.keys()].sort()).toEqual([...SRC].sort());
    expect(saved.get('src/f3.ts')).toBe(committed('src/f3.ts'));
    await expectBobKeeps(SRC, 'one');
    await settle();
  });

  it('git reset --hard halts; resume sends it, and the backup holds bob\'s discarded work', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await git(pair.a, 'reset', '-q', '--hard', 'HEAD~1'); // back to the commit before bob's work: it is committed, so no halt
    await untilContent(join(pair.b, 'src/f0.ts'), committed('src/f0.ts'));
    await settle();
    await bobEdits(SRC.slice(0, 4), 'two');
    await git(pair.a, 'reset', '-q', '--hard');
    await untilHalted(4, 'git reset --hard');
    await expectBobKeeps(SRC.slice(0, 4), 'two');

    const report = await pair.alice.json(['resume'], { cwd: pair.a });
    expect(report).toMatchObject({ root: pair.a, sent: 4, restored: 0 });
    for (const path of SRC.slice(0, 4)) await untilContent(join(pair.b, path), committed(path));
    const saved = await backupFiles(report.backup);
    expect(saved.get('src/f2.ts')).toBe(`${committed('src/f2.ts')}// bob's work two\n`);
    await settle();
  });

  it('git stash halts, and says so', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await bobEdits(SRC.slice(5), 'three');
    await git(pair.a, 'stash', '-q');
    await untilHalted(5, 'git stash');
    await expectBobKeeps(SRC.slice(5), 'three');
    await pair.alice.json(['resume', '--restore'], { cwd: pair.a });
    await untilIdentical(pair.a, pair.b);
    await expectBobKeeps(SRC.slice(5), 'three');
    await git(pair.a, 'stash', 'drop', '-q');
    await settle();
  });

  it('rm -rf of a folder holding bob\'s edits halts; resume --restore brings the folder back', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await bobEdits(SRC.slice(0, 2), 'four');
    await rm(join(pair.a, 'src'), { recursive: true });
    await untilHalted(10, 'rm -r (or git rm, git clean)');
    await expectBobKeeps(SRC.slice(0, 2), 'four');
    const report = await pair.alice.json(['resume', '--restore'], { cwd: pair.a });
    expect(report).toMatchObject({ restored: 10, backup: null });
    await untilIdentical(pair.a, pair.b);
    await expectBobKeeps(SRC.slice(0, 2), 'four');
    await settle();
  });
});

describe('a new file of bob\'s', () => {
  it('git clean -fd halts before his new file leaves the project; resume --restore brings it back', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await writeFile(join(pair.b, 'src/new.ts'), 'export const fresh = true;\n');
    await untilContent(join(pair.a, 'src/new.ts'), 'export const fresh = true;\n');
    await git(pair.a, 'clean', '-fdq');
    await untilHalted(1, 'rm -r (or git rm, git clean)');
    expect(await readFile(join(pair.b, 'src/new.ts'), 'utf8')).toBe('export const fresh = true;\n');
    await pair.alice.json(['resume', '--restore'], { cwd: pair.a });
    await untilContent(join(pair.a, 'src/new.ts'), 'export const fresh = true;\n');
    await settle();
  });
});

describe('changes that discard nobody\'s work', () => {
  it('git checkout -- . over only alice\'s own edits: no halt, synced', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    for (const path of SRC) await writeFile(join(pair.a, path), `${committed(path)}// alice's experiment\n`);
    for (const path of SRC) await untilContent(join(pair.b, path), `${committed(path)}// alice's experiment\n`);
    await git(pair.a, 'checkout', '--', '.');
    for (const path of SRC) await untilContent(join(pair.b, path), await readFile(join(pair.a, path), 'utf8'));
    const folder = await pair.alice.untilSynced(pair.a);
    expect(folder.halt).toBeNull();
    await settle();
  });

  it('a formatter rewriting 50 files, some holding bob\'s live edits: no halt, his edits kept', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    for (const path of FORMATTED.slice(0, 5)) await writeFile(join(pair.b, path), `export const name = "m";\nexport const list = [1,2,3];\nexport const bob = "live";\n`);
    for (const path of FORMATTED.slice(0, 5)) await untilContent(join(pair.a, path), `export const name = "m";\nexport const list = [1,2,3];\nexport const bob = "live";\n`);
    // What prettier --write does to each file: read, reformat, write back in place.
    for (const path of FORMATTED) {
      const text = await readFile(join(pair.a, path), 'utf8');
      await writeFile(join(pair.a, path), text.replaceAll('"', "'").replaceAll('[1,2,3]', '[1, 2, 3]'));
    }
    await untilContent(join(pair.b, 'fmt/m0.ts'), `export const name = 'm';\nexport const list = [1, 2, 3];\nexport const bob = 'live';\n`);
    await untilContent(join(pair.b, 'fmt/m49.ts'), `export const name = 'm';\nexport const list = [1, 2, 3];\n`);
    const folder = await pair.alice.untilSynced(pair.a);
    expect(folder.halt).toBeNull();
    await settle();
  });

  it('the size rule: a setting moves it, and resume sends a large removal', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    const moved = await pair.alice.json(['guard', '--max-files', '20'], { cwd: pair.a });
    expect(moved.guard).toEqual({ maxRemovedFiles: 20, maxRemovedShare: 0.2 });
    await rm(join(pair.a, 'fmt'), { recursive: true });
    await untilHalted(50, 'rm -r (or git rm, git clean)', 'removal');
    const report = await pair.alice.json(['resume'], { cwd: pair.a });
    expect(report).toMatchObject({ sent: 50 });
    await untilIdentical(pair.a, pair.b);
    expect(await readdir(pair.b)).not.toContain('fmt');
    await settle();
    // Off: the same removal goes through (the rule protecting teammates stays on).
    await git(pair.a, 'reset', '-q', '--hard', 'HEAD~1');
    await untilContent(join(pair.b, 'fmt/m7.ts'), `export const name = 'm';\nexport const list = [1, 2, 3];\n`);
    await settle();
    await pair.alice.json(['guard', '--max-files', 'off', '--max-share', 'off'], { cwd: pair.a });
    const before = (await pair.alice.untilSynced(pair.a)).files;
    await rm(join(pair.a, 'fmt'), { recursive: true });
    await pair.alice.untilFolder(pair.a, (status) => expect(status.files).toBe(before - FORMATTED.length));
    await untilIdentical(pair.a, pair.b);
    expect((await pair.alice.untilSynced(pair.a)).halt).toBeNull();
  });
});

describe('deciding when there is nothing to decide, and bad input', () => {
  it('says so, exits non-zero, and changes nothing', { timeout: 60_000 }, async () => {
    const nothing = await pair.alice.run(['resume'], { cwd: pair.a });
    expect(nothing.exitCode).toBe(1);
    expect(nothing.stderr).toContain('holds no changes to decide on');
    const outside = await pair.alice.run(['resume', await world.tempDir('elsewhere')]);
    expect(outside.exitCode).toBe(1);
    expect(outside.stderr).toContain('is not in a synced folder');
    const badShare = await pair.alice.run(['guard', '--max-share', '150%'], { cwd: pair.a });
    expect(badShare.exitCode).toBe(2);
    expect(badShare.stderr).toContain('expected a percentage above 0 and up to 100');
    // The control socket checks what it is sent, whoever sends it.
    const client = await ControlClient.connect(join(pair.alice.home, 'state'));
    try {
      await expect(client.call('resume', { root: pair.a, restore: 'yes' as unknown as boolean })).rejects.toThrow('restore must be true or false');
      await expect(client.call('guard', { root: pair.a, settings: { maxRemovedShare: 7, maxRemovedFiles: -1 } })).rejects.toThrow('maxRemovedShare must be above 0');
    } finally {
      client.close();
    }
    const shown = await pair.alice.json(['guard'], { cwd: pair.a });
    expect(shown.guard).toEqual({ maxRemovedFiles: null, maxRemovedShare: null });
    expect((await pair.alice.untilSynced(pair.a)).halt).toBeNull();
  });
});
