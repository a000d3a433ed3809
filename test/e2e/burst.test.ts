// A burst: thousands of files in hundreds of new folders unpacked by `tar -x` into a live
// folder arrive whole in the teammate's folder and on the server, without waiting for the
// periodic rescan. bench/burst.ts times the same thing at 9,000 files against share + join.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { seededRandom } from '../../bench/lib.js';
import { World, expectServerMatches, sh, untilIdentical, type Pair } from './harness.js';

/** `CODESHARE_BURST_FILES=9000 npx vitest run test/e2e/burst.test.ts` runs the full size. */
const FILES = Number(process.env.CODESHARE_BURST_FILES) || 3000;
/** A deadline, not a timing: the periodic rescan is 30 s, so a missed file fails by content. */
const BURST_MS = 240_000;

let world: World;
let pair: Pair;

beforeAll(async () => {
  world = await World.create();
  pair = await world.sharedPair({ 'README.md': '# burst\n' });
});

afterAll(async () => {
  await world?.dispose();
});

/** FILES small files in FILES/30 nested folders, packed as a tarball. */
async function generatedTarball(): Promise<string> {
  const random = seededRandom(0x7a2);
  const tree = join(await world.tempDir('tree'), 'tree');
  const folders: string[] = [];
  while (folders.length < FILES / 30) {
    const parent = folders.length > 0 && random() < 0.7 ? `${folders[Math.floor(random() * folders.length)]}/` : '';
    if (parent.split('/').length > 5) continue;
    folders.push(`${parent}d${folders.length}`);
  }
  for (const folder of folders) await mkdir(join(tree, folder), { recursive: true });
  for (let i = 0; i < FILES; i++) {
    const folder = folders[Math.floor(random() * folders.length)]!;
    const lines = Array.from({ length: 1 + Math.floor(random() * 20) }, (_, line) => `export const f${i}_${line} = ${Math.floor(random() * 1e6)};\n`);
    await writeFile(join(tree, folder, `file${i}.ts`), lines.join(''));
  }
  const tarball = join(await world.tempDir('tarball'), 'tree.tar');
  await sh('tar', ['-cf', tarball, '-C', tree, '.'], tree);
  return tarball;
}

describe('a burst of files', () => {
  it(`carries ${FILES} files unpacked by tar -x into a live folder, whole`, { timeout: BURST_MS + 120_000 }, async () => {
    onTestFailed(async () => console.log(await world.dumpLogs()));
    const tarball = await generatedTarball();
    await sh('tar', ['-xf', tarball, '-C', pair.a], pair.a);
    // Asked of bob's daemon (cheap), so the waiting does not load the machine it measures.
    await pair.bob.untilFolder(pair.b, (folder) => expect(folder.files).toBe(FILES + 1), BURST_MS);
    await pair.bob.untilSynced(pair.b, BURST_MS);
    await pair.alice.untilSynced(pair.a, BURST_MS);
    await untilIdentical(pair.a, pair.b);
    await expectServerMatches(world.server.url, pair.alice.token, pair.projectId, pair.b);
  });
});
