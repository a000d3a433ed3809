import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    // Set-up starts servers and daemons: generous, because a loaded CI machine is slow, not wrong.
    hookTimeout: 120_000,
    teardownTimeout: 20_000,
  },
});
