// clan-core's own services (github:clan-lol/clan-core, clanServices/data-mesher and
// clanServices/dm-dns) driving our NixOS module, as after
// `inputs.clan-core.inputs.data-mesher.follows = "data-mesher"`: the inventories of
// their VM tests evaluate, and what they render is our config. clan-core's code is
// not part of this repository: point CLAN_CORE_SRC at a checkout (or an extract of its
// clanServices/); without it these tests skip. Needs NIXPKGS_LIB.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canEval, daemonCheck, evalSkipReason, nixpkgsLib, repoRoot } from './helpers.js'
import { spawnSync } from 'node:child_process'

const src = process.env.CLAN_CORE_SRC
const hasSrc = src !== undefined && existsSync(join(src, 'clanServices/data-mesher/default.nix'))
const reason = !canEval ? evalSkipReason : 'CLAN_CORE_SRC is not set to a clan-core checkout: skipping the evaluation of clan-core\'s own services'
if (!canEval || !hasSrc) console.warn(`tests/nix/clan-core-services: ${reason}`)
const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEval || !hasSrc) ctx.skip(reason) }

const ADMIN = 'azwT+VhTxA+BF73Hwq0uqdXHG8XvHU2BknoVXgmEjww='
const DNS_SIGNER = '0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ='
const peerId = (m: string): string => `12D3KooW${m.padEnd(44, 'x')}`

const vars = mkdtempSync(join(tmpdir(), 'dm-clan-core-vars-'))
afterAll(() => rmSync(vars, { recursive: true, force: true }))
function putVar (rel: string, value: string): void {
  mkdirSync(join(vars, rel), { recursive: true })
  writeFileSync(join(vars, rel, 'value'), value)
}
for (const m of ['alpha', 'beta', 'gamma', 'server', 'client']) putVar(`vars/per-machine/${m}/data-mesher-node-identity/peer.id`, peerId(m) + '\n')
putVar('vars/shared/dm-dns-signing-key/signing.pub', DNS_SIGNER + '\n')

// the dm-dns test's per-container settings, and what its unbound needs of the stub
const machineExtras = `[ {
  networking.hosts."10.0.0.1" = [ "server.test" ];
  services.unbound.package = { type = "derivation"; name = "unbound"; outPath = "/nix/store/00000000000000000000000000000000-unbound"; };
} ]`

function evalMachine (inventory: string, machine: string): any {
  const r = spawnSync('nix-instantiate', ['--eval', '--strict', '--json', join(repoRoot, 'tests/nix/eval-clan.nix'),
    '--arg', 'lib', `import ${nixpkgsLib as string}`, '--arg', 'inventory', inventory, '--argstr', 'machine', machine,
    '--arg', 'directory', JSON.stringify(vars), '--arg', 'extraMachineModules', machineExtras], { encoding: 'utf8', cwd: repoRoot })
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout)
}

const svc = (p: string): string => join(src ?? '/nonexistent', 'clanServices', p)
const speedUp = `({ lib, ... }: { services.data-mesher.settings = { log_level = lib.mkForce "debug"; cluster.push_pull_interval = lib.mkForce "5s"; }; })`

