import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/redis-global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: more workers only add contention; tests that share Redis use distinct key prefixes.
    maxWorkers: 2,
  },
});
