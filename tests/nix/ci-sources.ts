// globalSetup of `npm run test:nix`: on CI (CI=true) every evaluation test must run,
// so a missing nix-instantiate, NIXPKGS_LIB or CLAN_CORE_SRC fails the run here,
// naming what is missing, instead of letting the tests skip. Elsewhere they skip
// with the reason printed.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'

export function missingForFullRun (env: NodeJS.ProcessEnv): string[] {
  const missing: string[] = []
  if (spawnSync('sh', ['-c', 'command -v nix-instantiate'], { stdio: 'ignore' }).status !== 0) {
    missing.push('nix-instantiate (Debian package nix-bin)')
  }
  const lib = env.NIXPKGS_LIB
  if (lib === undefined || lib === '' || ![resolve(lib), resolve(lib, 'lib')].some(d => existsSync(join(d, 'modules.nix')))) {
    missing.push(`NIXPKGS_LIB (nixpkgs' lib; got ${JSON.stringify(lib ?? null)})`)
  }
  const clan = env.CLAN_CORE_SRC
  if (clan === undefined || clan === '' || !existsSync(join(resolve(clan), 'lib/inventory/distributed-service'))) {
    missing.push(`CLAN_CORE_SRC (a clan-core source tree; got ${JSON.stringify(clan ?? null)})`)
  }
  return missing
}

export default function setup (): void {
  if (process.env.CI !== 'true') return
  const missing = missingForFullRun(process.env)
  if (missing.length > 0) {
    throw new Error(`tests/nix on CI (CI=true) runs every evaluation test, but these are missing: ${missing.join('; ')}. ` +
      '.ci/run sets NIXPKGS_LIB=../shared/vendor/nixpkgs-lib and CLAN_CORE_SRC=../shared/vendor/clan-core.')
  }
}
