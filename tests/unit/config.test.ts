import { describe, expect, it } from 'vitest'
import { parseConfig, ConfigError, policyOf } from '../../src/config/config.ts'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'

const K = encodeBase64Key(generateSigningKey().publicKey)

describe('config', () => {
  it('applies the documented defaults', () => {
    const c = parseConfig('')
    expect(c).toMatchObject({
      logLevel: 'info',
      stateDir: '/var/lib/data-mesher',
      cluster: { port: 7946, syncInterval: 5000, interfaces: [], bootstrapNodes: [], allowedNodes: [], transports: ['quic', 'tcp'], profile: 'default' },
      api: { socket: '/run/data-mesher/api.sock', listen: ['localhost:7331'] },
      limits: { maxFileSize: 10 * 1024 * 1024, maxClockSkew: 300_000, namespaceMaxNames: 1000, namespaceMaxBytes: 64 * 1024 * 1024, keyMaxBytes: 16 * 1024 * 1024 }
    })
  })

  it('reads every key', () => {
    const c = parseConfig(`
log_level = "debug"
state_dir = "/srv/dm"
namespaces = ["machines"]
[cluster]
port = 8000
interfaces = ["eth0"]
bootstrap_nodes = ["10.0.0.1:7946", "[fd00::1]:7946", "/ip4/10.0.0.2/tcp/7946"]
sync_interval = "2s"
identity_key = "/etc/dm/id.key"
allowed_nodes = ["${K}"]
transports = ["tcp"]
profile = "lan"
[api]
socket = "/run/x.sock"
listen = ""
[files]
"authorized_keys" = ["${K}"]
[limits]
max_file_size = 1000
max_clock_skew = 60
namespace_max_names = 7
namespace_max_bytes = 5000
key_max_bytes = 2000
`)
    expect(c.cluster).toMatchObject({ port: 8000, syncInterval: 2000, identityKey: '/etc/dm/id.key', transports: ['tcp'], profile: 'lan' })
    expect(c.api).toEqual({ socket: '/run/x.sock', listen: [] })
    expect(c.limits).toEqual({ maxFileSize: 1000, maxClockSkew: 60_000, namespaceMaxNames: 7, namespaceMaxBytes: 5000, keyMaxBytes: 2000 })
    expect(policyOf(c).quotas).toEqual({ namespaceMaxNames: 7, namespaceMaxBytes: 5000, keyMaxBytes: 2000 })
    expect(policyOf(c).files.get('authorized_keys')?.has(K)).toBe(true)
  })

  it.each([
    ['log_level = "loud"', 'log_level', /one of/],
    ['cluster = 5', 'cluster', /table/],
    ['[cluster]\nport = 70000', 'cluster.port', /0 to 65535/],
    ['[cluster]\nport = "7946"', 'cluster.port', /integer/],
    ['[cluster]\nbootstrap_nodes = "a:1"', 'cluster.bootstrap_nodes', /list/],
    ['[cluster]\nbootstrap_nodes = ["nohost"]', 'cluster.bootstrap_nodes[0]', /host:port/],
    ['[cluster]\nsync_interval = "fast"', 'cluster.sync_interval', /duration/],
    ['[cluster]\nallowed_nodes = ["bob"]', 'cluster.allowed_nodes[0]', /public key nor a peer id/],
    ['[cluster]\ntransports = ["udp"]', 'cluster.transports[0]', /quic/],
    ['[cluster]\nprofile = "fast"', 'cluster.profile', /must be one of "default", "lan", "test", got "fast"/],
    ['[cluster]\nprofile = "LAN"', 'cluster.profile', /one of/],
    ['[cluster]\nprofile = 1', 'cluster.profile', /string/],
    ['[cluster]\nfrobnicate = 1', 'cluster.frobnicate', /unknown key/],
    ['colour = "blue"', 'colour', /unknown key/],
    ['[api]\nlisten = "localhost"', 'api.listen', /host:port/],
    ['[files]\n"a" = ["not-base64"]', 'files."a"[0]', /base64/],
    [`[files]\n"a" = ["${K.slice(0, -1)}"]`, 'files."a"[0]', /base64/],
    [`[files]\n"../etc" = ["${K}"]`, 'files."../etc"', /segment/],
    ['[files]\n"a" = "x"', 'files."a"', /list/],
    ['[limits]\nmax_file_size = -1', 'limits.max_file_size', /non-negative/],
    ['[limits]\nnamespace_max_names = -1', 'limits.namespace_max_names', /non-negative integer of names/],
    ['[limits]\nnamespace_max_bytes = "1M"', 'limits.namespace_max_bytes', /non-negative integer of bytes/],
    ['[limits]\nkey_max_bytes = 1.5', 'limits.key_max_bytes', /non-negative integer of bytes/],
    ['namespaces = ["a//b"]', 'namespaces[0]', /empty segment/],
    [`[files]\n"a" = ["${K}"]\n"a/b" = ["${K}"]`, 'files."a"', /folder/],
    [`namespaces = ["m"]\n[files]\n"m" = ["${K}"]`, 'files."m"', /folder/],
    ['this is not toml', '(syntax)', /TOML/]
  ])('refuses %j naming the key', (text, key, reason) => {
    let err: unknown
    try { parseConfig(text) } catch (e) { err = e }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).key).toBe(key)
    expect((err as Error).message).toMatch(reason)
    expect((err as Error).message).toContain(key)
  })
})
