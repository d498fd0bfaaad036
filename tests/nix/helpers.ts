// Shared helpers for tests/nix: locating nix-instantiate and nixpkgs' lib, and
// evaluating tests/nix/eval-module.nix.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { stringify as stringifyToml } from 'smol-toml'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)))

function onPath (cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

export const hasNix = onPath('nix-instantiate')
export const hasSystemdAnalyze = onPath('systemd-analyze')

export const NO_NIX = 'nix-instantiate is not installed (Debian package nix-bin): skipping'

/**
 * The environment nix-instantiate runs in. Debian's nix-bin without
 * nix-setup-systemd has no `nixbld` group, and Nix then warns on every call that
 * its default build-users-group does not exist; evaluation builds nothing, so that
 * setting is cleared there (only there: on a Nix machine with a daemon the client
 * must not send it).
 */
export const nixEnv: NodeJS.ProcessEnv = (() => {
  if (!hasNix) return process.env
  const probe = spawnSync('nix-instantiate', ['--eval', '-E', '1'], { encoding: 'utf8' })
  if (!/build-users-group/.test(probe.stderr)) return process.env
  const prior = process.env.NIX_CONFIG
  return { ...process.env, NIX_CONFIG: `${prior !== undefined && prior !== '' ? prior + '\n' : ''}build-users-group =` }
})()

/** Runs nix-instantiate with `args` in the repository, in {@link nixEnv}. */
export function nixInstantiate (args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync('nix-instantiate', args, { encoding: 'utf8', cwd: repoRoot, env: nixEnv })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** nixpkgs' lib directory (the one holding default.nix), from $NIXPKGS_LIB (relative: to the working directory). */
export const nixpkgsLib: string | undefined = (() => {
  const p = process.env.NIXPKGS_LIB
  if (p === undefined || p === '') return undefined
  for (const dir of [resolve(p), resolve(p, 'lib')]) {
    if (existsSync(join(dir, 'default.nix')) && existsSync(join(dir, 'modules.nix'))) return resolve(dir)
  }
  throw new Error(`NIXPKGS_LIB=${p} holds no nixpkgs lib (no default.nix and modules.nix there or in lib/)`)
})()

export const NO_LIB = 'NIXPKGS_LIB is not set: skipping the evaluation of the NixOS module ' +
  '(set NIXPKGS_LIB to a checkout of nixpkgs\' lib, e.g. nix-community/nixpkgs.lib, to run it)'

export const canEval = hasNix && nixpkgsLib !== undefined
export const evalSkipReason = !hasNix ? NO_NIX : NO_LIB

/**
 * A clan-core source tree, from $CLAN_CORE_SRC (relative: to the working directory):
 * a checkout, or the extract CI gets (lib/, modules/clan, modules/inventoryClass and
 * the data-mesher and dm-dns services).
 */
export const clanCoreSrc: string | undefined = (() => {
  const p = process.env.CLAN_CORE_SRC
  if (p === undefined || p === '') return undefined
  const dir = resolve(p)
  for (const f of ['lib/default.nix', 'lib/inventory/distributed-service/service-module.nix', 'modules/clan/distributed-services.nix', 'clanServices/data-mesher/default.nix', 'clanServices/dm-dns/default.nix']) {
    if (!existsSync(join(dir, f))) throw new Error(`CLAN_CORE_SRC=${p} is not a clan-core source tree (no ${f})`)
  }
  return dir
})()

export const NO_CLAN_CORE = 'CLAN_CORE_SRC is not set: skipping the evaluation through clan-core\'s own inventory code ' +
  '(set CLAN_CORE_SRC to a clan-core checkout to run it)'
export const canEvalClanCore = canEval && clanCoreSrc !== undefined
export const clanCoreSkipReason = !canEval ? evalSkipReason : NO_CLAN_CORE

/** Every .nix file of the repository outside node_modules and .git. */
export function nixFiles (dir = repoRoot): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === '.git' || name === 'dist' || name === 'result') continue
    const p = join(dir, name)
    const st = statSync(p)
    if (st.isDirectory()) out.push(...nixFiles(p))
    else if (name.endsWith('.nix')) out.push(p)
  }
  return out.sort()
}

