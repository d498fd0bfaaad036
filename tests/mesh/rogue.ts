// A hand-driven libp2p peer for the hostile tests: same transports and handshake as a
// real node, but it sends whatever bytes the test wants on the data-mesher protocols.
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, Stream } from '@libp2p/interface'
import type { Config, Transport } from '../../src/config/config.js'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { Admission } from '../../src/mesh/admission.js'
import { identityFromKey } from '../../src/mesh/identity.js'
import { createNode, type MeshLibp2p } from '../../src/mesh/node.js'
import { DEFAULT_MESH_SETTINGS } from '../../src/mesh/settings.js'
import { frame } from '../../src/mesh/wire.js'
import type { TestNode } from './helpers.js'

export class Rogue {
  private constructor (readonly libp2p: MeshLibp2p) {}

  static async start (transports: Transport[] = ['tcp']): Promise<Rogue> {
    const identity = identityFromKey(generateSigningKey())
    const config = { cluster: { interfaces: ['lo'], port: 0, transports, allowedNodes: [] } } as unknown as Config
    const libp2p = await createNode(config, identity, new Admission([], identity.peerId.toString()), DEFAULT_MESH_SETTINGS)
    await libp2p.start()
    return new Rogue(libp2p)
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

  /** Sends records (as frames) on the announce protocol. */
  async announce (node: TestNode, records: Uint8Array[]): Promise<void> {
    await this.send(node, '/data-mesher/announce/1.0.0', records.map(frame))
  }

  connectedTo (node: TestNode): boolean {
    return this.libp2p.getConnections().some(c => c.remotePeer.toString() === node.peerId && c.status === 'open')
  }

  async stop (): Promise<void> { await this.libp2p.stop() }
}
