// nixos/package.nix's handling of package-lock.json, with stub builders
// (tests/nix/eval-package.nix): every registry entry becomes a fixed-output fetch
// checked against the lock's integrity, and the QUIC module is kept. Needs NIXPKGS_LIB.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { canEval, evalSkipReason, nixpkgsLib, repoRoot, nixInstantiate } from './helpers.js'

if (!canEval) console.warn(`tests/nix/package: ${evalSkipReason}`)
const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEval) ctx.skip(evalSkipReason) }

function evalPackage (extra: string[] = []): any {
  const r = nixInstantiate(['--eval', '--strict', '--json', join(repoRoot, 'tests/nix/eval-package.nix'),
    '--arg', 'lib', `import ${nixpkgsLib as string}`, ...extra])
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout)
}

describe('nixos/package.nix (evaluated with stub builders)', () => {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'))
  const pkgJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'))

  it('builds with `npm run build` and checks the result', (ctx) => {
    need(ctx)
    const v = evalPackage()
    expect(v.pname).toBe('data-mesher')
    expect(v.version).toBe(pkgJson.version)
    expect(v.npmBuildScript).toBe('build')
    expect(v.hasInstallCheck).toBe(true)
    // the build bundles (scripts/bundle.ts) and the bin runs the bundle
    expect(pkgJson.scripts.build).toContain('dist/scripts/bundle.js')
    expect(pkgJson.bin['data-mesher']).toBe('dist/bundle/data-mesher.mjs')
    expect(pkgJson.files).toContain('dist/bundle')
    // in the source fileset (not evaluated here: lib.fileset needs a newer nix than CI's)
    expect(readFileSync(join(repoRoot, 'nixos/package.nix'), 'utf8')).toContain('(root + "/scripts/bundle.ts")')
    expect(v.installCheckRunsBundle).toBe(true)
  })

  it('turns every registry entry of the lock into a store path, nested ones included', (ctx) => {
    need(ctx)
    const v = evalPackage()
    const entries = Object.entries(lock.packages).filter(([p, m]: [string, any]) => p !== '' && m.integrity !== undefined)
    expect(v.registryEntries).toBe(entries.length)
    expect(v.unresolved).toEqual([])
    // the ones left out are optional packages of other platforms (os/cpu/libc say so)
    expect(v.fetched.length + v.otherPlatformPackages.length).toBe(entries.length)
    for (const p of v.otherPlatformPackages) {
      const m = lock.packages[p]
      expect(m.optional, p).toBe(true)
      expect(m.os !== undefined || m.cpu !== undefined || m.libc !== undefined, p).toBe(true)
    }
    expect(v.nested).toMatch(/^file:\/nix\/store\/\w+-npm-uint8arraylist-/)
    expect(Object.keys(v.dependencies)).toEqual(Object.keys(pkgJson.dependencies))
    for (const d of Object.values(v.dependencies)) expect(d).toMatch(/^file:\/nix\/store\//)
  })

  it('keeps the QUIC native module on x86_64-linux and checks that it loads', (ctx) => {
    need(ctx)
    const v = evalPackage()
    expect(v.hasQuic).toBe(true)
    expect(v.quicModule).toMatch(/^file:\/nix\/store\/\w+-npm-chainsafe-libp2p-quic-linux-x64-gnu-2\./)
    expect(v.installCheckLoadsQuic).toBe(true)
  })

  it('knows when the lock lacks the QUIC module for the platform (no integrity: not fetchable)', (ctx) => {
    need(ctx)
    const has = lock.packages['node_modules/@chainsafe/libp2p-quic-linux-arm64-gnu']?.integrity !== undefined
    expect(evalPackage(['--argstr', 'system', 'aarch64-linux']).hasQuic).toBe(has)
  })

  it('fetches plain tarball URLs when npmRegistry is given', (ctx) => {
    need(ctx)
    const v = evalPackage(['--argstr', 'npmRegistry', 'https://registry.invalid/'])
    expect(v.quicModule).toMatch(/-libp2p-quic-linux-x64-gnu-2\.1\.1\.tgz$/)
    expect(v.unresolved).toEqual([])
  })
})
