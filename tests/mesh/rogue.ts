// A hand-driven libp2p peer for the hostile tests: same transports and handshake as a
// real node, but it sends whatever bytes the test wants on the data-mesher protocols.
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import type { Connection, Stream } from '@libp2p/interface'
import type { Config, Transport } from '../../src/config/config.js'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { Admission } from '../../src/mesh/admission.js'
import { identityFromKey } from '../../src/mesh/identity.js'
import { createNode, type MeshLibp2p } from '../../src/mesh/node.js'
import { DEFAULT_MESH_SETTINGS, PROTOCOLS } from '../../src/mesh/settings.js'
import { StreamReader, concat, frame } from '../../src/mesh/wire.js'
import { MAX_MESSAGE_FRAME, decodeFull, decodeGraft, decodeIhaveMessage, formatOf, type Notice } from '../../src/mesh/announce.js'
import type { SignedRecord } from '../../src/crypto/record.js'
import type { TestNode } from './helpers.js'

/** The rogues a test file started, stopped together in its afterEach. */
export class RogueSet {
  private readonly all: Rogue[] = []
  async start (from?: string): Promise<Rogue> {
    const r = from === undefined ? await Rogue.start() : await Rogue.startFrom(from)
    this.all.push(r)
    return r
  }

  async stopAll (): Promise<void> { await Promise.allSettled(this.all.splice(0).map(async r => await r.stop())) }
}

export class Rogue {
  private constructor (readonly libp2p: MeshLibp2p) {}

  static async start (transports: Transport[] = ['tcp']): Promise<Rogue> {
    const identity = identityFromKey(generateSigningKey())
    const config = { cluster: { interfaces: ['lo'], port: 0, transports, allowedNodes: [] } } as unknown as Config
    const libp2p = await createNode(config, identity, new Admission([], identity.peerId.toString()), DEFAULT_MESH_SETTINGS)
    await libp2p.start()
    return new Rogue(libp2p)
  }

