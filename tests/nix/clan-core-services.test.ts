// The inventories of clan-core's two VM tests (clanServices/data-mesher/tests/vm and
// clanServices/dm-dns/tests/vm, read from clan-core's own files), evaluated through
// clan-core's own inventory code (modules/clan, lib/inventory/distributed-service:
// tests/nix/eval-clan-core.nix) in the two ways a clan switches to this flake:
//   - "follows": clan-core's data-mesher service (module input null) on this flake's
//     NixOS module;
//   - "flake": the same inventory with instances.data-mesher.module.input =
//     "data-mesher", i.e. this flake's clan.modules.data-mesher.
// Every machine evaluates without a failed assertion and without a warning (the
// NixOS `warnings` and Nix's own evaluation warnings), and the config it renders
// passes the built daemon's `daemon --check`. Needs NIXPKGS_LIB, CLAN_CORE_SRC and
// `npm run build`.
import { beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, DNS_SIGNER, clanCoreTree, evalClanCoreMachine, peerId, tmp, type MachineEval } from './clan-core-eval.js'
import { canEvalClanCore, clanCoreSkipReason, daemonCheck } from './helpers.js'

if (!canEvalClanCore) console.warn(`tests/nix/clan-core-services: ${clanCoreSkipReason}`)
const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEvalClanCore) ctx.skip(clanCoreSkipReason) }

const WAYS = [
  { way: "clan-core's service on this flake's module (follows)", input: undefined, serviceId: '<clan-core>-data-mesher' },
  { way: "this flake's service (module.input = \"data-mesher\")", input: 'data-mesher', serviceId: 'data-mesher-data-mesher' }
]

