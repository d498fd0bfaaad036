// nixos/clan-service.nix evaluated without clan-core (tests/nix/eval-clan.nix):
// role interfaces, perInstance, and the NixOS module they produce. And the
// examples of nixos/examples/. Needs NIXPKGS_LIB.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { canEval, evalClan, evalClanOk, evalOk, evalSkipReason, repoRoot } from './helpers.js'

if (!canEval) console.warn(`tests/nix/clan-service: ${evalSkipReason}`)
const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEval) ctx.skip(evalSkipReason) }

const KEY = '0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ='
const KEY2 = 'qmXrueiPEKomPo8uhOfAF7wEAodPh6xELKGmIcKix8A='

// an inventory with one data-mesher instance of the given roles, machines a, b, c, server0, server1
const inventory = (roles: string): string => `{
  machines = { a = { }; b = { }; c = { }; server0 = { }; server1 = { }; };
  instances.data-mesher = { module = "data-mesher"; roles = ${roles}; };
}`
function evalRoles (roles: string, machine: string): { ok: boolean, value?: any, stderr: string } {
  return evalClan(inventory(roles), machine)
}
function node (roles: string, machine: string): any {
  return evalClanOk(inventory(roles), machine)
}

describe('clan service (evaluated with nixpkgs lib, without clan-core)', () => {
  const adminPeer = `{
    admin.machines.server0.settings = {
      network.interface = "tailscale0";
      bootstrapNodes = [ "192.168.1.1:7946" "192.168.1.2:7946" ];
      files = { "config:app" = [ "${KEY}" ]; "shared:data" = [ "${KEY}" "${KEY2}" ]; };
    };
    peer.machines.server1.settings = {
      network.interface = "tailscale0";
      files = { "config:app" = [ "${KEY}" ]; };
    };
  }`

  it('is a clan.service named data-mesher with the roles of the clan docs', (ctx) => {
    need(ctx)
    const v = node('{ default.machines.a = { }; bootstrap.machines.a = { }; }', 'a').services['data-mesher']
    expect(v._class).toBe('clan.service')
    expect(v.name).toBe('data-mesher')
    expect(v.roleNames).toEqual(['admin', 'bootstrap', 'default', 'peer', 'signer'])
  })

  it('maps the admin/peer inventory onto services.data-mesher', (ctx) => {
    need(ctx)
    const peer = node(adminPeer, 'server1')
    expect(peer.failedAssertions).toEqual([])
    expect(peer.settings.cluster.interfaces).toEqual(['tailscale0'])
    expect(peer.settings.cluster.port).toBe(7946)
    // an admin is a bootstrap node of the others
    expect(peer.settings.cluster.bootstrap_nodes).toEqual(['server0.clan:7946'])
    expect(peer.settings.files).toEqual({ 'config:app': [KEY] })
    expect(peer.firewall.interfaces).toEqual({ tailscale0: { allowedTCPPorts: [7946], allowedUDPPorts: [7946] } })
    expect(peer.service.serviceConfig.Type).toBe('notify')

    const admin = node(adminPeer, 'server0')
    expect(admin.settings.cluster.bootstrap_nodes).toEqual(['192.168.1.1:7946', '192.168.1.2:7946'])
    expect(admin.settings.files['shared:data']).toEqual([KEY, KEY2])
  })

  it('with only the default role, every other machine is a bootstrap node', (ctx) => {
    need(ctx)
    const roles = `{ default.machines = { a.settings.files."config_app" = [ "${KEY}" ]; b.settings.files."config_app" = [ "${KEY}" ]; c.settings.network.port = 7000; }; }`
    const a = node(roles, 'a')
    expect(a.settings.cluster.bootstrap_nodes).toEqual(['b.clan:7946', 'c.clan:7000'])
    expect(a.settings.files).toEqual({ config_app: [KEY] })
    expect(a.firewall.allowedUDPPorts).toEqual([7946])
  })

  it('accepts the newer clan spellings (port, interfaces, extraBootstrapPeers, network.files)', (ctx) => {
    need(ctx)
    const roles = `{ default.machines.a.settings = {
      port = 7100; interfaces = [ "eth1" "wg0" ]; extraBootstrapPeers = [ "/dns/x.example/tcp/7946" ];
      files.f = [ "${KEY}" ]; network.files.f = [ "${KEY2}" ]; network.namespaces = [ "machines" ]; logLevel = "debug";
    }; bootstrap.machines.b = { }; }`
    const a = node(roles, 'a')
    expect(a.failedAssertions).toEqual([])
    expect(a.settings.cluster.port).toBe(7100)
    expect(a.settings.cluster.interfaces).toEqual(['eth1', 'wg0'])
    expect(a.settings.cluster.bootstrap_nodes).toEqual(['/dns/x.example/tcp/7946', 'b.clan:7946'])
    expect(a.settings.files).toEqual({ f: [KEY, KEY2] })
    expect(a.settings.namespaces).toEqual(['machines'])
    expect(a.settings.log_level).toBe('debug')
  })

  it('profile becomes cluster.profile; left unset, the key is left out', (ctx) => {
    need(ctx)
    const roles = '{ default.machines.a.settings.profile = "lan"; default.machines.c = { }; bootstrap.machines.b = { }; }'
    expect(node(roles, 'a').settings.cluster.profile).toBe('lan')
    expect(node(roles, 'c').settings.cluster).not.toHaveProperty('profile')
    const r = evalRoles('{ peer.machines.a.settings.profile = "fast"; }', 'a')
    expect(r.ok).toBe(false)
    expect(r.stderr).toMatch(/profile.*is not of type/s)
  })

  it('refuses a bad role setting with its name', (ctx) => {
    need(ctx)
    const r = evalRoles('{ peer.machines.a.settings.logLevel = "loud"; }', 'a')
    expect(r.ok).toBe(false)
    expect(r.stderr).toMatch(/logLevel.*is not of type/s)
  })
})

