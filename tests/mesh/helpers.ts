// In-process clusters for the mesh tests: real libp2p on loopback, a real Replica on a
// temp dir per node, the mesh started exactly as the daemon does (startMesh).
import '../../src/polyfill.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { freePort } from '../helpers/ports.js'
import type { Config, Transport } from '../../src/config/config.js'
import { policyOf } from '../../src/config/config.js'
import { DEFAULTS } from '../../src/config/defaults.js'
import { encodeBase64Key, generateSigningKey, type SigningKey } from '../../src/crypto/keys.js'
import { signRecord, type SignOptions, type SignedRecord } from '../../src/crypto/record.js'
import { Replica, type Change } from '../../src/store/replica.js'
import { startMesh, type Mesh, type MeshSettings } from '../../src/mesh/index.js'
import { identityFromKey, loadIdentity } from '../../src/mesh/identity.js'
import { networkPolicy, type NetworkIdentity } from '../../src/config/network.js'
import { CertificateBook } from '../../src/store/certificate-book.js'

export { freePort }

export const log = pino({ level: process.env.MESH_TEST_LOG ?? 'silent' })

export interface NodeOptions {
  bootstrap?: string[]
  allowedNodes?: string[]
  transports?: Transport[]
  /** reuse a port (restart) */
  port?: number
  /** reuse a state dir (restart) */
  dir?: string
  settings?: Partial<MeshSettings>
  syncInterval?: number
  files?: Map<string, Set<string>>
  clock?: () => number
  /** network identity (admission by certificate); needs identityKey, the key its certificate is for */
  network?: NetworkIdentity
  /** the node's identity key (default: created in its state dir) */
  identityKey?: SigningKey
  namespaces?: string[]
  /** [limits] beyond max_file_size and max_clock_skew, e.g. the namespace quotas */
  limits?: Partial<Config['limits']>
  /** the announce ids the node handles and offers (MeshOptions.announceProtocols; default all): fewer stand for an older release */
  announceProtocols?: string[]
}

export class TestNode {
  mesh!: Mesh
  replica!: Replica
  config!: Config
  /** with a network: the certificates that came with namespace records */
  certificates?: CertificateBook
  private unfollow?: () => Promise<void>
  running = false
  /** the stop under way: a second stop() waits for it (teardown removes the directory after) */
  private stopping?: Promise<void>

  /** options may be changed before (re)start */
  constructor (readonly name: string, readonly dir: string, readonly port: number, readonly opts: NodeOptions, private readonly cluster: Cluster) {}

  get peerId (): string { return this.mesh.peerId }
  /** "127.0.0.1:<port>", the bootstrap form the clan options use */
  get hostPort (): string { return `127.0.0.1:${this.port}` }

  async start (): Promise<this> {
    const o = this.opts
    this.config = {
      logLevel: 'error',
      stateDir: this.dir,
      namespaces: o.namespaces ?? [],
      cluster: {
        port: this.port,
        interfaces: ['lo'],
        bootstrapNodes: o.bootstrap ?? [],
        syncInterval: o.syncInterval ?? this.cluster.syncInterval,
        allowedNodes: o.allowedNodes ?? [],
        transports: o.transports ?? this.cluster.transports,
        // short timings so that tests are quick (src/mesh/profiles.ts); the protocol is the same
        profile: 'test'
      },
      api: { listen: [] }, // the mesh serves no API
      files: o.files ?? this.cluster.files,
      ...(o.network !== undefined ? { network: { id: encodeBase64Key(o.network.id) } } : {}),
      limits: { ...DEFAULTS.limits, maxFileSize: 10 * 1024 * 1024, maxClockSkew: this.cluster.maxClockSkew, ...o.limits }
    }
    const nodeLog = log.child({ node: this.name })
    this.certificates = o.network !== undefined ? await CertificateBook.open(this.dir) : undefined
    const book = this.certificates
    this.replica = await Replica.open(this.dir, networkPolicy(policyOf(this.config), o.network, r => book?.get(r)), nodeLog, o.clock, book)
    this.unfollow = book?.follow(this.replica)
    const identity = o.identityKey !== undefined ? identityFromKey(o.identityKey) : undefined
    this.mesh = await startMesh({ config: this.config, replica: this.replica, log: nodeLog, settings: { ...this.cluster.settings, ...o.settings }, identity, network: o.network, certificates: book, announceProtocols: o.announceProtocols })
    this.running = true
    return this
  }

  /** Stops the node; resolves once nothing writes in its directory any more (the book's settle under way, the replica's writes). */
  async stop (): Promise<void> {
    if (!this.running) { await this.stopping; return }
    this.running = false
    this.stopping = (async () => {
      await this.unfollow?.()
      await this.mesh.stop()
      await this.replica.close()
    })()
    await this.stopping
  }

  /** Stops, optionally wipes the state dir (identity included), and starts again on the same port. */
  async restart (opts: { wipe?: boolean, bootstrap?: string[] } = {}): Promise<this> {
    await this.stop()
    if (opts.wipe === true) await rm(this.dir, { recursive: true, force: true })
    if (opts.bootstrap !== undefined) this.opts.bootstrap = opts.bootstrap
    return await this.start()
  }

