// The inventories of clan-core's own VM tests (clanServices/data-mesher/tests/vm and
// clanServices/dm-dns/tests/vm at github:clan-lol/clan-core HEAD), evaluated against
// our clan service with the stand-in of clan's machinery (tests/nix/eval-clan.nix),
// and the configs they render checked by the built daemon; the same inventories
// through clan-core's own inventory code are tests/nix/clan-core-services.test.ts.
// Needs NIXPKGS_LIB and `npm run build`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dataMesherTestInventory, dmDnsTestInventory } from './clan-test-inventories.js'
import { canEval, daemonCheck, evalClanOk, evalSkipReason, repoRoot } from './helpers.js'

if (!canEval) console.warn(`tests/nix/clan-inventories: ${evalSkipReason}`)
const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEval) ctx.skip(evalSkipReason) }

const ADMIN = 'azwT+VhTxA+BF73Hwq0uqdXHG8XvHU2BknoVXgmEjww='
const DNS_SIGNER = '0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ='
const peerId = (m: string): string => `12D3KooW${m.padEnd(44, 'x').replace(/[^1-9A-HJ-NP-Za-km-z]/g, 'x')}`

// public vars as `clan vars generate` leaves them in the flake (with trailing newlines)
const vars = mkdtempSync(join(tmpdir(), 'dm-clan-vars-'))
afterAll(() => rmSync(vars, { recursive: true, force: true }))
function putVar (rel: string, value: string): void {
  mkdirSync(join(vars, rel), { recursive: true })
  writeFileSync(join(vars, rel, 'value'), value)
}
for (const m of ['alpha', 'beta', 'gamma', 'server', 'client']) putVar(`vars/per-machine/${m}/data-mesher-node-identity/peer.id`, peerId(m) + '\n')
putVar('vars/shared/dm-dns-signing-key/signing.pub', DNS_SIGNER + '\n')

const dataMesherTest = dataMesherTestInventory(ADMIN)
const dmDnsTest = dmDnsTestInventory('test')

describe("clan-core's data-mesher VM test inventory", () => {
  const nodes: Record<string, any> = {}
  beforeAll(() => {
    if (!canEval) return
    for (const m of ['alpha', 'beta', 'gamma']) nodes[m] = evalClanOk(dataMesherTest, m, vars)
  })

  it('evaluates on every machine (alpha and beta are in default and bootstrap) without a failed assertion', (ctx) => {
    need(ctx)
    for (const m of ['alpha', 'beta', 'gamma']) {
      expect(nodes[m].failedAssertions, m).toEqual([])
      expect(nodes[m].settingsChecked).toBe(true)
      expect(nodes[m].service.serviceConfig.ExecStart).toMatch(/bin\/data-mesher daemon --config \/etc\/data-mesher\/config\.toml$/)
    }
  })

  it('bootstrap peers are the other bootstrap machines, with their peer ids from the vars', (ctx) => {
    need(ctx)
    const addr = (m: string): string => `/dns/${m}.clan/tcp/7946/p2p/${peerId(m)}`
    expect(nodes.alpha.settings.cluster.bootstrap_nodes).toEqual([addr('beta')])
    expect(nodes.beta.settings.cluster.bootstrap_nodes).toEqual([addr('alpha')])
    expect(nodes.gamma.settings.cluster.bootstrap_nodes).toEqual([addr('alpha'), addr('beta')])
  })

  it('renders the files, namespaces and extraModules settings onto our keys', (ctx) => {
    need(ctx)
    const s = nodes.gamma.settings
    expect(s.files).toEqual({ test_file: [ADMIN] })
    expect(s.namespaces).toEqual(['test_ns'])
    expect(s.log_level).toBe('debug')
    expect(s.cluster.sync_interval).toBe('5s')
    expect(s.cluster).not.toHaveProperty('push_pull_interval')
    expect(s.cluster.port).toBe(7946)
    expect(nodes.gamma.firewall).toMatchObject({ allowedTCPPorts: [7946], allowedUDPPorts: [7946] })
  })

  it('delivers under files/home/ as the test reads it (/var/lib/data-mesher/files/home/test_file)', (ctx) => {
    need(ctx)
    expect(nodes.alpha.filesDir).toBe('/var/lib/data-mesher/files')
    expect(nodes.alpha.tmpfiles).toContain('L+ /var/lib/data-mesher/files/home - - - - .')
  })

  it('has the vars generators of clan-core, made with our CLI', (ctx) => {
    need(ctx)
    const g = nodes.alpha.generators
    expect(Object.keys(g).sort()).toEqual(['data-mesher-network', 'data-mesher-node-identity'])
    const net = g['data-mesher-network']
    expect(net.share).toBe(true)
    expect(net.files['network.key']).toMatchObject({ deploy: false })
    expect(net.files['network.pub']).toMatchObject({ secret: false })
    expect(net.script).toContain('data-mesher generate network --private-key-path "$out/network.key" --public-key-path "$out/network.pub"')
    expect(net.runtimeInputs).toEqual(['data-mesher-0.1.0'])
    const id = g['data-mesher-node-identity']
    expect(id.share).toBe(false)
    expect(id.dependencies).toEqual(['data-mesher-network'])
    for (const f of ['identity.key', 'identity.cert']) expect(id.files[f], f).toMatchObject({ secret: true, owner: 'data-mesher', group: 'data-mesher' })
    for (const f of ['identity.pub', 'peer.id']) expect(id.files[f], f).toMatchObject({ secret: false })
    expect(id.script).toContain('data-mesher generate identity-key --private-key-path "$out/identity.key" --public-key-path "$out/identity.pub"')
    expect(id.script).toContain('data-mesher peer id "$out/identity.pub" > "$out/peer.id"')
    expect(id.script).toMatch(/data-mesher certificate sign --name data-mesher \\\n\s+--network-key "\$in\/data-mesher-network\/network\.key" \\\n\s+--identity-key "\$out\/identity\.pub" \\\n\s+--output "\$out\/identity\.cert" --validity 2160h/)
  })

  it('configures the daemon from the vars: identity key, certificate, network id', (ctx) => {
    need(ctx)
    const n = nodes.beta
    const id = n.generators['data-mesher-node-identity'].files
    expect(n.settings.cluster.identity_key).toBe(id['identity.key'].path)
    expect(n.settings.cluster.identity_cert).toBe(id['identity.cert'].path)
    expect(n.settings.network).toEqual({ id: n.generators['data-mesher-network'].files['network.pub'].path })
  })

  it('renders configs the daemon accepts (daemon --check)', (ctx) => {
    need(ctx)
    for (const m of ['alpha', 'beta', 'gamma']) {
      const r = daemonCheck(nodes[m].settings, vars)
      expect(r.stderr, m).toBe('')
      expect(r.code, m).toBe(0)
    }
  })
})