describe('roles: one node per machine, bootstrap as a marker', () => {
  it('a machine in default and bootstrap evaluates to one node, with the default role\'s settings', (ctx) => {
    need(ctx)
    const roles = `{ default.machines = { a.settings.port = 7100; b = { }; }; bootstrap.machines = { a = { }; b = { }; }; }`
    const a = node(roles, 'a')
    expect(a.failedAssertions).toEqual([])
    expect(a.settings.cluster.port).toBe(7100)
    expect(a.settings.cluster.bootstrap_nodes).toEqual(['b.clan:7946'])
    // b reaches a on a's own port
    expect(node(roles, 'b').settings.cluster.bootstrap_nodes).toEqual(['a.clan:7100'])
  })
  it('a machine in default and a seed role takes the default role\'s settings and ignores the other', (ctx) => {
    need(ctx)
    const v = node(`{ default.machines.a.settings.logLevel = "debug"; admin.machines.a.settings.logLevel = "warn"; peer.machines.b = { }; }`, 'a')
    expect(v.failedAssertions).toEqual([])
    expect(v.settings.log_level).toBe('debug')
  })
  it('bootstrap takes no settings (a marker)', (ctx) => {
    need(ctx)
    const r = evalRoles('{ default.machines.a = { }; bootstrap.machines.a.settings.port = 1; }', 'a')
    expect(r.ok).toBe(false)
    expect(r.stderr).toMatch(/port.*does not exist/s)
  })
  it('asserts when a machine has no bootstrap peer to join through', (ctx) => {
    need(ctx)
    const v = node('{ default.machines.a = { }; }', 'a')
    expect(v.failedAssertions).toEqual(["data-mesher (instance data-mesher, machine a): no bootstrap peer can be derived or is given: put a machine in the 'bootstrap' role or set extraBootstrapPeers."])
    // a lone bootstrap machine is the seed of the cluster; extraBootstrapPeers also do
    expect(node('{ default.machines.a = { }; bootstrap.machines.a = { }; }', 'a').failedAssertions).toEqual([])
    expect(node('{ default.machines.a.settings.extraBootstrapPeers = [ "/dns/x/tcp/7946" ]; }', 'a').failedAssertions).toEqual([])
  })
  it('asserts when a machine is only in bootstrap', (ctx) => {
    need(ctx)
    const v = node('{ default.machines.a = { }; bootstrap.machines.b = { }; }', 'b')
    expect(v.failedAssertions).toEqual(["data-mesher: machine b is in the 'bootstrap' role but in no node role; add it to the 'default' role too (bootstrap only marks nodes)."])
    expect(v.service).toBeNull()
  })
  it('configures the daemon from the vars, or not with networkIdentity = false', (ctx) => {
    need(ctx)
    const on = node('{ default.machines = { a = { }; b = { }; }; }', 'a')
    expect(on.settings.network).toEqual({ id: on.generators['data-mesher-network'].files['network.pub'].path })
    expect(on.settings.cluster.identity_key).toBe('/run/secrets/vars/data-mesher-node-identity/identity.key')
    expect(on.settings.cluster.identity_cert).toBe('/run/secrets/vars/data-mesher-node-identity/identity.cert')
    const off = node('{ default.machines = { a.settings.networkIdentity = false; b = { }; }; }', 'a')
    expect(off.settings).not.toHaveProperty('network')
    expect(off.settings.cluster).not.toHaveProperty('identity_key')
    expect(off.generators).toEqual({})
  })
})

describe('nixos/examples evaluate against the stub', () => {
  it('dns-zone.nix: zone delivered, unbound in the group, .path unit reloads it', (ctx) => {
    need(ctx)
    const v = evalOk(`import ${join(repoRoot, 'nixos/examples/dns-zone.nix')}`)
    expect(v.failedAssertions).toEqual([])
    expect(Object.keys(v.settings.files)).toEqual(['dns/zone.example'])
    expect(v.users.unbound.extraGroups).toEqual(['data-mesher'])
    expect(v.paths['dm-zone-reload'].pathConfig.PathChanged).toBe('/var/lib/data-mesher/files/dns/zone.example')
    expect(v.other.unbound.settings['auth-zone'][0].zonefile).toBe('/var/lib/data-mesher/files/dns/zone.example')
    expect(v.other.services['dm-zone-reload'].script).toContain('reload-or-restart unbound.service')
  })
  it('ssh-grant.nix: the grant file reaches sshd through an unprivileged AuthorizedKeysCommand', (ctx) => {
    need(ctx)
    const v = evalOk(`import ${join(repoRoot, 'nixos/examples/ssh-grant.nix')}`)
    expect(v.failedAssertions).toEqual([])
    expect(Object.keys(v.settings.files)).toEqual(['ssh/authorized_keys.root'])
    expect(v.other.openssh.authorizedKeysCommandUser).toBe('dm-ssh-keys')
    expect(v.other.openssh.authorizedKeysCommand).toMatch(/-dm-authorized-keys %u$/)
    expect(v.users['dm-ssh-keys'].extraGroups).toEqual(['data-mesher'])
  })
})
