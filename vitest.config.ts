import { defineConfig } from 'vitest/config'

// `npm test`: unit, integration (real daemons) and mesh tests. The system (nspawn) and
// nix suites have their own configs and scripts: npm run test:system, npm run test:nix.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/system/**', 'tests/nix/**', 'node_modules/**'],
    setupFiles: ['./tests/setup.ts'],
    testTimeout: 120_000, // generous: CI shares 2 cores between two test files at a time
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2 } }
  }
})
