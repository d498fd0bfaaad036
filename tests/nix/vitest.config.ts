import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// `npm run test:nix` = `vitest run --config tests/nix/vitest.config.ts`
// Checks of the Nix side that run without Nix's binary cache: every .nix file
// parses, render-unit.mjs, and (with NIXPKGS_LIB set) the NixOS module, the package
// and the clan service evaluated with nixpkgs' lib against a stub of NixOS; with
// CLAN_CORE_SRC too, the clan inventories evaluated through clan-core's own
// inventory code. With CI=true a missing one fails the run (./ci-sources.ts).
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['tests/nix/**/*.test.ts'],
    globalSetup: ['tests/nix/ci-sources.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2 } }
  }
})
