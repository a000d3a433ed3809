// The tools people really run on a folder: sed -i and vim (which replace the file by a rename),
// npm install (node_modules stays local), a .env (secrets stay local), and git switching branch
// (the folder pauses instead of syncing the other branch, and resumes when back).
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  World,
  apiGet,
  eventually,
  expectServerMatches,
  readTree,
  sh,
  sleep,
  untilContent,
  untilIdentical,
  SYNC_MS,
  type Pair,
  type TreeEntry,
} from './harness.js';

let world: World;
let pair: Pair;

const git = (cwd: string, ...args: string[]) => sh('git', args, cwd);

/** Quiet time after which a change that was going to leak would have reached the server and bob. */
const LEAK_WINDOW_MS = 2000;

beforeAll(async () => {
  world = await World.create();
  pair = await world.sharedPair({
    'README.md': '# repo\n',
    'src/config.ts': 'export const mode = "foo";\nexport const level = "foo";\n',
    'src/main.ts': 'console.log("main");\n',
    'src/vim-target.ts': 'const foo = 1;\nconst bar = foo + 1;\n',
    'package.json': '{"name":"repo","version":"1.0.0"}\n',
    'only-on-main.txt': 'main has this\n',
  }, ['alice', 'bob'], { gitRepo: true });
});

afterAll(async () => {
  await world?.dispose();
});