for (const { way, input, serviceId } of WAYS) {
  describe(`clan-core's data-mesher VM test, ${way}`, () => {
    const nodes: Record<string, MachineEval> = {}
    beforeAll(() => {
      if (!canEvalClanCore) return
      const tree = clanCoreTree()
      for (const m of ['alpha', 'beta', 'gamma']) nodes[m] = evalClanCoreMachine(tree, { vmTest: 'data-mesher', machine: m, dataMesherInput: input })
    })

    it('every machine evaluates through clan-core\'s inventory code, with no failed assertion and no warning', (ctx) => {
      need(ctx)
      for (const m of ['alpha', 'beta', 'gamma']) {
        const v = nodes[m].value
        expect(Object.keys(v.services), m).toEqual([serviceId])
        expect(v.failedAssertions, m).toEqual([])
        expect(v.warnings, m).toEqual([])
        expect(nodes[m].stderr, m).toBe('')
        expect(v.service.serviceConfig.ExecStart, m).toMatch(/bin\/data-mesher daemon --config \/etc\/data-mesher\/config\.toml$/)
        // the firewall opens what the daemon listens on
        expect(v.firewall, m).toEqual({ allowedTCPPorts: [v.settings.cluster.port], allowedUDPPorts: [v.settings.cluster.port], interfaces: {} })
      }
    })

    it('renders the test\'s files, namespaces, extraModules and bootstrap role onto our keys', (ctx) => {
      need(ctx)
      const s = nodes.gamma.value.settings
      expect(s.files).toEqual({ test_file: [ADMIN] })
      expect(s.namespaces).toEqual(['test_ns'])
      expect(s.log_level).toBe('debug')
      expect(s.network).toEqual({ id: nodes.gamma.value.generators['data-mesher-network'].files['network.pub'].path })
      expect(s.cluster.identity_key).toBe('/run/secrets/vars/data-mesher-node-identity/identity.key')
      // clan-core's http.port/http.interfaces = [ "lo" ] become our loopback API
      if (input === undefined) expect(s.api.listen).toBe('127.0.0.1:7331')
      expect(s).not.toHaveProperty('http')
      // the bootstrap machines' peer.id vars, their trailing newline gone
      const addr = (m: string): string => `/dns/${m}.clan/tcp/7946/p2p/${peerId(m)}`
      expect(s.cluster.bootstrap_nodes).toEqual([addr('alpha'), addr('beta')])
    })

    it('declares the two vars generators, calling our CLI', (ctx) => {
      need(ctx)
      const g = nodes.alpha.value.generators
      expect(Object.keys(g).sort()).toEqual(['data-mesher-network', 'data-mesher-node-identity'])
      expect(g['data-mesher-network'].script).toMatch(/data-mesher generate network/)
      expect(g['data-mesher-node-identity'].script).toMatch(/data-mesher certificate sign/)
      expect(g['data-mesher-node-identity'].runtimeInputs).toEqual([nodes.alpha.value.package])
      expect(g['data-mesher-node-identity'].files['identity.key']).toMatchObject({ owner: 'data-mesher', group: 'data-mesher' })
    })

    it('renders configs the daemon accepts (daemon --check)', (ctx) => {
      need(ctx)
      for (const m of ['alpha', 'beta', 'gamma']) {
        const r = daemonCheck(nodes[m].value.settings, tmp)
        expect(r.stderr, m).toBe('')
        expect(r.code, m).toBe(0)
      }
    })
  })

  describe(`clan-core's dm-dns VM test, ${way}`, () => {
    const nodes: Record<string, MachineEval> = {}
    beforeAll(() => {
      if (!canEvalClanCore) return
      const tree = clanCoreTree()
      for (const m of ['server', 'client']) nodes[m] = evalClanCoreMachine(tree, { vmTest: 'dm-dns', machine: m, dataMesherInput: input })
    })

    it('both machines evaluate with no failed assertion and no warning; the exports reach every node', (ctx) => {
      need(ctx)
      for (const m of ['server', 'client']) {
        const v = nodes[m].value
        expect(Object.keys(v.services).sort(), m).toEqual([serviceId, 'self-@clan/dm-dns', 'self-test-endpoint'].sort())
        expect(v.failedAssertions, m).toEqual([])
        expect(v.warnings, m).toEqual([])
        expect(nodes[m].stderr, m).toBe('')
        expect(v.exportScopes, m).toEqual(['dm-dns:dm-dns:default:client', 'dm-dns:dm-dns:default:server', 'dm-dns:dm-dns:push:server', 'test-endpoint:test-endpoint:default:server'])
        // dm-dns's dataMesher export: dns/cnames signed by its key (the var's newline stripped)
        expect(v.settings.files, m).toEqual({ 'dns/cnames': [DNS_SIGNER] })
        expect(v.tmpfiles, m).toContain('d /var/lib/data-mesher/files/dns 0750 data-mesher data-mesher - -')
        expect(v.tmpfiles, m).toContain('L+ /var/lib/data-mesher/files/home - - - - .')
        expect(v.users.unbound.extraGroups, m).toEqual(['data-mesher'])
      }
      // the inventory's domain (test) in the bootstrap addresses
      expect(nodes.client.value.settings.cluster.bootstrap_nodes).toContain(`/dns/server.test/tcp/7946/p2p/${peerId('server')}`)
      expect(nodes.client.value.other.unbound.settings.server.include).toBe('"/var/lib/data-mesher/files/home/dns/*"')
      expect(nodes.server.value.generators['dm-dns-signing-key'].script).toMatch(/data-mesher generate signing-key/)
    })

    it('renders configs the daemon accepts (daemon --check)', (ctx) => {
      need(ctx)
      for (const m of ['server', 'client']) {
        const r = daemonCheck(nodes[m].value.settings, tmp)
        expect(r.stderr, m).toBe('')
        expect(r.code, m).toBe(0)
      }
    })
  })
}

describe("clan-core's service with `port = 8000` and `interfaces` (the firewall follows what the daemon listens on)", () => {
  const inventory = `{
    machines = { a = { }; b = { }; };
    instances.data-mesher = {
      module.name = "data-mesher";
      roles.default.machines = { a = { }; b = { }; };
      roles.default.settings = { port = 8000; };
      roles.default.machines.b.settings = { interfaces = [ "eth1" "tailscale0" ]; };
      roles.bootstrap.machines.a = { };
    };
  }`

  it('opens 8000 (UDP and TCP) on every address, or on each listed interface', (ctx) => {
    need(ctx)
    const tree = clanCoreTree()
    const a = evalClanCoreMachine(tree, { inventory, machine: 'a' }).value
    expect(a.failedAssertions).toEqual([])
    expect(a.settings.cluster.port).toBe(8000)
    expect(a.firewall).toEqual({ allowedTCPPorts: [8000], allowedUDPPorts: [8000], interfaces: {} })
    const b = evalClanCoreMachine(tree, { inventory, machine: 'b' }).value
    expect(b.settings.cluster.interfaces).toEqual(['eth1', 'tailscale0'])
    expect(b.settings.cluster.bootstrap_nodes).toEqual([`/dns/a.clan/tcp/8000/p2p/${peerId('a')}`])
    const on8000 = { allowedTCPPorts: [8000], allowedUDPPorts: [8000] }
    expect(b.firewall).toEqual({ allowedTCPPorts: [], allowedUDPPorts: [], interfaces: { eth1: on8000, tailscale0: on8000 } })
  })
})