  /**
   * A TCP-only rogue whose dials come from another loopback address (`from`, e.g.
   * 127.0.0.2: Linux routes all of 127.0.0.0/8 to lo), so that per-IP limits can tell it
   * from the honest nodes on 127.0.0.1. No limits of its own on connections it opens.
   */
  static async startFrom (from: string, o: { announce?: string[] } = {}): Promise<Rogue> {
    const identity = identityFromKey(generateSigningKey())
    const dialOpts = { noDelay: true, localAddress: from } // passed to net.connect (the type lists fewer of its options)
    const libp2p = await createLibp2p({
      privateKey: identity.privateKey,
      // `announce`: the listen addresses identify tells instead of the real one
      addresses: { listen: [`/ip4/${from}/tcp/0`], ...(o.announce !== undefined ? { announce: o.announce } : {}) },
      transports: [tcp({ dialOpts })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { maxConnections: 10_000, reconnectRetries: 0 },
      services: { identify: identify(), ping: ping() }
    })
    return new Rogue(libp2p)
  }

  /** Opens a new connection to `node` even when one is open already (libp2p would reuse it). */
  async dialAgain (node: TestNode): Promise<Connection> {
    return await this.libp2p.dial(multiaddr(`/ip4/127.0.0.1/tcp/${node.port}/p2p/${node.peerId}`), { signal: AbortSignal.timeout(10_000), force: true })
  }

  get peerId (): string { return this.libp2p.peerId.toString() }

  async dial (node: TestNode): Promise<Connection> {
    const addr = node.mesh.status().addresses.find(a => a.startsWith('/ip4/127.0.0.1/tcp/')) ?? node.mesh.status().addresses[0]
    return await this.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(5000) })
  }

  /** Opens `protocol` on a connection to `node` and writes raw bytes, then closes the write side. */
  async send (node: TestNode, protocol: string, data: Uint8Array[]): Promise<Stream> {
    const conn = await this.dial(node)
    const stream = await conn.newStream(protocol, { signal: AbortSignal.timeout(5000) })
    for (const d of data) if (!stream.send(d)) await stream.onDrain()
    await stream.close().catch(() => {})
    return stream
  }

  /** Sends records on the announce protocol, each as a FULL message: frame(0x01 record) frame(inline content, empty by default). */
  async announce (node: TestNode, records: Uint8Array[], inline: Uint8Array[] = []): Promise<void> {
    await this.send(node, PROTOCOLS.announce, records.flatMap((r, i) => fullMessage(r, inline[i])))
  }

  /**
   * Handles the announce ids given (and no other) and records what a node sends the rogue,
   * each message decoded in the format of the id the node selected.
   */
  async listenAnnounce (protocols: string[] = [PROTOCOLS.announce]): Promise<AnnounceLog> {
    const log: AnnounceLog = { full: [], ihave: [], wants: 0, grafts: [], bareGrafts: 0, prunes: 0 }
    await this.libp2p.handle(protocols, async (stream) => {
      const format = formatOf(stream.protocol)
      const reader = new StreamReader(stream, Date.now() + 60_000, 4 * 1024 * 1024)
      try {
        for (;;) {
          const head = await reader.frame(MAX_MESSAGE_FRAME)
          if (head === undefined) return
          if (head[0] === 0x01) { await reader.frame(1024 * 1024); log.full.push({ ...decodeFull(head, format), protocol: stream.protocol }) }
          if (head[0] === 0x02) { const m = decodeIhaveMessage(head, format); log.ihave.push(...m.notices); if (m.want) log.wants++ }
          if (head[0] === 0x03) { if (head.length === 1) log.bareGrafts++; else log.grafts.push(decodeGraft(head)) }
          if (head[0] === 0x04) log.prunes++
        }
      } catch { stream.abort(new Error('rogue reader done')) }
    }, { maxInboundStreams: 16 })
    return log
  }

  connectedTo (node: TestNode): boolean {
    return this.libp2p.getConnections().some(c => c.remotePeer.toString() === node.peerId && c.status === 'open')
  }

  async stop (): Promise<void> { await this.libp2p.stop() }

  // --- for tests/mesh/attacks.test.ts and tests/fuzz/mesh-wire.fuzz.test.ts -----------

  /** Opens `protocol` to `node` and sends nothing yet; the rogue's own outbound stream cap is lifted. */
  async open (node: TestNode, protocol: string, timeout = 5000): Promise<Stream> {
    const conn = await this.dial(node)
    return await conn.newStream(protocol, { signal: AbortSignal.timeout(timeout), maxOutboundStreams: 100_000 })
  }

  /** Writes raw bytes on an open stream (waiting for drain); false once the node closed or reset it. */
  async write (stream: Stream, data: Uint8Array): Promise<boolean> {
    if (stream.status !== 'open' || stream.writeStatus !== 'writable') return false
    try {
      if (!stream.send(data)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
      return true
    } catch { return false }
  }

  /** Resolves with Date.now() when `stream` is gone (closed, aborted or reset, by either side). */
  async gone (stream: Stream): Promise<number> {
    if (stream.status !== 'open' && stream.status !== 'closing') return Date.now()
    return await new Promise(resolve => stream.addEventListener('close', () => resolve(Date.now()), { once: true }))
  }

  /**
   * Answers the fetch protocol with `answer(request, stream)`: the request frame payload
   * (undefined if none came within 5 s) and the stream to write the answer to.
   */
  async serveFetch (answer: (request: Uint8Array | undefined, stream: Stream) => Promise<void> | void): Promise<void> {
    const { StreamReader } = await import('../../src/mesh/wire.js') // (imports above left as they were)
    await this.libp2p.unhandle(PROTOCOLS.fetch).catch(() => {})
    await this.libp2p.handle(PROTOCOLS.fetch, async (stream) => {
      const reader = new StreamReader(stream, Date.now() + 5000, 1024)
      const request = await reader.frame(1024).catch(() => undefined)
      try { await answer(request, stream) } catch (err) { stream.abort(err as Error) }
    }, { maxInboundStreams: 1024 })
  }

  /**
   * Answers the sync protocol (sync/3.0.0, the rogue as responder) with `answer(reader,
   * stream)`: the reader is attached to the stream (the node's hello first), the answer
   * writes whatever the test wants.
   */
  async serveSync (answer: (reader: import('../../src/mesh/wire.js').StreamReader, stream: Stream) => Promise<void>): Promise<void> {
    const { StreamReader } = await import('../../src/mesh/wire.js')
    await this.libp2p.unhandle(PROTOCOLS.sync).catch(() => {})
    await this.libp2p.handle(PROTOCOLS.sync, async (stream) => {
      const reader = new StreamReader(stream, Date.now() + 10_000, 1 << 24)
      try { await answer(reader, stream) } catch (err) { stream.abort(err as Error) }
    }, { maxInboundStreams: 1024 })
  }

  /** Whether `node` has an open connection to the rogue (the rogue may not have noticed a close yet). */
  heldBy (node: TestNode): boolean {
    return node.mesh.libp2p.getConnections().some(c => c.remotePeer.toString() === this.peerId && c.status === 'open')
  }
}

/** What a node sent a rogue on the announce protocol (Rogue.listenAnnounce). */
export interface AnnounceLog {
  /** `mark`: it came marked as a reshape flood's copy (announce/3.2.0) */
  full: Array<{ record: SignedRecord, hops: number | undefined, mark: boolean, protocol: string }>
  ihave: Notice[]
  /** IHAVE messages that came with the reshape flood's WANT (announce/3.2.0) */
  wants: number
  /** GRAFTs asking for a version */
  grafts: Array<{ name: string, id: Uint8Array }>
  /** GRAFTs of a link only (no version asked for) */
  bareGrafts: number
  prunes: number
}

/** An announce/3.0.0 FULL message: frame(0x01 record) frame(inline content, empty by default). */
export function fullMessage (record: Uint8Array, inline: Uint8Array = new Uint8Array(0)): Uint8Array[] {
  return [frame(concat([Uint8Array.of(0x01), record])), frame(inline)]
}
