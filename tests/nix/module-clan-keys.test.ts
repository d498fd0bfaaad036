// nixos/module.nix and what clan-core's current service and dm-dns expect of it:
// settings.files merging with files, pluginDirectories, files/home, clan-core's
// key names in settings (mapped onto ours or refused with our key's name), and
// the build-time `daemon --check` of the rendered config. Needs NIXPKGS_LIB.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { canEval, daemonCheck, evalModule, evalOk, evalSkipReason } from './helpers.js'

if (!canEval) console.warn(`tests/nix/module-clan-keys: ${evalSkipReason}`)
const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEval) ctx.skip(evalSkipReason) }

const KEY = '0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ='
const KEY2 = 'qmXrueiPEKomPo8uhOfAF7wEAodPh6xELKGmIcKix8A='
const dm = (body: string): string => `{ lib, ... }: { services.data-mesher = { enable = true; ${body} }; }`

const tmp = mkdtempSync(join(tmpdir(), 'dm-nix-clan-keys-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('settings.files and settings.namespaces merge with the options', () => {
  it('settings.files.X adds a name instead of dropping every files entry', (ctx) => {
    need(ctx)
    const v = evalOk(dm(`files.a = [ "${KEY}" ]; files.b = [ "${KEY}" ]; settings.files.b = [ "${KEY2}" ]; settings.files.c = [ "${KEY2}" ];`))
    expect(v.settings.files).toEqual({ a: [KEY], b: [KEY, KEY2], c: [KEY2] })
    expect(v.failedAssertions).toEqual([])
  })
  it('settings.namespaces adds to namespaces', (ctx) => {
    need(ctx)
    const v = evalOk(dm('namespaces = [ "machines" ]; settings.namespaces = [ "test_ns" "machines" ];'))
    expect(v.settings.namespaces).toEqual(['machines', 'test_ns'])
  })
})

describe('pluginDirectories and files/home', () => {
  it('creates the plugin directories (and their parents) under files/, group-readable, and the home link', (ctx) => {
    need(ctx)
    const v = evalOk(dm('pluginDirectories = [ "dns" "a/b" ];'))
    expect(v.tmpfiles).toEqual([
      'd /var/lib/data-mesher 0750 data-mesher data-mesher - -',
      'd /var/lib/data-mesher/files 0750 data-mesher data-mesher - -',
      'd /var/lib/data-mesher/files/dns 0750 data-mesher data-mesher - -',
      'd /var/lib/data-mesher/files/a 0750 data-mesher data-mesher - -',
      'd /var/lib/data-mesher/files/a/b 0750 data-mesher data-mesher - -',
      'L+ /var/lib/data-mesher/files/home - - - - .'
    ])
  })
  it('follows user, group and stateDir', (ctx) => {
    need(ctx)
    const v = evalOk(dm('pluginDirectories = [ "dns" ]; user = "dm"; group = "dmg"; stateDir = "/srv/dm";'))
    expect(v.tmpfiles).toContain('d /srv/dm/files/dns 0750 dm dmg - -')
    expect(v.tmpfiles).toContain('L+ /srv/dm/files/home - - - - .')
  })
  it('without the home link and plugin directories, adds nothing under /var/lib', (ctx) => {
    need(ctx)
    expect(evalOk(dm('filesHomeLink = false;')).tmpfiles).toEqual([])
  })
  it('refuses names that would be delivered through the home link', (ctx) => {
    need(ctx)
    const v = evalOk(dm(`files."home/x" = [ "${KEY}" ]; namespaces = [ "home" ];`))
    expect(v.failedAssertions.join('\n')).toContain('"home/x", "home" would be delivered through the files/home link')
    expect(evalOk(dm(`filesHomeLink = false; files."home/x" = [ "${KEY}" ];`)).failedAssertions).toEqual([])
  })
  it('refuses a plugin directory that is not a file name', (ctx) => {
    need(ctx)
    const v = evalOk(dm('pluginDirectories = [ "../etc" ];'))
    expect(v.failedAssertions.join('\n')).toContain('services.data-mesher.pluginDirectories: invalid directory name(s) "../etc"')
  })
})

