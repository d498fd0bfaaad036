// Parses and validates the TOML config (DESIGN.md §8). Every bad value is refused with
// the key's name and the reason; unknown keys are refused too (a typo must not be
// silently ignored on a security boundary).
import { parse as parseToml } from 'smol-toml'
import { readFile } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
import { publicKeyProblem } from '../crypto/key-validity.js'
import { decodeBase64Key } from '../crypto/keys.js'
import { nameProblem } from '../crypto/names.js'
import { REVOCATIONS_NAME } from '../crypto/revocation-list.js'
import type { Policy } from '../rule/which-version-wins.js'
import { DEFAULTS, LOG_LEVELS, type LogLevel } from './defaults.js'
import { nameLayoutProblem } from './name-layout.js'
import { parseDuration } from './durations.js'
import { listenProblem } from './api-listen.js'
import { metricsListenProblem } from './metrics-listen.js'
import { parseHostPort } from './host-port.js'

export { parseHostPort }

export type Transport = 'quic' | 'tcp'

export interface Config {
  logLevel: LogLevel
  stateDir: string
  namespaces: string[]
  cluster: {
    port: number
    interfaces: string[]
    bootstrapNodes: string[]
    /** milliseconds */
    syncInterval: number
    /** path of the node identity key; undefined = <stateDir>/identity.key */
    identityKey?: string
    /** base64 identity public keys or peer ids; empty = admission off */
    allowedNodes: string[]
    /** this node's certificate file (network identity, src/config/network.ts); required with network.id */
    identityCert?: string
    /** extra network ids (paths or base64 keys) whose certificates are accepted, e.g. the old one during a rotation */
    certificateAuthorities?: string[]
    transports: Transport[]
  }
  api: {
    /** unix socket path; undefined = disabled */
    socket?: string
    /** loopback "host:port" entries for TCP ("localhost:P" = 127.0.0.1 and [::1]); [] = disabled */
    listen: string[]
  }
  /** name → base64 signer keys */
  files: Map<string, Set<string>>
  /** [network]: the network id (a public key file path or the base64 key); undefined = no network identity */
  network?: { id: string }
  limits: {
    maxFileSize: number
    maxClockSkew: number
    /** namespace quotas (src/rule/namespace-quota.ts) */
    namespaceMaxNames: number
    namespaceMaxBytes: number
    keyMaxBytes: number
  }
  /** [metrics]: the Prometheus endpoint (src/metrics/); absent or listen undefined = off */
  metrics?: { listen?: string }
}

export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor (readonly key: string, reason: string) {
    super(`config: ${key}: ${reason}`)
  }
}

type Table = Record<string, unknown>

