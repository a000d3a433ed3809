import isInCi from 'is-in-ci';
import { defineConfig } from 'vitest/config';

/** Files that replace a module with vi.mock: they need a fresh module graph of their own. */
const MOCKING_FILES = ['test/daemon/atomic-write-failure.test.ts', 'test/daemon/scan-never-enters-ignored.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    // In CI every test is listed with its suite, so the log shows each storage suite ran on
    // PGlite and on PostgreSQL ("migrations [postgres] > ...").
    reporters: isInCi ? ['verbose'] : ['default'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    // Set-up starts servers and daemons: generous, because a loaded CI machine is slow, not wrong.
    hookTimeout: 120_000,
    teardownTimeout: 20_000,
    projects: [
      {
        extends: true,
        // A worker keeps its imported modules from one file to the next: importing the server,
        // PGlite and the CLI again for every file cost a third of the suite's time. Every file
        // cleans up what it starts, so nothing else carries over.
        test: { name: 'suite', include: ['test/**/*.test.ts', 'test/**/*.test.tsx'], exclude: MOCKING_FILES, isolate: false },
      },
      { extends: true, test: { name: 'mocking', include: MOCKING_FILES, isolate: true } },
    ],
  },
});
