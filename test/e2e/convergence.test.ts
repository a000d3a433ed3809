// Invariant 2 under random load: see convergence-run.ts. Three short seeds here; `npm run
// soak` runs many longer ones (CODESHARE_SOAK_SEEDS, CODESHARE_SOAK_STEPS, CODESHARE_SOAK_FIRST_SEED).
import { afterAll, beforeAll, describe, it, onTestFailed } from 'vitest';
import { World, type User } from './harness.js';
import { runConvergence } from './convergence-run.js';

const soakSeeds = Number(process.env.CODESHARE_SOAK_SEEDS ?? 0);
const firstSeed = Number(process.env.CODESHARE_SOAK_FIRST_SEED ?? 1);
const seeds = soakSeeds > 0 ? Array.from({ length: soakSeeds }, (_, i) => firstSeed + i) : [1, 2, 3];
const steps = Number(process.env.CODESHARE_SOAK_STEPS ?? (soakSeeds > 0 ? 200 : 40));
const restarts = soakSeeds > 0 ? 3 : 1;

let world: World;
let alice: User;
let bob: User;

beforeAll(async () => {
  world = await World.create();
  alice = await world.user('alice');
  bob = await world.user('bob');
  // Both watcher backends under the same random load: alice's daemon native, bob's chokidar.
  bob.env.CODESHARE_WATCHER = 'chokidar';
});

afterAll(async () => {
  await world?.dispose();
});

describe('convergence', () => {
  for (const seed of seeds) {
    it(`seed ${seed}: ${steps} random operations on both sides end in identical folders and server`, { timeout: 120_000 + steps * 2_000 }, async () => {
      const lines: string[] = [];
      onTestFailed(async () => console.log(`seed ${seed} (replay: CODESHARE_SOAK_SEEDS=1 CODESHARE_SOAK_FIRST_SEED=${seed} CODESHARE_SOAK_STEPS=${steps})\n${lines.join('\n')}\n${await world.dumpLogs()}`));
      const onStall = async () => console.log(`seed ${seed} stalled:\n${lines.join('\n')}\n${await world.dumpLogs()}`);
      await runConvergence(world, alice, bob, { seed, steps, restarts, log: (line) => lines.push(line), onStall });
      if (process.env.CODESHARE_E2E_VERBOSE) console.log(lines.join('\n'));
    });
  }
});
