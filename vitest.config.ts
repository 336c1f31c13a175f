import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites start servers and child processes; two cores, so two at a time.
    pool: 'forks',
    maxWorkers: 2,
  },
});
