// Every .nix file of the repository parses (nix-instantiate --parse).
import { relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hasNix, NO_NIX, nixFiles, repoRoot, nixInstantiate } from './helpers.js'

if (!hasNix) {
  // CI installs nix-bin (.ci/run); a missing parser there is a failure, not a skip.
  if (process.env.CI === 'true') throw new Error('tests/nix: nix-instantiate is missing on CI (install the Debian package nix-bin)')
  console.warn(`tests/nix/parse: ${NO_NIX}`)
}

describe('every .nix file parses', () => {
  const files = nixFiles()

  it('finds the flake, the module, the clan service and the VM test', () => {
    const rel = files.map(f => relative(repoRoot, f))
    for (const f of ['flake.nix', 'nixos/module.nix', 'nixos/clan-service.nix', 'nixos/package.nix', 'nixos/tests/default.nix']) {
      expect(rel).toContain(f)
    }
  })

  for (const file of files) {
    it(relative(repoRoot, file), (ctx) => {
      if (!hasNix) ctx.skip(NO_NIX)
      const r = nixInstantiate(['--parse', file])
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
    })
  }
})