export async function loadConfig (path: string): Promise<Config> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch (err) {
    throw new ConfigError('(file)', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  return parseConfig(text, path)
}

export function parseConfig (text: string, origin = 'config'): Config {
  let doc: Table
  try { doc = parseToml(text) as Table } catch (err) {
    throw new ConfigError('(syntax)', `${origin} is not valid TOML: ${(err as Error).message.split('\n')[0]}`)
  }
  return fromTable(doc)
}

export function fromTable (doc: Table): Config {
  onlyKeys(doc, '', ['log_level', 'state_dir', 'namespaces', 'cluster', 'api', 'files', 'limits', 'network', 'metrics'])
  const cluster = table(doc, 'cluster')
  const api = table(doc, 'api')
  const limits = table(doc, 'limits')
  const files = table(doc, 'files')
  onlyKeys(cluster, 'cluster.', ['port', 'interfaces', 'bootstrap_nodes', 'sync_interval', 'identity_key', 'allowed_nodes', 'transports', 'identity_cert', 'certificate_authorities'])
  onlyKeys(api, 'api.', ['socket', 'listen'])
  onlyKeys(limits, 'limits.', ['max_file_size', 'max_clock_skew', 'namespace_max_names', 'namespace_max_bytes', 'key_max_bytes'])

  const logLevel = str(doc, 'log_level', '', DEFAULTS.logLevel)
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new ConfigError('log_level', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)
  const stateDir = absolutePath(str(doc, 'state_dir', '', DEFAULTS.stateDir), 'state_dir')

  const namespaces = strList(doc, 'namespaces', '')
  namespaces.forEach((ns, i) => {
    const problem = nameProblem(ns)
    if (problem !== undefined) throw new ConfigError(`namespaces[${i}]`, problem)
  })

  const port = cluster.port ?? DEFAULTS.cluster.port
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) throw new ConfigError('cluster.port', `must be an integer from 0 to 65535, got ${JSON.stringify(port)}`)
  const bootstrapNodes = strList(cluster, 'bootstrap_nodes', 'cluster.')
  bootstrapNodes.forEach((b, i) => {
    const problem = bootstrapProblem(b)
    if (problem !== undefined) throw new ConfigError(`cluster.bootstrap_nodes[${i}]`, problem)
  })
  const allowedNodes = strList(cluster, 'allowed_nodes', 'cluster.')
  allowedNodes.forEach((n, i) => {
    const raw = decodeBase64Key(n)
    if (raw === undefined && !/^(12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]{40,50}$/.test(n)) {
      throw new ConfigError(`cluster.allowed_nodes[${i}]`, `"${n}" is neither a base64 32-byte public key nor a peer id`)
    }
    const problem = raw === undefined ? undefined : publicKeyProblem(raw)
    if (problem !== undefined) throw new ConfigError(`cluster.allowed_nodes[${i}]`, `"${n}" ${problem}`)
  })
  const transports = strList(cluster, 'transports', 'cluster.', [...DEFAULTS.cluster.transports])
  transports.forEach((t, i) => {
    if (t !== 'quic' && t !== 'tcp') throw new ConfigError(`cluster.transports[${i}]`, `must be "quic" or "tcp", got "${t}"`)
  })
  if (transports.length === 0) throw new ConfigError('cluster.transports', 'needs at least one of "quic", "tcp"')
  const identityKey = str(cluster, 'identity_key', 'cluster.', '')
  const netid = networkKeys(doc, cluster) // network identity: [network] id, identity_cert, certificate_authorities

  const socket = str(api, 'socket', 'api.', DEFAULTS.api.socket)
  const listen = listenList(api)
  if (socket === '' && listen.length === 0) throw new ConfigError('api', 'socket and listen are both disabled; the daemon would be unreachable')

  const maxFileSize = count(limits, 'max_file_size', DEFAULTS.limits.maxFileSize, 'bytes')

  const fileMap = new Map<string, Set<string>>()
  for (const [name, keys] of Object.entries(files)) {
    const key = `files."${name}"`
    const problem = nameProblem(name)
    if (problem !== undefined) throw new ConfigError(key, problem)
    if (!Array.isArray(keys)) throw new ConfigError(key, 'must be a list of base64 public keys')
    const set = new Set<string>()
    keys.forEach((k, i) => {
      const raw = typeof k === 'string' ? decodeBase64Key(k) : undefined
      if (raw === undefined) {
        throw new ConfigError(`${key}[${i}]`, `${JSON.stringify(k)} is not the standard padded base64 of a 32-byte Ed25519 public key`)
      }
      const problem = publicKeyProblem(raw)
      if (problem !== undefined) throw new ConfigError(`${key}[${i}]`, `"${k as string}" ${problem}`)
      set.add(k as string)
    })
    fileMap.set(name, set)
  }

  const layout = nameLayoutProblem([...fileMap.keys()], namespaces)
  if (layout !== undefined) throw new ConfigError(layout.key, layout.reason)
  if (netid.id !== undefined) {
    // the network's revocation list lives under this name (src/crypto/revocation-list.ts)
    const reserved = (n: string): boolean => n === REVOCATIONS_NAME || n.startsWith(REVOCATIONS_NAME + '/')
    const file = [...fileMap.keys()].find(reserved)
    if (file !== undefined) throw new ConfigError(`files."${file}"`, `"${REVOCATIONS_NAME}" is reserved for the network's revocation list when network.id is set`)
    const ns = namespaces.findIndex(reserved)
    if (ns >= 0) throw new ConfigError(`namespaces[${ns}]`, `"${REVOCATIONS_NAME}" is reserved for the network's revocation list when network.id is set`)
  }

  return {
    logLevel: logLevel as LogLevel,
    stateDir,
    namespaces,
    cluster: {
      port: port as number,
      interfaces: strList(cluster, 'interfaces', 'cluster.'),
      bootstrapNodes,
      syncInterval: duration(cluster, 'sync_interval', 'cluster.', DEFAULTS.cluster.syncInterval, 100),
      identityKey: identityKey === '' ? undefined : absolutePath(identityKey, 'cluster.identity_key'),
      allowedNodes,
      transports: transports as Transport[],
      identityCert: netid.identityCert,
      certificateAuthorities: netid.certificateAuthorities
    },
    api: {
      socket: socket === '' ? undefined : absolutePath(socket, 'api.socket'),
      listen
    },
    files: fileMap,
    ...(netid.id !== undefined ? { network: { id: netid.id } } : {}),
    limits: {
      maxFileSize: maxFileSize as number,
      maxClockSkew: duration(limits, 'max_clock_skew', 'limits.', DEFAULTS.limits.maxClockSkew, 0),
      namespaceMaxNames: count(limits, 'namespace_max_names', DEFAULTS.limits.namespaceMaxNames, 'names'),
      namespaceMaxBytes: count(limits, 'namespace_max_bytes', DEFAULTS.limits.namespaceMaxBytes, 'bytes'),
      keyMaxBytes: count(limits, 'key_max_bytes', DEFAULTS.limits.keyMaxBytes, 'bytes')
    },
    metrics: metricsKeys(doc)
  }
}

/** [metrics] listen: "host:port" of the Prometheus endpoint; absent or "" = off. */
function metricsKeys (doc: Table): Config['metrics'] {
  const metrics = table(doc, 'metrics')
  onlyKeys(metrics, 'metrics.', ['listen'])
  const listen = str(metrics, 'listen', 'metrics.', '')
  if (listen === '') return {}
  const problem = metricsListenProblem(listen)
  if (problem !== undefined) throw new ConfigError('metrics.listen', problem)
  return { listen }
}

