// The node/V8 flags and the environment the daemon ships with, so that the bench measures
// what runs: the daemons, the floor process and bench:profile start `node` with these.
// docs/DECISIONS.md ("V8 settings", issue 22) has the figures the flags were chosen by
// (none is set), and "glibc's malloc gives memory back" those of the environment.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../../src/package-root.js'

export const DAEMON_NODE_FLAGS: string[] = []

/**
 * The environment the systemd unit gives the daemon: the Environment= lines of
 * nixos/service-settings.json, the file the NixOS module and render-unit.mjs read.
 */
export const DAEMON_ENV: Record<string, string> = unitEnvironment(
  JSON.parse(readFileSync(join(packageRoot(), 'nixos', 'service-settings.json'), 'utf8')) as { Environment?: string | string[] })

export function unitEnvironment (settings: { Environment?: string | string[] }): Record<string, string> {
  const lines = [settings.Environment ?? []].flat()
  return Object.fromEntries(lines.map(kv => {
    const at = kv.indexOf('=')
    if (at <= 0) throw new Error(`service-settings.json: Environment entry ${JSON.stringify(kv)} is not KEY=value`)
    return [kv.slice(0, at), kv.slice(at + 1)]
  }))
}
