// The libp2p node: QUIC and/or TCP (+ Noise + Yamux) on cluster.port, identify, ping, the
// admission gater, bounded connections; on TCP one socket write per message (tcp-writes.ts)
// and Yamux window updates at half a window (yamux-window.ts). It is created stopped so
// that the protocol handlers exist before the first peer can connect.
import { createLibp2p, type Libp2p } from 'libp2p'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import type { PeerId } from '@libp2p/interface'
import type { Config } from '../config/config.js'
import type { NodeIdentity } from './identity.js'
import type { Admission } from './admission.js'
import type { ConnectionLimitSettings, TransportSettings } from './settings.js'
import { listenAddresses } from './addresses.js'
import { ConnectionLimits, combineGaters } from './connection-limits.js'
import { windowUpdatesAtHalf } from './yamux-window.js'
import { tcpJoinedWrites } from './tcp-writes.js'
import { noiseCrypto } from './noise-crypto.js'

export type MeshLibp2p = Libp2p<{ identify: Identify, ping: Ping }>

/**
 * The peers this node has a connection to, each once (what libp2p's getPeers() answers).
 * getPeers() collects them in a PeerSet, which stores peer ids as strings and parses each
 * back into a PeerId (base58 + multihash) when read: ~7% of a node's CPU per update in a
 * profile of 25 daemons, since every broadcast asks. The connections hold the PeerIds.
 */
export function connectedPeers (libp2p: Pick<MeshLibp2p, 'getConnections'>): PeerId[] {
  const peers = new Map<string, PeerId>()
  for (const c of libp2p.getConnections()) {
    const id = c.remotePeer.toString() // cached by the PeerId
    if (!peers.has(id)) peers.set(id, c.remotePeer)
  }
  return [...peers.values()]
}

/** Each node's connection limits, for its counters (mesh stats) */
const limitsOf = new WeakMap<MeshLibp2p, ConnectionLimits>()

/** The counters of the node's connection limits: connections refused or closed, by which limit. */
export function connectionLimitCounters (node: MeshLibp2p): ConnectionLimits['counters'] {
  return { ...(limitsOf.get(node)?.counters ?? { cutPending: 0, refusedPerIp: 0, refusedStrangers: 0, refusedPerPeer: 0, closedPerIp: 0, closedStrangers: 0, closedPerPeer: 0 }) }
}

/**
 * `isMember` (known-members.ts): peers whose connections strangers' limits do not count
 * (connection-limits.ts); nobody, by default.
 */
export async function createNode (config: Config, identity: NodeIdentity, admission: Admission, settings: ConnectionLimitSettings & TransportSettings, isMember?: (peer: PeerId) => boolean): Promise<MeshLibp2p> {
  const transports = config.cluster.transports
  const listen = listenAddresses(config.cluster.interfaces, config.cluster.port, transports)
  // QUIC is a native module: load it only when it is used, so a platform without its
  // binary (the lock has none for aarch64) still runs with transports = ["tcp"].
  const quic = transports.includes('quic') ? await loadQuic() : undefined
  const limits = new ConnectionLimits(settings, isMember)
  windowUpdatesAtHalf() // fewer frames per message (yamux-window.ts)
  const node = await createLibp2p({
    start: false,
    privateKey: identity.privateKey,
    addresses: { listen },
    transports: [
      ...(quic !== undefined ? [quic({ maxIdleTimeout: settings.quicMaxIdleTimeout, keepAliveInterval: settings.quicKeepAliveInterval })] : []),
      ...(transports.includes('tcp') ? [tcpJoinedWrites()] : []) // one socket write per message (tcp-writes.ts)
    ],
    connectionEncrypters: [noise({ crypto: noiseCrypto })], // private X25519 keys kept as KeyObjects (noise-crypto.ts)
    streamMuxers: [yamux({ keepAliveInterval: settings.yamuxKeepAliveInterval })],
    connectionGater: combineGaters(admission.gater(), limits.gater()),
    connectionManager: {
      maxConnections: settings.maxConnections,
      inboundConnectionThreshold: settings.inboundConnectionThreshold,
      maxIncomingPendingConnections: settings.maxIncomingPendingConnections,
      inboundUpgradeTimeout: settings.handshakeTimeout,
      dialTimeout: settings.dialTimeout,
      // reconnecting is ours (membership.ts): no KEEP_ALIVE tags, so libp2p's own queue stays idle
      reconnectRetries: 0
    },
    // liveness is ours (liveness.ts): pings only on silent TCP connections
    connectionMonitor: { enabled: false },
    services: {
      // with a network, identify runs once the certificate exchange admitted the peer (cert-admission.ts)
      identify: identify({ runOnConnectionOpen: config.network === undefined }),
      ping: ping()
    }
  })
  limits.attach(node)
  limitsOf.set(node, limits)
  return node
}

async function loadQuic (): Promise<typeof import('@chainsafe/libp2p-quic').quic> {
  try {
    return (await import('@chainsafe/libp2p-quic')).quic
  } catch (err) {
    throw new Error(`the QUIC transport cannot load on this platform (${(err as Error).message.split('\n')[0]}); set cluster.transports = ["tcp"]`)
  }
}
