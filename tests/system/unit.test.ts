// The unit the containers run is the one the project ships: rendered by
// nixos/render-unit.mjs from nixos/service-settings.json, the file the NixOS module
// reads too. With nixpkgs' lib at hand (NIXPKGS_LIB, nix-instantiate) the module is
// evaluated and its [Service] settings are compared line by line with the unit used
// here; without it, that comparison is skipped (tests/nix makes the same one).
import { describe, expect, it } from 'vitest'
import { canEval, evalOk, evalSkipReason, renderServiceSection } from '../nix/helpers.js'
import { daemonUnit } from './harness/units.js'

/** [Service] lines of a unit file */
function serviceLines (unit: string): string[] {
  const out: string[] = []
  let inService = false
  for (const line of unit.split('\n')) {
    if (line.startsWith('[')) inService = line === '[Service]'
    else if (inService && line.includes('=')) out.push(line)
  }
  return out
}

// set per platform: binary paths, the Nix store PATH
const PER_PLATFORM = ['ExecStart', 'ExecReload', 'Environment']

describe('data-mesher.service as installed in the containers', () => {
  it('is Type=notify, unprivileged and sandboxed', async () => {
    const lines = serviceLines(await daemonUnit())
    for (const l of ['Type=notify', 'NotifyAccess=all', 'User=data-mesher', 'Group=data-mesher', 'StateDirectory=data-mesher',
      'RuntimeDirectory=data-mesher', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'PrivateTmp=yes']) {
      expect(lines).toContain(l)
    }
    expect(lines.some((l) => l.startsWith('WatchdogSec='))).toBe(true)
  })

  it.skipIf(!canEval)(`carries the NixOS module's [Service] settings${canEval ? '' : ` (skipped: ${evalSkipReason})`}`, async () => {
    const v = evalOk('{ services.data-mesher = { enable = true; }; }')
    const fromModule = renderServiceSection(v.service.serviceConfig).filter((l) => !PER_PLATFORM.includes(l.slice(0, l.indexOf('='))))
    const here = serviceLines(await daemonUnit()).filter((l) => !PER_PLATFORM.includes(l.slice(0, l.indexOf('='))))
    expect(here.sort()).toEqual(fromModule.sort())
  })
})