describe("clan-core's dm-dns VM test inventory", () => {
  const nodes: Record<string, any> = {}
  beforeAll(() => {
    if (!canEval) return
    for (const m of ['server', 'client']) nodes[m] = evalClanOk(dmDnsTest, m, vars)
  })

  it('evaluates on both machines', (ctx) => {
    need(ctx)
    for (const m of ['server', 'client']) {
      expect(nodes[m].failedAssertions, m).toEqual([])
      expect(nodes[m].settingsChecked).toBe(true)
    }
    expect(nodes.server.exportScopes.sort()).toEqual(['dm-dns:dm-dns:default:client', 'dm-dns:dm-dns:default:server', 'dm-dns:dm-dns:push:server', 'test-endpoint:test-endpoint:default:server'])
  })

  it('allows the exported dns/cnames with the signing key (trailing newline stripped) on every machine', (ctx) => {
    need(ctx)
    for (const m of ['server', 'client']) expect(nodes[m].settings.files, m).toEqual({ 'dns/cnames': [DNS_SIGNER] })
  })

  it('creates files/dns before the daemon starts, reachable as files/home/dns, and unbound reads it as a group member', (ctx) => {
    need(ctx)
    const c = nodes.client
    expect(c.pluginDirectories).toEqual(['dns'])
    expect(c.tmpfiles).toEqual([
      'd /var/lib/data-mesher 0750 data-mesher data-mesher - -',
      'd /var/lib/data-mesher/files 0750 data-mesher data-mesher - -',
      'd /var/lib/data-mesher/files/dns 0750 data-mesher data-mesher - -',
      'L+ /var/lib/data-mesher/files/home - - - - .'
    ])
    expect(c.users.unbound.extraGroups).toEqual(['data-mesher'])
    expect(c.paths['unbound-reload-zones'].pathConfig.PathChanged).toBe('/var/lib/data-mesher/files/home/dns')
  })

  it('uses the domain of the inventory for the bootstrap peers', (ctx) => {
    need(ctx)
    expect(nodes.server.settings.cluster.bootstrap_nodes).toEqual([`/dns/client.test/tcp/7946/p2p/${peerId('client')}`])
    expect(nodes.client.settings.cluster.bootstrap_nodes).toEqual([`/dns/server.test/tcp/7946/p2p/${peerId('server')}`])
  })

  it('the push role finds the data-mesher-network var', (ctx) => {
    need(ctx)
    expect(nodes.server.variables.DM_DNS_NETWORK_ID).toBe(nodes.server.generators['data-mesher-network'].files['network.pub'].path)
  })

  it('renders configs the daemon accepts (daemon --check)', (ctx) => {
    need(ctx)
    for (const m of ['server', 'client']) expect(daemonCheck(nodes[m].settings, vars).code, m).toBe(0)
  })
})

describe('before `clan vars generate` (no public vars yet)', () => {
  it('evaluates, addressing bootstrap peers by host:port', (ctx) => {
    need(ctx)
    const v = evalClanOk(dataMesherTest, 'gamma')
    expect(v.failedAssertions).toEqual([])
    expect(v.settings.cluster.bootstrap_nodes).toEqual(['alpha.clan:7946', 'beta.clan:7946'])
  })
})

describe("the seed's inventory (roles admin and peer, network.interface, bootstrapNodes, files)", () => {
  const seed = `{
    machines = { server0 = { }; server1 = { }; };
    instances.data-mesher = {
      module = "data-mesher";
      roles.admin.machines.server0.settings = {
        network.interface = "tailscale0";
        bootstrapNodes = [ "192.168.1.1:7946" "192.168.1.2:7946" ];
        files = { "config:app" = [ "${ADMIN}" ]; };
      };
      roles.peer.machines.server1.settings = {
        network.interface = "tailscale0";
        files = { "config:app" = [ "${ADMIN}" ]; };
      };
    };
  }`
  it('still evaluates, and its rendered config passes daemon --check without network identity', (ctx) => {
    need(ctx)
    const v = evalClanOk(seed, 'server1', vars)
    expect(v.failedAssertions).toEqual([])
    expect(v.settings.cluster.interfaces).toEqual(['tailscale0'])
    expect(v.settings.files).toEqual({ 'config:app': [ADMIN] })
    const noNetwork = evalClanOk(seed.replace('network.interface = "tailscale0";\n        files', 'network.interface = "tailscale0"; networkIdentity = false;\n        files'), 'server1', vars)
    expect(noNetwork.settings).not.toHaveProperty('network')
    const r = daemonCheck(noNetwork.settings, vars)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })
})
