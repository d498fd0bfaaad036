// Evaluating a machine of a clan inventory through clan-core's own inventory code
// (tests/nix/eval-clan-core.nix), for tests/nix/clan-core-services.test.ts and
// tests/nix/clan-vars-scripts.test.ts. Needs NIXPKGS_LIB and CLAN_CORE_SRC.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { clanCoreSrc, nixInstantiate, nixpkgsLib, repoRoot } from './helpers.js'

export const ADMIN = 'azwT+VhTxA+BF73Hwq0uqdXHG8XvHU2BknoVXgmEjww='
export const DNS_SIGNER = '0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ='
export const peerId = (m: string): string => `12D3KooW${m.padEnd(44, 'x').replace(/[^1-9A-HJ-NP-Za-km-z]/g, 'x')}`

export const tmp = mkdtempSync(join(tmpdir(), 'dm-clan-core-'))
afterAll(() => {
  // the copied clan-core tree keeps the source's read-only directories
  spawnSync('chmod', ['-R', 'u+w', tmp])
  rmSync(tmp, { recursive: true, force: true })
})

// public vars as `clan vars generate` leaves them in the flake (with trailing newlines)
export const vars = join(tmp, 'flake')
function putVar (rel: string, value: string): void {
  mkdirSync(join(vars, rel), { recursive: true })
  writeFileSync(join(vars, rel, 'value'), value)
}
for (const m of ['alpha', 'beta', 'gamma', 'server', 'client', 'a', 'b']) putVar(`vars/per-machine/${m}/data-mesher-node-identity/peer.id`, peerId(m) + '\n')
putVar('vars/shared/dm-dns-signing-key/signing.pub', DNS_SIGNER + '\n')

/**
 * The clan-core tree to evaluate. The extract CI gets lacks
 * lib/jsonschema/flattenOneOf.nix, which clan-core's check that role interfaces are
 * JSON (lib/inventory/distributed-service/api.nix) reads for a `nullOr` option (our
 * service's network.interface; clan-core's own service has none). For such a tree a
 * copy gets a small one written here: it flattens nested `oneOf` lists, which is all
 * the check needs to evaluate the schema. A full checkout is used as it is.
 */
let tree: string | undefined
export function clanCoreTree (): string {
  tree ??= makeClanCoreTree()
  return tree
}
function makeClanCoreTree (): string {
  const src = clanCoreSrc as string
  if (existsSync(join(src, 'lib/jsonschema/flattenOneOf.nix'))) return src
  const copy = join(tmp, 'clan-core')
  cpSync(src, copy, { recursive: true })
  // the source is read-only (as in CI) and the copy keeps its modes
  chmodSync(join(copy, 'lib/jsonschema'), 0o755)
  writeFileSync(join(copy, 'lib/jsonschema/flattenOneOf.nix'), `# written by data-mesher's tests/nix (not part of clan-core's extract)
{ lib, ... }:
let
  flatten = schemas: lib.concatMap (s: if s ? oneOf && lib.attrNames s == [ "oneOf" ] then flatten s.oneOf else [ s ]) schemas;
in
schemas: lib.unique (flatten schemas)
`)
  return copy
}

// what the dm-dns test's unbound needs of the stub NixOS
const unboundPackage = '{ services.unbound.package = { type = "derivation"; name = "unbound"; outPath = "/nix/store/00000000000000000000000000000000-unbound"; }; }'

export interface MachineEval { value: any, stderr: string }

export function evalClanCoreMachine (tree: string, args: { vmTest?: string, inventory?: string, machine: string, dataMesherInput?: string, system?: string, extra?: string[] }): MachineEval {
  const a = ['--eval', '--strict', '--json', join(repoRoot, 'tests/nix/eval-clan-core.nix'),
    '--arg', 'lib', `import ${nixpkgsLib as string}`, '--arg', 'clanCore', tree,
    '--argstr', 'machine', args.machine, '--arg', 'directory', JSON.stringify(vars),
    '--arg', 'extraMachineModules', `[ ${unboundPackage} ${(args.extra ?? []).join(' ')} ]`]
  if (args.vmTest !== undefined) a.push('--argstr', 'vmTest', args.vmTest)
  if (args.inventory !== undefined) a.push('--arg', 'inventory', args.inventory)
  if (args.dataMesherInput !== undefined) a.push('--argstr', 'dataMesherInput', args.dataMesherInput)
  if (args.system !== undefined) a.push('--argstr', 'system', args.system)
  const r = nixInstantiate(a)
  if (r.status !== 0) throw new Error(`evaluation of ${args.vmTest ?? 'the inventory'}/${args.machine} failed:\n${r.stderr}`)
  return { value: JSON.parse(r.stdout), stderr: r.stderr }
}

