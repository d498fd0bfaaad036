import { defineConfig } from 'vitest/config'

// npm run test:system  (= vitest run --config tests/system/vitest.config.ts)
// Needs root, systemd-nspawn and debootstrap; see docs/SYSTEM-TESTS.md.
// One file at a time, one test at a time: the tests boot real containers.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['tests/system/**/*.test.ts'],
    globalSetup: ['tests/system/global-setup.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 5 * 60_000,
    hookTimeout: 5 * 60_000,
    teardownTimeout: 2 * 60_000,
    bail: 0,
    reporters: ['verbose']
  }
})
