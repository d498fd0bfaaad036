// services.data-mesher.metrics: the Prometheus endpoint, off by default; the rendered
// metrics.listen is what the daemon accepts; its firewall port closed unless asked for.
import { describe, expect, it } from 'vitest'
import { stringify } from 'smol-toml'
import { parseConfig } from '../../src/config/config.js'
import { canEval, evalClanOk, evalModule, evalOk, evalSkipReason } from './helpers.js'

const dm = (body: string): string => `{ services.data-mesher = { enable = true; ${body} }; }`
const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEval) ctx.skip(evalSkipReason) }
const closed = { allowedTCPPorts: [], allowedUDPPorts: [], interfaces: {} }

describe('services.data-mesher.metrics (evaluated with nixpkgs lib)', () => {
  it('is off by default: no [metrics] table, no port opened', (ctx) => {
    need(ctx)
    const v = evalOk(dm(''))
    expect(v.settings.metrics).toBeUndefined()
    expect(v.firewall).toEqual(closed)
  })

  it('renders metrics.listen on loopback when enabled, and keeps the firewall closed', (ctx) => {
    need(ctx)
    const v = evalOk(dm('metrics.enable = true;'))
    expect(v.settings.metrics).toEqual({ listen: '127.0.0.1:9464' })
    expect(v.firewall).toEqual(closed)
    // the daemon's own parser takes what the module renders
    expect(parseConfig(stringify(v.settings)).metrics).toEqual({ listen: '127.0.0.1:9464' })
  })

  it('takes an address and port (IPv6 bracketed), and opens the TCP port only with openFirewall, on the cluster interfaces when set', (ctx) => {
    need(ctx)
    const v6 = evalOk(dm('metrics = { enable = true; address = "fd00::7"; port = 9100; };'))
    expect(v6.settings.metrics).toEqual({ listen: '[fd00::7]:9100' })
    expect(parseConfig(stringify(v6.settings)).metrics).toEqual({ listen: '[fd00::7]:9100' })
    expect(v6.firewall).toEqual(closed)
    const open = evalOk(dm('metrics = { enable = true; address = "10.0.0.7"; openFirewall = true; };'))
    expect(open.firewall).toEqual({ allowedTCPPorts: [9464], allowedUDPPorts: [], interfaces: {} })
    const both = evalOk(dm('openFirewall = true; network.interface = "wg0"; metrics = { enable = true; address = "10.0.0.7"; port = 9100; openFirewall = true; };'))
    expect(both.firewall).toEqual({
      allowedTCPPorts: [], allowedUDPPorts: [],
      interfaces: { wg0: { allowedTCPPorts: [9100, 7946], allowedUDPPorts: [7946] } }
    })
    // the port of the rendered listen, however it was set
    const bySettings = evalOk(dm('metrics = { enable = true; openFirewall = true; }; settings.metrics.listen = "[::]:9200";'))
    expect(bySettings.settings.metrics).toEqual({ listen: '[::]:9200' })
    expect(bySettings.firewall).toEqual({ allowedTCPPorts: [9200], allowedUDPPorts: [], interfaces: {} })
  })

  it('refuses openFirewall without the endpoint, and a bad address at build time', (ctx) => {
    need(ctx)
    const v = evalOk(dm('metrics.openFirewall = true;'))
    expect(v.failedAssertions).toEqual([expect.stringMatching(/metrics\.openFirewall is set but the metrics endpoint is off/)])
    // the rendered file goes through the daemon's own check: a host name is refused there
    const bad = evalOk(dm('metrics = { enable = true; address = "metrics.example"; };'))
    expect(() => parseConfig(stringify(bad.settings))).toThrow(/metrics\.listen: "metrics\.example" is not an IP address/)
    expect(evalModule(dm('metrics = { enable = true; port = 70000; };')).ok).toBe(false)
  })
})

describe('clan service: metrics settings (evaluated with nixpkgs lib, without clan-core)', () => {
  const inventory = (settings: string): string => `{
    machines = { a = { }; b = { }; };
    instances.data-mesher = { module = "data-mesher"; roles.default.machines = { a.settings = ${settings}; b = { }; }; };
  }`

  it('off by default; the role settings map onto services.data-mesher.metrics', (ctx) => {
    need(ctx)
    const off = evalClanOk(inventory('{ }'), 'a')
    expect(off.settings.metrics).toBeUndefined()
    const on = evalClanOk(inventory('{ metrics = { enable = true; address = "10.0.0.1"; port = 9100; openFirewall = true; }; }'), 'a')
    expect(on.failedAssertions).toEqual([])
    expect(on.settings.metrics).toEqual({ listen: '10.0.0.1:9100' })
    expect(on.firewall.allowedTCPPorts).toEqual(expect.arrayContaining([9100]))
    expect(on.firewall.allowedUDPPorts).not.toContain(9100)
  })
})