  /** The content this node delivers for `name`, or undefined. */
  async content (name: string): Promise<Buffer | undefined> {
    const got = await this.replica.readContent(name)
    return got === undefined ? undefined : Buffer.from(got.content)
  }

  async upload (o: SignOptions, key = this.cluster.signer): Promise<SignedRecord> {
    // a node with a network accepts only records bound to it
    const record = signRecord(key, { ...(this.opts.network !== undefined ? { network: this.opts.network.id } : {}), ...o })
    const result = await this.replica.submit(record, o.content ?? new Uint8Array(0), 'api')
    if (result.outcome !== 'accepted') throw new Error(`upload of ${o.name} at ${this.name}: ${JSON.stringify(result)}`)
    return record
  }

  /** Whether this node's current version of `name` is `record`. */
  has (record: SignedRecord): boolean {
    const cur = this.replica.get(record.name)
    return cur !== undefined && Buffer.from(cur.signature).equals(record.signature)
  }
}

export interface ClusterOptions {
  transports?: Transport[]
  names?: string[]
  syncInterval?: number
  settings?: Partial<MeshSettings>
  /** limits.max_clock_skew, ms */
  maxClockSkew?: number
}

export class Cluster {
  readonly nodes: TestNode[] = []
  readonly signer: SigningKey = generateSigningKey()
  readonly files = new Map<string, Set<string>>()
  readonly transports: Transport[]
  readonly syncInterval: number
  readonly settings: Partial<MeshSettings>
  readonly maxClockSkew: number
  private root?: string

  constructor (o: ClusterOptions = {}) {
    this.transports = o.transports ?? ['quic', 'tcp']
    this.syncInterval = o.syncInterval ?? 1_000
    this.settings = o.settings ?? {}
    this.maxClockSkew = o.maxClockSkew ?? 5 * 60_000
    for (const n of o.names ?? ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt', 'big.bin']) {
      this.files.set(n, new Set([encodeBase64Key(this.signer.publicKey)]))
    }
  }

  async dir (name: string): Promise<string> {
    this.root ??= await mkdtemp(join(tmpdir(), 'dm-mesh-'))
    return join(this.root, name)
  }

  /** Creates (not starts) a node. */
  async make (name: string, opts: NodeOptions = {}): Promise<TestNode> {
    const node = new TestNode(name, opts.dir ?? await this.dir(name), opts.port ?? await freePort(), opts, this)
    this.nodes.push(node)
    return node
  }

  async add (name: string, opts: NodeOptions = {}): Promise<TestNode> {
    return await (await this.make(name, opts)).start()
  }

  /** The identity public key a node will have (creates its identity file ahead of start). */
  async identityOf (node: TestNode): Promise<{ publicKey: string, peerId: string }> {
    const id = await loadIdentity({ stateDir: node.dir, cluster: { identityKey: undefined } } as unknown as Config)
    return { publicKey: id.publicKey, peerId: id.peerId.toString() }
  }

  running (): TestNode[] { return this.nodes.filter(n => n.running) }

  async close (): Promise<void> {
    await Promise.allSettled(this.nodes.map(async n => await n.stop()))
    if (this.root !== undefined) await rm(this.root, { recursive: true, force: true })
  }
}

/**
 * Waits until `cond` holds, re-checking on every replica change of the given nodes and
 * on a short poll (peers connecting has no replica event). Fails with `what` on timeout.
 */
export async function waitFor (cond: () => boolean | Promise<boolean>, what: string, nodes: TestNode[] = [], timeout = 30_000): Promise<void> {
  const started = Date.now()
  let wake: (() => void) | undefined
  const subs = nodes.filter(n => n.running).map(n => n.replica.onChange((_c: Change) => wake?.()))
  try {
    for (;;) {
      if (await cond()) return
      if (Date.now() - started > timeout) throw new Error(`timed out after ${timeout} ms waiting for: ${what}`)
      await new Promise<void>(resolve => {
        wake = resolve
        setTimeout(resolve, 50)
      })
    }
  } finally {
    for (const unsub of subs) unsub()
  }
}

/** Every node in `nodes` has `record` as its current version. */
export async function converged (record: SignedRecord, nodes: TestNode[], timeout = 30_000): Promise<void> {
  await waitFor(() => nodes.every(n => n.has(record)), `"${record.name}"@${record.timestamp} on ${nodes.map(n => n.name).join(',')} ` +
    `(missing on ${nodes.filter(n => !n.has(record)).map(n => n.name).join(',')})`, nodes, timeout)
}

/** Every node is connected to at least `min` peers. */
export async function connected (nodes: TestNode[], min = 1, timeout = 30_000): Promise<void> {
  await waitFor(() => nodes.every(n => n.mesh.status().peers.length >= min), `every node has ≥ ${min} peers`, [], timeout)
}

export function bytes (text: string): Uint8Array { return new Uint8Array(Buffer.from(text)) }