export interface EvalResult {
  ok: boolean
  value?: any
  stderr: string
}

/**
 * Evaluates tests/nix/eval-module.nix with `config` (a Nix expression for a module)
 * and returns the JSON it produces, or the error text.
 */
export function evalModule (config: string, opts: { hasQuic?: boolean, file?: string } = {}): EvalResult {
  const file = opts.file ?? join(repoRoot, 'tests/nix/eval-module.nix')
  const args = ['--eval', '--strict', '--json', file,
    '--arg', 'lib', `import ${nixpkgsLib as string}`,
    '--arg', 'config', config]
  if (opts.hasQuic === false) args.push('--arg', 'hasQuic', 'false')
  const r = nixInstantiate(args)
  if (r.status !== 0) return { ok: false, stderr: r.stderr }
  return { ok: true, value: JSON.parse(r.stdout), stderr: r.stderr }
}

export function evalOk (config: string, opts: { hasQuic?: boolean } = {}): any {
  const r = evalModule(config, opts)
  if (!r.ok) throw new Error(`evaluation failed:\n${r.stderr}`)
  return r.value
}

/** Evaluates a Nix expression (with `lib` in scope) to JSON. */
export function nixEval (expr: string): any {
  const out = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E',
    `let lib = import ${nixpkgsLib as string}; in ${expr}`], { encoding: 'utf8', cwd: repoRoot, env: nixEnv })
  return JSON.parse(out)
}

/** Renders a NixOS serviceConfig the way NixOS writes [Service] (lists = repeated lines). */
export function renderServiceSection (serviceConfig: Record<string, unknown>, extra: string[] = []): string[] {
  const lines = [...extra]
  for (const key of Object.keys(serviceConfig).sort()) {
    const v = serviceConfig[key]
    for (const x of Array.isArray(v) ? v : [v]) {
      lines.push(`${key}=${typeof x === 'boolean' ? (x ? 'true' : 'false') : String(x)}`)
    }
  }
  return lines
}

/** The built CLI (npm run build); the tests that run `daemon --check` need it. */
export const BUILT_CLI = join(repoRoot, 'dist/src/cli/bin.js')

/**
 * Runs the real `data-mesher daemon --config F --check` on a config the module
 * rendered (its settings as JSON, written out as TOML like pkgs.formats.toml does).
 */
export function daemonCheck (settings: unknown, dir: string): { code: number, stdout: string, stderr: string } {
  if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run npm run build first`)
  const file = join(dir, `rendered-${Math.random().toString(36).slice(2)}.toml`)
  writeFileSync(file, stringifyToml(settings as Record<string, unknown>))
  const r = spawnSync(process.execPath, [BUILT_CLI, 'daemon', '--config', file, '--check'], { encoding: 'utf8' })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

/**
 * Evaluates one machine of a clan inventory (a Nix expression) with the stand-in of
 * clan's service machinery, tests/nix/eval-clan.nix; `directory` holds public vars.
 */
export function evalClan (inventory: string, machine: string, directory?: string): EvalResult {
  const args = ['--eval', '--strict', '--json', join(repoRoot, 'tests/nix/eval-clan.nix'),
    '--arg', 'lib', `import ${nixpkgsLib as string}`, '--arg', 'inventory', inventory, '--argstr', 'machine', machine]
  if (directory !== undefined) args.push('--arg', 'directory', JSON.stringify(directory))
  const r = nixInstantiate(args)
  if (r.status !== 0) return { ok: false, stderr: r.stderr }
  return { ok: true, value: JSON.parse(r.stdout), stderr: r.stderr }
}

export function evalClanOk (inventory: string, machine: string, directory?: string): any {
  const r = evalClan(inventory, machine, directory)
  if (!r.ok) throw new Error(`evaluation failed:\n${r.stderr}`)
  return r.value
}
