// CI pulls a shared project of 1,000 files with a viewer token and no daemon.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { World, eventually, expectIdentical, serverFiles, writeTree, type TreeSpec } from './harness.js';

describe('codeshare pull in CI', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create();
  });
  afterAll(async () => {
    await world.dispose();
  });

  it('pulls a 1,000-file project into an empty folder, byte-identical, and a wrong token exits 1', { timeout: 180_000 }, async () => {
    const tree: TreeSpec = {};
    for (let i = 0; i < 1000; i++) {
      const folder = `pkg${i % 20}/sub${i % 7}`;
      if (i % 50 === 0) tree[`${folder}/asset${i}.bin`] = Buffer.from([0, 1, 2, i % 256, 255, 254]);
      else if (i % 97 === 0) tree[`${folder}/run${i}.sh`] = { content: `#!/bin/sh\necho ${i}\n`, mode: 0o755 };
      else tree[`${folder}/file${i}.ts`] = `export const value${i} = ${i};\r\n// line two\n`.repeat((i % 5) + 1);
    }
    const alice = await world.user('alice');
    const shared = join(await world.tempDir('shared'), 'app');
    await writeTree(shared, tree);
    const result = await alice.share(shared, 'app');
    // The server materialises files within a second of the last edit.
    await eventually(async () => expect((await serverFiles(world.server.url, alice.token, result.projectId)).length).toBe(1000), 30_000, 200);

    const token = (await alice.json<{ token: string }>(['token', 'create', '--name', 'ci', '--project', result.project, '--role', 'viewer'])).token;
    const ciHome = await world.tempDir('ci-home');
    const target = join(await world.tempDir('ci'), 'checkout');
    const env = { CODESHARE_SERVER: world.server.url, CODESHARE_TOKEN: token, CI: 'true' };
    const pulled = await runCli(['pull', result.project, target, '--json'], { home: ciHome, env, timeoutMs: 120_000 });
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    const summary = JSON.parse(pulled.stdout) as { files: number; written: number; failed: unknown[] };
    expect(summary).toMatchObject({ files: 1000, written: 1000, failed: [] });
    await expectIdentical(shared, target);

    const wrong = await runCli(['pull', result.project, join(await world.tempDir('ci2'), 'x')], {
      home: ciHome,
      env: { ...env, CODESHARE_TOKEN: 'cs_wrong-token' },
    });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toMatch(/token/i);
  });
});