describe("clan-core's data-mesher service on our module (its VM test's inventory)", () => {
  const nodes: Record<string, any> = {}
  beforeAll(() => {
    if (!canEval || !hasSrc) return
    const inv = `{
      machines = { alpha = { }; beta = { }; gamma = { }; };
      instances.data-mesher = {
        module = ${svc('data-mesher/default.nix')};
        roles.default.tags = [ "all" ];
        roles.default.extraModules = [ ${speedUp} ];
        roles.default.settings = { network.files.test_file = [ "${ADMIN}" ]; network.namespaces = [ "test_ns" ]; };
        roles.bootstrap.machines = { alpha = { }; beta = { }; };
      };
    }`
    for (const m of ['alpha', 'beta', 'gamma']) nodes[m] = evalMachine(inv, m)
  })

  it('evaluates without a failed assertion and renders only our keys', (ctx) => {
    need(ctx)
    for (const m of ['alpha', 'beta', 'gamma']) expect(nodes[m].failedAssertions, m).toEqual([])
    const s = nodes.gamma.settings
    expect(Object.keys(s).sort()).toEqual(['api', 'cluster', 'files', 'log_level', 'namespaces', 'network', 'state_dir'])
    expect(s.files).toEqual({ test_file: [ADMIN] })
    expect(s.namespaces).toEqual(['test_ns'])
    expect(s.network).toEqual({ id: nodes.gamma.generators['data-mesher-network'].files['network.pub'].path })
    expect(s.api.listen).toBe('127.0.0.1:7331')
    expect(s.cluster.sync_interval).toBe('5s')
    expect(s).not.toHaveProperty('http')
    expect(s.cluster).not.toHaveProperty('bootstrap_peers')
    expect(s.cluster).not.toHaveProperty('push_pull_interval')
  })

  it('its bootstrap peers (built from peer.id vars with their newline) arrive without the newline', (ctx) => {
    need(ctx)
    expect(nodes.gamma.settings.cluster.bootstrap_nodes).toEqual([
      `/dns/alpha.clan/tcp/7946/p2p/${peerId('alpha')}`, `/dns/beta.clan/tcp/7946/p2p/${peerId('beta')}`
    ])
  })

  it('its vars generators call our CLI with the spellings we implement', (ctx) => {
    need(ctx)
    const g = nodes.alpha.generators
    expect(g['data-mesher-network'].script).toMatch(/data-mesher generate network --public-key-path "\$out\/network\.pub" --private-key-path "\$out\/network\.key"/)
    const id = g['data-mesher-node-identity'].script
    expect(id).toMatch(/data-mesher generate identity-key\s+\\\s+--public-key-path "\$out\/identity\.pub"\s+\\\s+--private-key-path "\$out\/identity\.key"/)
    expect(id).toContain('data-mesher peer id "$out/identity.pub" > "$out/peer.id"')
    expect(id).toMatch(/data-mesher certificate sign\s+\\\s+--name data-mesher\s+\\\s+--network-key "\$in\/data-mesher-network\/network\.key"/)
    expect(g['data-mesher-node-identity'].files['identity.key']).toMatchObject({ owner: 'data-mesher', group: 'data-mesher' })
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

describe("clan-core's dm-dns and data-mesher services on our module (the dm-dns VM test's inventory)", () => {
  const nodes: Record<string, any> = {}
  beforeAll(() => {
    if (!canEval || !hasSrc) return
    const inv = `{
      meta.domain = "test";
      machines = { server = { }; client = { }; };
      instances = {
        dm-dns = {
          module = ${svc('dm-dns/default.nix')};
          roles.default.machines = { server = { }; client = { }; };
          roles.default.extraModules = [ ({ pkgs, ... }: { environment.systemPackages = [ pkgs.dnsutils ]; }) ${speedUp} ];
          roles.push.machines.server = { };
          roles.push.extraModules = [ ({ lib, ... }: { clan.core.vars.generators.dm-dns-signing-key.files."signing.key".deploy = lib.mkForce true; }) ];
        };
        test-endpoint = { module = ${svc('dm-dns/tests/vm/test-endpoint.nix')}; roles.default.machines.server = { }; };
        data-mesher = {
          module = ${svc('data-mesher/default.nix')};
          roles.default.machines = { server = { }; client = { }; };
          roles.bootstrap.machines = { client = { }; server = { }; };
        };
      };
    }`
    for (const m of ['server', 'client']) nodes[m] = evalMachine(inv, m)
  })

  it('evaluates on both machines; dns/cnames allowed from the export; files/dns made before the daemon starts', (ctx) => {
    need(ctx)
    for (const m of ['server', 'client']) {
      const n = nodes[m]
      expect(n.failedAssertions, m).toEqual([])
      expect(n.settings.files, m).toEqual({ 'dns/cnames': [DNS_SIGNER] })
      expect(n.tmpfiles, m).toContain('d /var/lib/data-mesher/files/dns 0750 data-mesher data-mesher - -')
      expect(n.tmpfiles, m).toContain('L+ /var/lib/data-mesher/files/home - - - - .')
      expect(n.users.unbound.extraGroups, m).toEqual(['data-mesher'])
    }
    expect(nodes.client.other.unbound.settings.server.include).toBe('"/var/lib/data-mesher/files/home/dns/*"')
    expect(nodes.client.paths['unbound-reload-zones'].pathConfig.PathChanged).toBe('/var/lib/data-mesher/files/home/dns')
  })

  it('renders configs the daemon accepts (daemon --check)', (ctx) => {
    need(ctx)
    for (const m of ['server', 'client']) expect(daemonCheck(nodes[m].settings, vars).code, m).toBe(0)
  })
})
