import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/redis-global-setup.ts'],
    // Generous: CI machines are shared, and some tests start real processes (the CLI through tsx).
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Two cores: more workers only add contention; tests that share Redis use distinct key prefixes.
    maxWorkers: 2,
  },
});