describe("clan-core's key names in settings", () => {
  it('maps network.files, network.namespaces, cluster.bootstrap_peers, push_pull_interval and http onto our keys', (ctx) => {
    need(ctx)
    const v = evalOk(`{ imports = [
      (${dm(`files.a = [ "${KEY}" ]; bootstrapNodes = [ "x.example:7946" ];
        settings = {
          log_level = "info";
          cluster = { port = 7946; interfaces = [ ]; bootstrap_peers = [ "/dns/alpha.clan/tcp/7946" ]; push_pull_interval = "30s"; };
          network.files = { a = [ "${KEY2}\\n" ]; test_file = [ "${KEY}" ]; };
          network.namespaces = [ "test_ns" ];
          http.port = 7331;
          http.interfaces = [ "lo" ];
        };`)})
      # as clan-core's test does in extraModules
      ({ lib, ... }: { services.data-mesher.settings = { log_level = lib.mkForce "debug"; cluster.push_pull_interval = lib.mkForce "5s"; }; })
    ]; }`)
    expect(v.failedAssertions).toEqual([])
    expect(v.settings).toEqual({
      log_level: 'debug',
      state_dir: '/var/lib/data-mesher',
      files: { a: [KEY, KEY2], test_file: [KEY] },
      namespaces: ['test_ns'],
      cluster: {
        port: 7946,
        interfaces: [],
        bootstrap_nodes: ['x.example:7946', '/dns/alpha.clan/tcp/7946'],
        allowed_nodes: [],
        sync_interval: '5s'
      },
      api: { socket: '/run/data-mesher/api.sock', listen: '127.0.0.1:7331' },
      limits: { namespace_max_names: 1000, namespace_max_bytes: 67108864, key_max_bytes: 16777216 }
    })
    // and the daemon accepts what was rendered
    const r = daemonCheck(v.settings, tmp)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  it('passes network.id, identity_key, identity_cert and certificate_authorities through under the same names', (ctx) => {
    need(ctx)
    const v = evalOk(dm(`settings.network.id = "/nix/store/x-network.pub"; settings.cluster = {
      identity_key = "/run/secrets/vars/data-mesher-node-identity/identity.key";
      identity_cert = "/run/secrets/vars/data-mesher-node-identity/identity.cert";
      certificate_authorities = [ ]; };`))
    expect(v.failedAssertions).toEqual([])
    expect(v.settings.network).toEqual({ id: '/nix/store/x-network.pub' })
    expect(v.settings.cluster).toMatchObject({
      identity_key: '/run/secrets/vars/data-mesher-node-identity/identity.key',
      identity_cert: '/run/secrets/vars/data-mesher-node-identity/identity.cert',
      certificate_authorities: []
    })
    const r = daemonCheck(v.settings, tmp)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  it('refuses an API on a non-loopback interface, naming api.listen', (ctx) => {
    need(ctx)
    const v = evalOk(dm('settings.http = { port = 7331; interfaces = [ "eth0" ]; };'))
    expect(v.failedAssertions.join('\n')).toMatch(/services\.data-mesher\.settings\.http\.interfaces = \["eth0"\]: data-mesher's API listens on loopback only.*services\.data-mesher\.settings\.api\.listen/)
  })
  it('refuses push_pull_interval and sync_interval that disagree', (ctx) => {
    need(ctx)
    const v = evalOk(dm('settings.cluster = { push_pull_interval = "5s"; sync_interval = "2s"; };'))
    expect(v.failedAssertions.join('\n')).toContain('services.data-mesher.settings.cluster.push_pull_interval (clan-core\'s name) and services.data-mesher.settings.cluster.sync_interval (ours) are both set')
  })
  it('refuses http.port that disagrees with api.listen', (ctx) => {
    need(ctx)
    const v = evalOk(dm('settings.http.port = 7331; settings.api.listen = "127.0.0.1:9000";'))
    expect(v.failedAssertions.join('\n')).toContain('services.data-mesher.settings.http.port (clan-core\'s name) and services.data-mesher.settings.api.listen (ours) are both set and disagree')
  })
})

describe('the rendered config is checked by the daemon at build time', () => {
  it('the config file is built by running `data-mesher daemon --config F --check`', (ctx) => {
    need(ctx)
    const v = evalOk(dm(`files.a = [ "${KEY}" ];`))
    expect(v.configCheck).toMatch(/\/nix\/store\/\w+-data-mesher-0\.1\.0\/bin\/data-mesher daemon --config \/nix\/store\/\w+-data-mesher\.toml --check\n/)
    expect(v.configCheck).toMatch(/cp \/nix\/store\/\w+-data-mesher\.toml "\$out"/)
    expect(v.etc['data-mesher/config.toml']).toMatch(/-data-mesher-checked\.toml$/)
    expect(daemonCheck(v.settings, tmp).code).toBe(0)
  })
  it('checkConfig = false renders without the check (cross builds)', (ctx) => {
    need(ctx)
    const v = evalOk(dm('checkConfig = false;'))
    expect(v.configCheck).toBeNull()
    expect(v.etc['data-mesher/config.toml']).toMatch(/-data-mesher\.toml$/)
  })
  it('a value the daemon refuses fails the check, naming the key', (ctx) => {
    need(ctx)
    // freeform settings the module cannot judge: the daemon's check is what stops them
    const v = evalOk(dm('settings.cluster.sync_interval = "soon"; settings.limits.bogus = 1;'))
    const r = daemonCheck(v.settings, tmp)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/limits\.bogus: unknown key|cluster\.sync_interval/)
  })
  it('an unknown option of the module still fails evaluation', (ctx) => {
    need(ctx)
    const r = evalModule(dm('pluginDirectory = [ "dns" ];'))
    expect(r.ok).toBe(false)
    expect(r.stderr).toMatch(/services\.data-mesher\.pluginDirectory.*does not exist/s)
  })
})