describe('editors and tools', () => {
  it('syncs an edit made with sed -i', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await sh('sed', ['-i', 's/foo/sed-bar/g', 'src/config.ts'], pair.a);
    await untilContent(join(pair.b, 'src/config.ts'), 'export const mode = "sed-bar";\nexport const level = "sed-bar";\n');
    await untilIdentical(pair.a, pair.b);
  });

  it('syncs an edit saved by vim, which writes through a rename', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await sh('vim', ['-es', '-i', 'NONE', '-c', '%s/foo/vimmed/g', '-c', 'wq', 'src/vim-target.ts'], pair.b, { HOME: pair.bob.home });
    await untilContent(join(pair.a, 'src/vim-target.ts'), 'const vimmed = 1;\nconst bar = vimmed + 1;\n');
    // No swap, backup or probe file of vim's travels.
    await untilIdentical(pair.a, pair.b);
    expect([...(await readTree(pair.a)).keys()].filter((path) => /\.sw.$|~$|4913/.test(path))).toEqual([]);
  });

  it('keeps node_modules and .env local', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    const pkg = join(await world.tempDir('pkg'), 'tiny-pkg');
    await mkdir(pkg);
    await writeFile(join(pkg, 'package.json'), '{"name":"tiny-pkg","version":"1.0.0","main":"index.js"}\n');
    await writeFile(join(pkg, 'index.js'), 'module.exports = 42;\n');
    await sh('npm', ['install', pkg, '--install-links', '--no-audit', '--no-fund', '--offline', '--ignore-scripts'], pair.a, {
      npm_config_cache: join(pair.alice.home, 'npm-cache'),
      npm_config_update_notifier: 'false',
    });
    expect(existsSync(join(pair.a, 'node_modules/tiny-pkg/index.js'))).toBe(true);
    await writeFile(join(pair.a, '.env'), 'SECRET=alice\n');
    await writeFile(join(pair.b, '.env'), 'SECRET=bob\n');
    await writeFile(join(pair.a, '.env.local'), 'SECRET=alice-local\n');
    // package.json changed with the install: once it has arrived, so would have node_modules.
    const packageJson = await readFile(join(pair.a, 'package.json'), 'utf8');
    expect(packageJson).toContain('tiny-pkg');
    await untilContent(join(pair.b, 'package.json'), packageJson);
    await writeFile(join(pair.a, 'after-install.txt'), 'barrier\n');
    await untilContent(join(pair.b, 'after-install.txt'), 'barrier\n');
    await untilIdentical(pair.a, pair.b);

    expect(existsSync(join(pair.b, 'node_modules'))).toBe(false);
    expect(existsSync(join(pair.b, '.env.local'))).toBe(false);
    expect(await readFile(join(pair.b, '.env'), 'utf8')).toBe('SECRET=bob\n');
    expect(await readFile(join(pair.a, '.env'), 'utf8')).toBe('SECRET=alice\n');
    const files = await eventually(async () => {
      const res = await apiGet<{ items: { path: string }[] }>(world.server.url, pair.alice.token, `/api/projects/${pair.projectId}/files?limit=200`);
      const paths = res.body.items.map((f) => f.path);
      expect(paths).toContain('after-install.txt');
      return paths;
    }, SYNC_MS, 100);
    expect(files.filter((path) => path.startsWith('node_modules') || path.startsWith('.env'))).toEqual([]);
  });

  it('pauses on another git branch, leaks nothing of it, and resumes on the tracked one', { timeout: 180_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await untilIdentical(pair.a, pair.b);
    // Whatever earlier tests changed is committed, so switching branch is clean.
    await git(pair.a, 'add', '-A');
    await git(pair.a, 'commit', '-q', '-m', 'earlier edits');
    expect((await pair.alice.folderStatus(pair.a)).trackedBranch).toBe('main');

    const bobBefore = await readTree(pair.b);
    const activityBefore = (
      await apiGet<{ items: { id: number; path: string }[] }>(world.server.url, pair.alice.token, `/api/projects/${pair.projectId}/activity?limit=200`)
    ).body.items;
    await git(pair.a, 'checkout', '-q', '-b', 'other');
    await pair.alice.untilFolder(pair.a, (folder) => {
      expect(folder.state).toBe('paused');
      expect(folder.branch).toBe('other');
    });

    // Work on the branch: edits, a new file, a removal, committed.
    await writeFile(join(pair.a, 'src/main.ts'), 'console.log("branch work");\n');
    await writeFile(join(pair.a, 'branch-only.txt'), 'only on the branch\n');
    await git(pair.a, 'rm', '-q', 'only-on-main.txt');
    await git(pair.a, 'add', '-A');
    await git(pair.a, 'commit', '-q', '-m', 'branch work');
    await expectNothingLeaked(bobBefore);
    expect((await pair.alice.folderStatus(pair.a)).state).toBe('paused');

    // A teammate keeps working on the tracked branch meanwhile.
    await writeFile(join(pair.b, 'README.md'), '# repo\nbob edited this while alice was away\n');

    await git(pair.a, 'checkout', '-q', 'main');
    await pair.alice.untilSynced(pair.a);
    await untilContent(join(pair.a, 'README.md'), '# repo\nbob edited this while alice was away\n');
    await untilIdentical(pair.a, pair.b);
    expect(existsSync(join(pair.b, 'branch-only.txt'))).toBe(false);
    expect(await readFile(join(pair.b, 'src/main.ts'), 'utf8')).toBe('console.log("main");\n');
    expect(await readFile(join(pair.b, 'only-on-main.txt'), 'utf8')).toBe('main has this\n');

    // Switching to a branch whose files differ rewrites them all at once: still nothing leaks.
    await git(pair.a, 'add', '-A');
    await git(pair.a, 'commit', '-q', '-m', 'bob\'s edit');
    const bobOnMain = await readTree(pair.b);
    await git(pair.a, 'checkout', '-q', 'other');
    expect(await readFile(join(pair.a, 'branch-only.txt'), 'utf8')).toBe('only on the branch\n');
    await pair.alice.untilFolder(pair.a, (folder) => expect(folder.state).toBe('paused'));
    await expectNothingLeaked(bobOnMain);

    await git(pair.a, 'checkout', '-q', 'main');
    await pair.alice.untilSynced(pair.a);
    await writeFile(join(pair.a, 'back-on-main.txt'), 'syncing again\n');
    await untilContent(join(pair.b, 'back-on-main.txt'), 'syncing again\n');
    await untilIdentical(pair.a, pair.b);

    // The server never recorded any change to the files the branch touched.
    const activity = await apiGet<{ items: { id: number; path: string; action: string }[] }>(
      world.server.url,
      pair.alice.token,
      `/api/projects/${pair.projectId}/activity?limit=200`,
    );
    expect(activity.status).toBe(200);
    const branchPaths = ['branch-only.txt', 'only-on-main.txt', 'src/main.ts'];
    const lastBefore = Math.max(...activityBefore.filter((item) => branchPaths.includes(item.path)).map((item) => item.id));
    expect(activity.body.items.filter((item) => branchPaths.includes(item.path) && item.id > lastBefore)).toEqual([]);
  });
});

/** Neither bob's folder nor the server saw anything of alice's branch. */
async function expectNothingLeaked(bobBefore: Map<string, TreeEntry>): Promise<void> {
  await sleep(LEAK_WINDOW_MS);
  expect(contents(await readTree(pair.b))).toEqual(contents(bobBefore));
  await expectServerMatches(world.server.url, pair.alice.token, pair.projectId, pair.b);
}

function contents(tree: Map<string, TreeEntry>): Record<string, string> {
  return Object.fromEntries([...tree].map(([path, entry]) => [path, entry.kind === 'symlink' ? `-> ${entry.target}` : entry.bytes.toString('utf8')]));
}
