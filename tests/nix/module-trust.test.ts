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
})
