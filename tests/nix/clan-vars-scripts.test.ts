// The vars generators of our clan service, run as `clan vars generate` runs them:
// each script in bash with $out (and $in for its dependencies), with the built CLI
// as `data-mesher` on PATH; and, for an admin on macOS, the generators of both ways
// of running this flake (clan-core's service on our module, and our service) as
// evaluated for aarch64-darwin through clan-core's inventory code: they take the
// darwin package, which is available there, and their scripts run with a CLI whose
// QUIC module cannot load (none is shipped for darwin). Needs NIXPKGS_LIB
// (and CLAN_CORE_SRC for the darwin part) and `npm run build`.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { clanCoreTree, evalClanCoreMachine } from './clan-core-eval.js'
import { BUILT_CLI, canEval, canEvalClanCore, clanCoreSkipReason, daemonCheck, evalClanOk, evalSkipReason, repoRoot } from './helpers.js'

if (!canEval) console.warn(`tests/nix/clan-vars-scripts: ${evalSkipReason}`)
const tmp = mkdtempSync(join(tmpdir(), 'dm-clan-vars-run-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function cliHas (...args: string[]): boolean {
  return existsSync(BUILT_CLI) && spawnSync(process.execPath, [BUILT_CLI, ...args, '--help'], { encoding: 'utf8' }).status === 0
}
const CLI_PENDING = 'the built CLI lacks `generate network` / `certificate sign` (network-identity work not merged)'

interface Generator { dependencies: string[], script: string, files: Record<string, unknown> }

/** Runs the generators in dependency order (as listed) with `data-mesher` = the built CLI (`nodeArgs` before it); returns each one's $out. */
function runGenerators (gens: Record<string, Generator>, names: string[], label: string, nodeArgs: string[] = []): Record<string, string> {
  const root = join(tmp, label)
  const bin = join(root, 'bin')
  mkdirSync(bin, { recursive: true })
  writeFileSync(join(bin, 'data-mesher'), `#!/bin/sh\nexec "${process.execPath}" ${nodeArgs.map(a => `"${a}"`).join(' ')} "${BUILT_CLI}" "$@"\n`)
  chmodSync(join(bin, 'data-mesher'), 0o755)
  const outOf: Record<string, string> = {}
  for (const name of names) {
    const out = join(root, 'out', name)
    const inDir = join(root, 'in', name)
    mkdirSync(out, { recursive: true })
    mkdirSync(inDir, { recursive: true })
    for (const dep of gens[name].dependencies) spawnSync('ln', ['-s', outOf[dep], join(inDir, dep)])
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', gens[name].script], {
      encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, out, in: inDir }
    })
    expect(r.stderr, `${label} ${name}`).not.toMatch(/error/i)
    expect(r.status, `${label} ${name}`).toBe(0)
    for (const f of Object.keys(gens[name].files)) expect(existsSync(join(out, f)), `${label} ${name}/${f}`).toBe(true)
    outOf[name] = out
  }
  return outOf
}

describe('the vars generators run with our CLI', () => {
  it('make the network key, the identity key, its peer id and a 90-day certificate the daemon config points at', (ctx) => {
    if (!canEval) ctx.skip(evalSkipReason)
    if (!cliHas('generate', 'network') || !cliHas('certificate', 'sign')) ctx.skip(CLI_PENDING)
    const v = evalClanOk('{ machines.a = { }; instances.data-mesher = { module = "data-mesher"; roles.default.machines.a = { }; roles.bootstrap.machines.a = { }; }; }', 'a')
    const gens = v.generators

    const outOf = runGenerators(gens, ['data-mesher-network', 'data-mesher-node-identity'], 'linux')
    const id = outOf['data-mesher-node-identity']
    expect(readFileSync(join(id, 'peer.id'), 'utf8').trim()).toMatch(/^12D3KooW/)
    expect(statSync(join(id, 'identity.key')).mode & 0o077).toBe(0)
    const show = spawnSync(process.execPath, [BUILT_CLI, 'certificate', 'show', join(id, 'identity.cert')], { encoding: 'utf8' })
    expect(show.status).toBe(0)
    // valid for 90 days (2160h) from now, give or take a day
    const dates = [...show.stdout.matchAll(/\d{4}-\d\d-\d\d[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?/g)].map(m => Date.parse(m[0].replace(' ', 'T')))
    expect(dates.some(d => Math.abs(d - (Date.now() + 90 * 86400_000)) < 86400_000)).toBe(true)

    // the rendered config, pointed at the generated files, passes the daemon's check
    const settings = structuredClone(v.settings)
    settings.network.id = join(outOf['data-mesher-network'], 'network.pub')
    settings.cluster.identity_key = join(id, 'identity.key')
    settings.cluster.identity_cert = join(id, 'identity.cert')
    const r = daemonCheck(settings, tmp)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })
})

describe("on a macOS admin's machine (aarch64-darwin): the generators take the darwin package and run without QUIC", () => {
  const NO_QUIC = ['--import', join(repoRoot, 'tests/nix/no-quic.mjs')]

  it('the no-QUIC CLI really cannot load the QUIC module', (ctx) => {
    if (!existsSync(BUILT_CLI)) ctx.skip('npm run build first')
    const probe = join(repoRoot, 'tests/nix/no-quic.mjs')
    const r = spawnSync(process.execPath, ['--import', probe, '--input-type=module', '-e', "await import('@chainsafe/libp2p-quic')"], { encoding: 'utf8', cwd: repoRoot })
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/hidden by tests\/nix\/no-quic\.mjs/)
  })

  for (const [way, input] of [["clan-core's service on our module", undefined], ["this flake's service", 'data-mesher']] as const) {
    it(`${way}: evaluates for aarch64-darwin, its generators' package is available there, and they run`, (ctx) => {
      if (!canEvalClanCore) ctx.skip(clanCoreSkipReason)
      if (!cliHas('generate', 'network') || !cliHas('certificate', 'sign')) ctx.skip(CLI_PENDING)
      const tree = clanCoreTree()
      const darwin = evalClanCoreMachine(tree, { vmTest: 'data-mesher', machine: 'alpha', dataMesherInput: input, system: 'aarch64-darwin' }).value
      const linux = evalClanCoreMachine(tree, { vmTest: 'data-mesher', machine: 'alpha', dataMesherInput: input }).value
      const gens = darwin.generators
      for (const name of ['data-mesher-network', 'data-mesher-node-identity']) {
        expect(gens[name].runtimeInputPaths, name).toEqual([darwin.packagePath])
        expect(gens[name].runtimeInputsAvailable, name).toBe(true)
      }
      // a different package from the Linux machines' one: the darwin build
      expect(darwin.packagePath).not.toBe(linux.packagePath)
      const outOf = runGenerators(gens, ['data-mesher-network', 'data-mesher-node-identity'], `darwin-${input ?? 'clan-core'}`, NO_QUIC)
      expect(readFileSync(join(outOf['data-mesher-node-identity'], 'peer.id'), 'utf8').trim()).toMatch(/^12D3KooW/)
    })
  }
})
