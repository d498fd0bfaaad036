// nixos/module.nix evaluated with nixpkgs' lib.evalModules against a stub of the
// NixOS options it touches (tests/nix/eval-module.nix). Needs NIXPKGS_LIB.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'smol-toml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.js'
// @ts-expect-error plain JavaScript module without types
import { loadSettings, serviceSettings } from '../../nixos/render-unit.mjs'
import { canEval, evalModule, evalOk, evalSkipReason, hasSystemdAnalyze, renderServiceSection } from './helpers.js'

if (!canEval) console.warn(`tests/nix/module: ${evalSkipReason}`)

const KEY = '0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ='
const KEY2 = 'qmXrueiPEKomPo8uhOfAF7wEAodPh6xELKGmIcKix8A='
const dm = (body: string): string => `{ services.data-mesher = { enable = true; ${body} }; }`

const tmp = mkdtempSync(join(tmpdir(), 'dm-nix-module-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('services.data-mesher (evaluated with nixpkgs lib)', () => {
  let base: any
  beforeAll(() => {
    if (!canEval) return
    base = evalOk(dm(`
      files."authorized_keys" = [ "${KEY}" ];
      files."dns/zone.example" = [ "${KEY}" "${KEY2}" ];
      bootstrapNodes = [ "alpha:7946" "/dns/beta/tcp/7946" ];
      network.interface = "eth1";
      logLevel = "debug";
      namespaces = [ "machines" ];
      allowedNodes = [ "${KEY2}" ];`))
  })
  const need = (ctx: { skip: (note?: string) => never }): void => { if (!canEval) ctx.skip(evalSkipReason) }

  it('is inert when not enabled', (ctx) => {
    need(ctx)
    const v = evalOk('{ }')
    expect(v.service).toBeNull()
    expect(v.users).toEqual({})
    expect(v.etc).toEqual({})
  })

  it('renders the options into the config keys of docs/CONFIG-SPEC.md', (ctx) => {
    need(ctx)
    expect(base.settings).toEqual({
      log_level: 'debug',
      state_dir: '/var/lib/data-mesher',
      namespaces: ['machines'],
      files: { authorized_keys: [KEY], 'dns/zone.example': [KEY, KEY2] },
      cluster: {
        port: 7946,
        interfaces: ['eth1'],
        bootstrap_nodes: ['alpha:7946', '/dns/beta/tcp/7946'],
        allowed_nodes: [KEY2]
      },
      api: { socket: '/run/data-mesher/api.sock' },
      limits: { namespace_max_names: 1000, namespace_max_bytes: 67108864, key_max_bytes: 16777216 }
    })
    expect(base.etc['data-mesher/config.toml']).toMatch(/^\/nix\/store\/.+-data-mesher-checked\.toml$/)
    expect(base.failedAssertions).toEqual([])
  })

  it('renders a config the daemon itself accepts', (ctx) => {
    need(ctx)
    const cfg = parseConfig(stringify(base.settings), 'rendered by the module')
    expect(cfg.logLevel).toBe('debug')
    expect(cfg.cluster.interfaces).toEqual(['eth1'])
    expect(cfg.cluster.bootstrapNodes).toEqual(['alpha:7946', '/dns/beta/tcp/7946'])
    expect([...cfg.files.get('dns/zone.example') ?? []]).toEqual([KEY, KEY2])
    expect(cfg.api.socket).toBe('/run/data-mesher/api.sock')
  })

  it('profile renders cluster.profile, which the daemon accepts; unset, the key is left out', (ctx) => {
    need(ctx)
    const v = evalOk(dm('profile = "lan";'))
    expect(v.settings.cluster.profile).toBe('lan')
    expect(parseConfig(stringify(v.settings)).cluster.profile).toBe('lan')
    expect(base.settings.cluster).not.toHaveProperty('profile')
    // settings.cluster.profile wins over the option, as every freeform key does
    expect(evalOk(dm('profile = "lan"; settings.cluster.profile = "test";')).settings.cluster.profile).toBe('test')
  })

  it('lets freeform settings add keys and override the options', (ctx) => {
    need(ctx)
    const v = evalOk(dm(`
      logLevel = "warn";
      settings.log_level = "error";
      settings.cluster.sync_interval = "2s";
      settings.api.listen = "";
      settings.limits.max_file_size = 1048576;`))
    expect(v.settings.log_level).toBe('error')
    expect(v.settings.cluster.sync_interval).toBe('2s')
    expect(v.settings.api).toEqual({ socket: '/run/data-mesher/api.sock', listen: '' })
    expect(v.settings.limits).toEqual({ max_file_size: 1048576, namespace_max_names: 1000, namespace_max_bytes: 67108864, key_max_bytes: 16777216 })
    expect(() => parseConfig(stringify(v.settings))).not.toThrow()
  })

  it('runs the daemon as a notify service with the config and the CLI on PATH', (ctx) => {
    need(ctx)
    const svc = base.service
    const sc = svc.serviceConfig
    expect(sc.ExecStart).toMatch(/^\/nix\/store\/[a-z0-9]{32}-data-mesher-0\.1\.0\/bin\/data-mesher daemon --config \/etc\/data-mesher\/config\.toml$/)
    expect(sc.ExecReload).toMatch(/\/bin\/kill -HUP \$MAINPID$/)
    expect(sc.Type).toBe('notify')
    expect(sc.NotifyAccess).toBe('all')
    expect(sc.WatchdogSec).toBeTruthy()
    expect(sc.User).toBe('data-mesher')
    expect(sc.Group).toBe('data-mesher')
    expect(sc.StateDirectory).toBe('data-mesher')
    expect(sc.RuntimeDirectory).toBe('data-mesher')
    expect(svc.path.some((p: string) => p.includes('systemd'))).toBe(true) // systemd-notify
    expect(svc.wantedBy).toEqual(['multi-user.target'])
    expect(svc.after).toContain('network-online.target')
    expect(base.systemPackages).toContain('data-mesher-0.1.0')
    expect(base.variables.DATA_MESHER_URL).toBe('unix:///run/data-mesher/api.sock')
    expect(base.users['data-mesher']).toMatchObject({ isSystemUser: true, group: 'data-mesher' })
    expect(base.groups).toHaveProperty('data-mesher')
    expect(base.filesDir).toBe('/var/lib/data-mesher/files')
  })

  it('sandboxes the unit', (ctx) => {
    need(ctx)
    const sc = base.service.serviceConfig
    expect(sc).toMatchObject({
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      NoNewPrivileges: 'yes',
      CapabilityBoundingSet: '',
      UMask: '0027',
      RestrictAddressFamilies: ['AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_NETLINK']
    })
    expect(sc.SystemCallFilter).toContain('@system-service')
  })

  it('carries exactly the [Service] settings of service-settings.json, as render-unit.mjs does', (ctx) => {
    need(ctx)
    const shared = loadSettings()
    const sc = base.service.serviceConfig
    for (const [k, v] of Object.entries(shared)) expect(sc[k], k).toEqual(v)
    const fromScript = serviceSettings({ bin: '/x' })
    const nixLines = new Set(renderServiceSection(sc))
    for (const line of renderServiceSection(fromScript)) {
      const key = line.slice(0, line.indexOf('='))
      if (['ExecStart', 'ExecReload'].includes(key)) continue // binary paths differ per platform
      expect(nixLines.has(line), line).toBe(true)
    }
    // and nothing the module adds beyond the per-platform keys
    const perPlatform = ['ExecStart', 'ExecReload', 'User', 'Group']
    expect(Object.keys(sc).filter(k => !(k in shared) && !perPlatform.includes(k))).toEqual([])
  })

  it('renders a unit that passes systemd-analyze verify', (ctx) => {
    need(ctx)
    if (!hasSystemdAnalyze) ctx.skip('systemd-analyze is not installed')
    const sc = { ...base.service.serviceConfig }
    // the store paths do not exist here: point them at real binaries, keep the rest
    sc.ExecStart = sc.ExecStart.replace(/^\S+/, '/bin/true')
    sc.ExecReload = sc.ExecReload.replace(/^\S+/, '/bin/kill')
    const unit = [
      '[Unit]', `Description=${base.service.description}`,
      ...base.service.wants.map((w: string) => `Wants=${w}`),
      ...base.service.after.map((w: string) => `After=${w}`),
      '', '[Service]',
      ...renderServiceSection(sc, [`Environment="PATH=${base.service.path.map((p: string) => p + '/bin').join(':')}"`]),
      '', '[Install]', ...base.service.wantedBy.map((w: string) => `WantedBy=${w}`), ''
    ].join('\n')
    const file = join(tmp, 'data-mesher.service')
    writeFileSync(file, unit)
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' })
    expect(r.stderr.split('\n').filter(l => l.includes('data-mesher.service')).join('\n')).toBe('')
    expect(r.status).toBe(0)
  })

  it('opens UDP and TCP on the port, on the interface when one is set', (ctx) => {
    need(ctx)
    expect(base.firewall).toEqual({ allowedTCPPorts: [], allowedUDPPorts: [], interfaces: {} })
    const all = evalOk(dm('openFirewall = true; network.port = 9000;'))
    expect(all.firewall).toEqual({ allowedTCPPorts: [9000], allowedUDPPorts: [9000], interfaces: {} })
    expect(all.settings.cluster.port).toBe(9000)
    const one = evalOk(dm('openFirewall = true; network.interface = "wg0";'))
    expect(one.firewall).toEqual({
      allowedTCPPorts: [], allowedUDPPorts: [],
      interfaces: { wg0: { allowedTCPPorts: [7946], allowedUDPPorts: [7946] } }
    })
  })

  it('opens the port and interfaces the daemon listens on (the rendered cluster.port, cluster.interfaces), however they were set', (ctx) => {
    need(ctx)
    const bySettings = evalOk(dm('openFirewall = true; settings.cluster.port = 8000;'))
    expect(bySettings.settings.cluster.port).toBe(8000)
    expect(bySettings.firewall).toEqual({ allowedTCPPorts: [8000], allowedUDPPorts: [8000], interfaces: {} })
    const twoIfaces = evalOk(dm('openFirewall = true; network.interface = "wg0"; settings.cluster.interfaces = [ "eth1" "tailscale0" ]; settings.cluster.port = 8001;'))
    expect(twoIfaces.settings.cluster.interfaces).toEqual(['eth1', 'tailscale0'])
    expect(twoIfaces.firewall).toEqual({
      allowedTCPPorts: [], allowedUDPPorts: [],
      interfaces: {
        eth1: { allowedTCPPorts: [8001], allowedUDPPorts: [8001] },
        tailscale0: { allowedTCPPorts: [8001], allowedUDPPorts: [8001] }
      }
    })
  })

  it('keeps a state directory outside /var/lib writable', (ctx) => {
    need(ctx)
    const v = evalOk(dm('stateDir = "/srv/data-mesher";'))
    expect(v.settings.state_dir).toBe('/srv/data-mesher')
    expect(v.service.serviceConfig.StateDirectory).toBe('')
    expect(v.service.serviceConfig.ReadWritePaths).toEqual(['/srv/data-mesher'])
    expect(v.tmpfiles[0]).toBe('d /srv/data-mesher 0750 data-mesher data-mesher - -')
    expect(v.filesDir).toBe('/srv/data-mesher/files')
    const lib = evalOk(dm('stateDir = "/var/lib/dm-test";'))
    expect(lib.service.serviceConfig.StateDirectory).toBe('dm-test')
    // only what lies below it (files/ and the files/home link)
    expect(lib.tmpfiles).not.toContain('d /srv/data-mesher 0750 data-mesher data-mesher - -')
    expect(evalOk(dm('stateDir = "/var/lib/dm-test"; filesHomeLink = false;')).tmpfiles).toEqual([])
  })

  it('reloads for files, namespaces and log level, restarts for the rest', (ctx) => {
    need(ctx)
    const a = evalOk(dm(`files.x = [ "${KEY}" ];`)).service
    const files = evalOk(dm(`files.x = [ "${KEY2}" ];`)).service
    const port = evalOk(dm(`files.x = [ "${KEY}" ]; network.port = 7000;`)).service
    expect(files.reloadTriggers).not.toEqual(a.reloadTriggers)
    expect(files.restartTriggers).toEqual(a.restartTriggers)
    expect(port.restartTriggers).not.toEqual(a.restartTriggers)
    expect(port.reloadTriggers).toEqual(a.reloadTriggers)
  })

  it('renders the namespace quotas (defaults: the daemon\'s), which the daemon accepts, and a change to them reloads', (ctx) => {
    need(ctx)
    const cfg = parseConfig(stringify(base.settings), 'rendered by the module')
    expect(cfg.limits).toMatchObject({ namespaceMaxNames: 1000, namespaceMaxBytes: 64 * 1024 * 1024, keyMaxBytes: 16 * 1024 * 1024 })
    const set = evalOk(dm(`namespaces = [ "machines" ]; quotas.namespaceMaxNames = 50; quotas.namespaceMaxBytes = 1048576; quotas.keyMaxBytes = 65536;`))
    expect(set.settings.limits).toEqual({ namespace_max_names: 50, namespace_max_bytes: 1048576, key_max_bytes: 65536 })
    expect(parseConfig(stringify(set.settings)).limits).toMatchObject({ namespaceMaxNames: 50, namespaceMaxBytes: 1048576, keyMaxBytes: 65536 })
    // freeform settings win over the options
    expect(evalOk(dm('quotas.namespaceMaxNames = 50; settings.limits.namespace_max_names = 7;')).settings.limits.namespace_max_names).toBe(7)
    const a = evalOk(dm('namespaces = [ "machines" ];')).service
    expect(set.service.reloadTriggers).not.toEqual(a.reloadTriggers)
    expect(set.service.restartTriggers).toEqual(a.restartTriggers)
  })

  it('falls back to TCP when the package has no QUIC module for the platform', (ctx) => {
    need(ctx)
    expect(base.settings.cluster).not.toHaveProperty('transports')
    const v = evalOk(dm(''), { hasQuic: false })
    expect(v.settings.cluster.transports).toEqual(['tcp'])
  })

  describe('refuses bad values with the option name', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['a port above 65535', 'network.port = 70000;', /services\.data-mesher\.network\.port.*is not of type.*16 bit unsigned integer/s],
      ['a port that is a string', 'network.port = "7946";', /services\.data-mesher\.network\.port.*is not of type/s],
      ['an unknown profile', 'profile = "fast";', /services\.data-mesher\.profile.*is not of type.*null or one of "default", "lan", "test"/s],
      ['an unknown log level', 'logLevel = "verbose";', /services\.data-mesher\.logLevel.*is not of type.*one of "fatal", "error", "warn", "info", "debug"/s],
      ['bootstrapNodes that is not a list', 'bootstrapNodes = "alpha:7946";', /services\.data-mesher\.bootstrapNodes.*is not of type.*list of string/s],
      ['files whose keys are not a list', `files.x = "${KEY}";`, /services\.data-mesher\.files\.x.*is not of type.*list of string/s],
      ['an interface that is a list', 'network.interface = [ "eth0" ];', /services\.data-mesher\.network\.interface.*is not of type.*null or string/s],
      ['an unknown option', 'bogus = 1;', /services\.data-mesher\.bogus.*does not exist/s]
    ]
    for (const [what, body, re] of cases) {
      it(what, (ctx) => {
        need(ctx)
        const r = evalModule(dm(body))
        expect(r.ok).toBe(false)
        expect(r.stderr).toMatch(re)
      })
    }
  })

  describe('assertions explain bad keys, names and addresses', () => {
    it('a key that is not 32 bytes of base64', (ctx) => {
      need(ctx)
      const v = evalOk(dm(`files."authorized_keys" = [ "${KEY}" "not-a-key" "${KEY.slice(0, 43)}" ];`))
      expect(v.failedAssertions).toHaveLength(1)
      const msg: string = v.failedAssertions[0]
      expect(msg).toContain('services.data-mesher.files."authorized_keys": "not-a-key" is not a base64 Ed25519 public key')
      expect(msg).toContain(`"${KEY.slice(0, 43)}" is not a base64 Ed25519 public key`)
      expect(msg).toContain('44 characters ending in "="')
      expect(msg).not.toContain(`"${KEY}"`)
    })
    it('a key with non-zero padding bits (decodes to other bytes)', (ctx) => {
      need(ctx)
      const v = evalOk(dm(`files.x = [ "${KEY.slice(0, 42)}x=" ];`))
      expect(v.failedAssertions.join('\n')).toContain('is not a base64 Ed25519 public key')
    })
    it('a file name that escapes the delivery directory', (ctx) => {
      need(ctx)
      const v = evalOk(dm(`files."../etc/passwd" = [ "${KEY}" ]; files."a//b" = [ "${KEY}" ];`))
      expect(v.failedAssertions.join('\n')).toContain('invalid file name(s) "../etc/passwd", "a//b"')
    })
    it('a namespace, an allowed node and a bootstrap node of the wrong shape', (ctx) => {
      need(ctx)
      const v = evalOk(dm('namespaces = [ "a b" ]; allowedNodes = [ "nobody" ]; bootstrapNodes = [ "no-port" ];'))
      const all: string = v.failedAssertions.join('\n')
      expect(all).toContain('services.data-mesher.namespaces: invalid namespace(s) "a b"')
      expect(all).toContain('services.data-mesher.allowedNodes: "nobody" is neither a base64 32-byte identity public key')
      expect(all).toContain('services.data-mesher.bootstrapNodes: "no-port" is not "host:port"')
    })
    it('accepts peer ids in allowedNodes and v6 bootstrap addresses', (ctx) => {
      need(ctx)
      const v = evalOk(dm('allowedNodes = [ "12D3KooWM7PkyvH2iQHNpfZMDEdRLd2qHGvtDSLUjf3AMTyCnXN2" ]; bootstrapNodes = [ "[fd00::1]:7946" "/ip4/10.0.0.1/tcp/7946" ];'))
      expect(v.failedAssertions).toEqual([])
    })
  })
})
