// Issue 19 in nixos/module.nix: what a node's CLI signs for (item 5) and how a renewed
// certificate reaches the running daemon (item 1). Needs NIXPKGS_LIB (tests/nix/helpers.ts).
import { describe, expect, it } from 'vitest'
import { canEval, evalOk, evalSkipReason } from './helpers.js'

const dm = (body: string): string => `{ services.data-mesher = { enable = true; ${body} }; }`

describe('services.data-mesher and issue 19', () => {
  const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEval) ctx.skip(evalSkipReason) }

  it('sets DATA_MESHER_NETWORK_ID to network.id, so `file update` on the node signs for its own network; none without a network', (ctx) => {
    need(ctx)
    const v = evalOk(dm('settings.network.id = "/run/secrets/network.pub";'))
    expect(v.variables.DATA_MESHER_NETWORK_ID).toBe('/run/secrets/network.pub')
    expect(evalOk(dm('')).variables).not.toHaveProperty('DATA_MESHER_NETWORK_ID')
  })

  it('a new certificate path or certificate authority list reloads the daemon (SIGHUP), not restarts it; the identity key still restarts', (ctx) => {
    need(ctx)
    const svc = (cluster: string): any => evalOk(dm(`settings.network.id = "/n.pub"; settings.cluster = { ${cluster} };`)).service
    const a = svc('identity_key = "/k"; identity_cert = "/nix/store/a-identity.cert"; certificate_authorities = [ ];')
    const cert = svc('identity_key = "/k"; identity_cert = "/nix/store/b-identity.cert"; certificate_authorities = [ ];')
    const cas = svc('identity_key = "/k"; identity_cert = "/nix/store/a-identity.cert"; certificate_authorities = [ "/old.pub" ];')
    const key = svc('identity_key = "/k2"; identity_cert = "/nix/store/a-identity.cert"; certificate_authorities = [ ];')
    for (const changed of [cert, cas]) {
      expect(changed.reloadTriggers).not.toEqual(a.reloadTriggers)
      expect(changed.restartTriggers).toEqual(a.restartTriggers)
    }
    expect(key.restartTriggers).not.toEqual(a.restartTriggers)
    expect(a.serviceConfig.ExecReload).toMatch(/kill -HUP \$MAINPID$/)
  })
})
