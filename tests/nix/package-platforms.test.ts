// nixos/package.nix and the per-platform optional packages of package-lock.json
// (@chainsafe/libp2p-quic-<platform>): QUIC is only counted on where the lock pins the
// platform's package by its integrity, and packages of other platforms are not
// fetched at all. Needs NIXPKGS_LIB.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { canEval, evalSkipReason, nixpkgsLib, repoRoot, nixInstantiate } from './helpers.js'

if (!canEval) console.warn(`tests/nix/package-platforms: ${evalSkipReason}`)
const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEval) ctx.skip(evalSkipReason) }

const tmp = mkdtempSync(join(tmpdir(), 'dm-nix-lock-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const QUIC = 'node_modules/@chainsafe/libp2p-quic-'
const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'))

function evalWithLock (system: string, edit: (l: any) => void): any {
  const l = structuredClone(lock)
  edit(l)
  const file = join(tmp, `lock-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify(l))
  const r = nixInstantiate(['--eval', '--strict', '--json', join(repoRoot, 'tests/nix/eval-package.nix'),
    '--arg', 'lib', `import ${nixpkgsLib as string}`, '--argstr', 'system', system, '--arg', 'lockFile', file])
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout)
}
const FAKE = 'sha512-' + Buffer.alloc(64, 7).toString('base64')

describe('per-platform optional packages', () => {
  it('QUIC needs the integrity of the platform\'s package: an entry without one does not count', (ctx) => {
    need(ctx)
    const without = evalWithLock('aarch64-linux', l => { delete l.packages[`${QUIC}linux-arm64-gnu`].integrity })
    expect(without.hasQuic).toBe(false)
    const withIt = evalWithLock('aarch64-linux', l => { l.packages[`${QUIC}linux-arm64-gnu`].integrity = FAKE })
    expect(withIt.hasQuic).toBe(true)
    expect(withIt.fetched).toContain(`${QUIC}linux-arm64-gnu`)
  })

  it('fetches only the host platform\'s optional packages', (ctx) => {
    need(ctx)
    const all = (l: any): void => {
      for (const p of ['darwin-arm64', 'darwin-x64', 'linux-arm64-gnu', 'linux-arm64-musl', 'linux-x64-musl', 'win32-x64-msvc']) l.packages[QUIC + p].integrity = FAKE
    }
    const x64 = evalWithLock('x86_64-linux', all)
    expect(x64.fetched.filter((p: string) => p.startsWith(QUIC))).toEqual([`${QUIC}linux-x64-gnu`])
    expect(x64.unresolved).toEqual([])
    const arm = evalWithLock('aarch64-linux', all)
    expect(arm.fetched.filter((p: string) => p.startsWith(QUIC))).toEqual([`${QUIC}linux-arm64-gnu`])
  })

  it('the committed lock: x86_64-linux has QUIC; aarch64-linux has it exactly when the lock pins its integrity', (ctx) => {
    need(ctx)
    expect(evalWithLock('x86_64-linux', () => {}).hasQuic).toBe(true)
    expect(evalWithLock('aarch64-linux', () => {}).hasQuic).toBe(lock.packages[`${QUIC}linux-arm64-gnu`]?.integrity !== undefined)
  })
})