/** [network] id, cluster.identity_cert, cluster.certificate_authorities: shapes only (files are read by src/config/network.ts). */
function networkKeys (doc: Table, cluster: Table): { id?: string, identityCert?: string, certificateAuthorities: string[] } {
  const network = table(doc, 'network')
  onlyKeys(network, 'network.', ['id'])
  const id = str(network, 'id', 'network.', '')
  const cert = str(cluster, 'identity_cert', 'cluster.', '')
  const cas = strList(cluster, 'certificate_authorities', 'cluster.')
  cas.forEach((ca, i) => { if (ca.trim() === '') throw new ConfigError(`cluster.certificate_authorities[${i}]`, 'must be a public key file path or a base64 key, got ""') })
  if (network.id !== undefined && id.trim() === '') throw new ConfigError('network.id', 'must be a public key file path or a base64 key, got ""')
  if (id !== '' && cert === '') throw new ConfigError('cluster.identity_cert', 'is required when network.id is set (this node\'s certificate, from `data-mesher certificate sign`)')
  if (id === '' && cert !== '') throw new ConfigError('network.id', 'is required when cluster.identity_cert is set')
  if (id === '' && cas.length > 0) throw new ConfigError('network.id', 'is required when cluster.certificate_authorities is set')
  return {
    id: id === '' ? undefined : id,
    identityCert: cert === '' ? undefined : absolutePath(cert, 'cluster.identity_cert'),
    certificateAuthorities: cas
  }
}

export function policyOf (config: Config): Policy {
  return {
    files: config.files,
    namespaces: new Set(config.namespaces),
    maxFileSize: config.limits.maxFileSize,
    maxClockSkew: config.limits.maxClockSkew,
    quotas: {
      namespaceMaxNames: config.limits.namespaceMaxNames,
      namespaceMaxBytes: config.limits.namespaceMaxBytes,
      keyMaxBytes: config.limits.keyMaxBytes
    }
  }
}


/** `api.listen`: one "host:port" (the original form), a list of them, or "" / [] to disable. */
function listenList (api: Table): string[] {
  const v = api.listen ?? DEFAULTS.api.listen
  const entries = typeof v === 'string' ? (v === '' ? [] : [v]) : v
  if (!Array.isArray(entries) || entries.some(x => typeof x !== 'string')) throw new ConfigError('api.listen', 'must be "host:port" or a list of them')
  entries.forEach((e: string, i) => {
    const problem = listenProblem(e)
    if (problem !== undefined) throw new ConfigError(typeof v === 'string' ? 'api.listen' : `api.listen[${i}]`, problem)
  })
  return entries as string[]
}

function bootstrapProblem (s: string): string | undefined {
  if (s.startsWith('/')) return /^\/(ip4|ip6|dns|dns4|dns6)\//.test(s) ? undefined : `multiaddr "${s}" must start with /ip4, /ip6, /dns, /dns4 or /dns6`
  return parseHostPort(s) === undefined ? `"${s}" is not "host:port", "[v6]:port" or a multiaddr` : undefined
}

function onlyKeys (t: Table, prefix: string, allowed: string[]): void {
  for (const k of Object.keys(t)) {
    if (!allowed.includes(k)) throw new ConfigError(prefix + k, `unknown key (known: ${allowed.join(', ')})`)
  }
}

function table (doc: Table, key: string): Table {
  const v = doc[key]
  if (v === undefined) return {}
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date) throw new ConfigError(key, 'must be a table')
  return v as Table
}

function str (t: Table, key: string, prefix: string, fallback: string): string {
  const v = t[key]
  if (v === undefined) return fallback
  if (typeof v !== 'string') throw new ConfigError(prefix + key, `must be a string, got ${JSON.stringify(v)}`)
  return v
}

function strList (t: Table, key: string, prefix: string, fallback: string[] = []): string[] {
  const v = t[key]
  if (v === undefined) return fallback
  if (!Array.isArray(v) || v.some(x => typeof x !== 'string')) throw new ConfigError(prefix + key, 'must be a list of strings')
  return v as string[]
}

/** [limits] `key`: a non-negative integer of `unit` (0 refuses every new one) */
function count (limits: Table, key: string, fallback: number, unit: string): number {
  const v = limits[key] ?? fallback
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new ConfigError(`limits.${key}`, `must be a non-negative integer of ${unit}, got ${JSON.stringify(v)}`)
  return v as number
}

function duration (t: Table, key: string, prefix: string, fallback: number, min: number): number {
  const v = t[key]
  if (v === undefined) return fallback
  const ms = parseDuration(v)
  if (ms === undefined) throw new ConfigError(prefix + key, `${JSON.stringify(v)} is not a duration like "500ms", "5s", "5m", "1h" or a number of seconds`)
  if (ms < min) throw new ConfigError(prefix + key, `must be at least ${min} ms`)
  return ms
}

function absolutePath (p: string, key: string): string {
  if (p === '') throw new ConfigError(key, 'must not be empty')
  return isAbsolute(p) ? p : resolve(p)
}
