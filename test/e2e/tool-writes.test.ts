// What real tools write arrives, at once and without their scratch files: folders made and
// filled in one go (`mkdir -p x && cp f x/`), a merge that adds folders, and the temporary
// files `sed -i`, vim and JetBrains IDEs write next to the file they save.
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { ControlClient } from '../../common/control-client.js';
import type { FolderEvent } from '../../common/control-protocol.js';
import { World, apiGet, eventually, sh, untilContent, untilIdentical, SYNC_MS, type Pair, type User } from './harness.js';

let world: World;
let pair: Pair;

const git = (cwd: string, ...args: string[]) => sh('git', args, cwd);

beforeAll(async () => {
  world = await World.create();
  pair = await world.sharedPair({ 'README.md': '# repo\n', 'src/config.ts': lines(299) }, ['alice', 'bob'], { gitRepo: true });
});

afterAll(async () => {
  await world?.dispose();
});

function lines(count: number, word = 'foo'): string {
  return Array.from({ length: count }, (_, i) => `export const v${i} = "${word}";\n`).join('');
}

/** Every activity event of a user's daemon from now on, until stop(). */
async function recordActivity(user: User): Promise<{ events: Extract<FolderEvent, { type: 'activity' }>[]; stop: () => void }> {
  const client = await ControlClient.connect(join(user.home, 'state'));
  const events: Extract<FolderEvent, { type: 'activity' }>[] = [];
  client.onEvent((event) => {
    if (event.type === 'activity') events.push(event);
  });
  await client.call('subscribe', {});
  return { events, stop: () => client.close() };
}

/** Paths the server recorded any change of, from its activity feed. */
async function serverActivityPaths(): Promise<string[]> {
  const res = await apiGet<{ items: { path: string }[] }>(world.server.url, pair.alice.token, `/api/projects/${pair.projectId}/activity?limit=200`);
  expect(res.status).toBe(200);
  return res.body.items.map((item) => item.path);
}

describe('what tools write', () => {
  it('carries 200 folders made and filled at once, without waiting for a rescan', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    // The periodic rescan runs every 30 s and SYNC_MS is 20 s: only the live path can pass.
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const dir = join(pair.a, `gen/n${i}/deeper/still`);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'leaf.txt'), `leaf ${i}\n`);
      }),
    );
    await untilContent(join(pair.b, 'gen/n199/deeper/still/leaf.txt'), 'leaf 199\n');
    await untilContent(join(pair.b, 'gen/n0/deeper/still/leaf.txt'), 'leaf 0\n');
    await untilIdentical(pair.a, pair.b, SYNC_MS);
  });

  it('carries a fast-forward merge that adds 50 folders on the tracked branch', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await untilIdentical(pair.a, pair.b);
    await git(pair.a, 'add', '-A');
    await git(pair.a, 'commit', '-q', '-m', 'generated');
    // The feature branch is made in a clone, so alice's folder stays on main throughout.
    const clone = join(await world.tempDir('clone'), 'clone');
    await git(pair.a, 'clone', '-q', pair.a, clone);
    for (let i = 0; i < 50; i++) {
      await mkdir(join(clone, `feature/part${i}/src`), { recursive: true });
      await writeFile(join(clone, `feature/part${i}/src/index.ts`), `export const part = ${i};\n`);
      await writeFile(join(clone, `feature/part${i}/README.md`), `# part ${i}\n`);
    }
    await git(clone, 'add', '-A');
    await git(clone, 'commit', '-q', '-m', 'feature');
    await git(pair.a, 'pull', '-q', '--ff-only', clone, 'main');
    await untilContent(join(pair.b, 'feature/part49/src/index.ts'), 'export const part = 49;\n');
    await untilIdentical(pair.a, pair.b);
    await pair.alice.untilSynced(pair.a);
  });

  it('shares a sed -i, a vim save and a JetBrains safe write as one edit each, and no scratch file', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    await untilIdentical(pair.a, pair.b);
    const alice = await recordActivity(pair.alice);
    const bob = await recordActivity(pair.bob);
    try {
      await sh('sed', ['-i', 's/foo/sed/g', 'src/config.ts'], pair.a);
      await untilContent(join(pair.b, 'src/config.ts'), lines(299, 'sed'));

      await sh('vim', ['-es', '-i', 'NONE', '-c', '%s/sed/vim/g', '-c', 'wq', 'src/config.ts'], pair.a, { HOME: pair.alice.home });
      await untilContent(join(pair.b, 'src/config.ts'), lines(299, 'vim'));

      // A JetBrains IDE saves through two scratch names and two renames.
      const target = join(pair.a, 'src/config.ts');
      await writeFile(`${target}___jb_tmp___`, lines(299, 'idea'));
      await rename(target, `${target}___jb_old___`);
      await rename(`${target}___jb_tmp___`, target);
      await unlink(`${target}___jb_old___`);
      await untilContent(join(pair.b, 'src/config.ts'), lines(299, 'idea'));
      await untilIdentical(pair.a, pair.b);
      await pair.alice.untilSynced(pair.a);
      await pair.bob.untilSynced(pair.b);
    } finally {
      alice.stop();
      bob.stop();
    }
    const scratch = (path: string) => path !== 'src/config.ts' && path.startsWith('src/');
    expect(alice.events.filter((e) => scratch(e.path)), 'alice shared a scratch file').toEqual([]);
    expect(bob.events.filter((e) => scratch(e.path)), 'bob saw a scratch file').toEqual([]);
    expect((await serverActivityPaths()).filter(scratch), 'the server recorded a scratch file').toEqual([]);
    const edits = alice.events.map((e) => `${e.action} ${e.path}`);
    expect(edits, "alice's activity feed").toEqual(['edited src/config.ts', 'edited src/config.ts', 'edited src/config.ts']);
    expect(alice.events.map((e) => [e.linesAdded, e.linesRemoved])).toEqual([[299, 299], [299, 299], [299, 299]]);
  });

  it('shares a file created and filled in a new folder once it settled, and never one removed at once', { timeout: 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    const alice = await recordActivity(pair.alice);
    try {
      await writeFile(join(pair.a, 'src/scratch.tmp.txt'), 'gone in a moment\n');
      await unlink(join(pair.a, 'src/scratch.tmp.txt'));
      await writeFile(join(pair.a, 'src/kept.txt'), 'kept\n');
      await untilContent(join(pair.b, 'src/kept.txt'), 'kept\n');
      await pair.alice.untilSynced(pair.a);
    } finally {
      alice.stop();
    }
    expect(alice.events.map((e) => `${e.action} ${e.path}`)).toEqual(['created src/kept.txt']);
    await eventually(async () => expect(await serverActivityPaths()).toContain('src/kept.txt'), SYNC_MS, 100);
    expect(await serverActivityPaths()).not.toContain('src/scratch.tmp.txt');
  });
});
