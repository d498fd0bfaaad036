// Which peers count as connected in status(): those whose connection completed identify.
// A node that refuses us (allowed_nodes, penalty, no certificate) closes the connection
// right after the handshake, before identify, and so is never listed.
import type { PeerId } from '@libp2p/interface'
import type { MeshContext } from './context.js'
import { connectedPeers, type MeshLibp2p } from './node.js'
import { latencyOf } from './open-rtt.js'

/** A connected peer: one whose connection completed identify (a refused handshake is not a peer). */
export interface PeerStatus {
  peerId: string
  /** remote address of the (oldest) connection */
  address: string
  /** when that connection opened, unix ms */
  since: number
  /** round trip of the last ping (one runs on connect, then every pingInterval); 0 until the first completes */
  latencyMs: number
}

/** What a PeerTracker uses of the mesh's context; of libp2p its connection events and connections. */
export interface PeerTrackerContext extends Pick<MeshContext, 'admits'> {
  readonly libp2p: Pick<MeshLibp2p, 'addEventListener' | 'removeEventListener' | 'getConnections'>
}

export class PeerTracker {
  private readonly identified = new Set<string>()

  /** `onGone`: a peer's last connection closed; `onUp`: an admitted peer completed identify (once per connected spell) */
  constructor (private readonly ctx: PeerTrackerContext, private readonly onGone: (peer: PeerId) => void, private readonly onUp?: (peer: PeerId) => void) {}

  start (): void {
    this.ctx.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.ctx.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
  }

  stop (): void {
    this.ctx.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    this.ctx.libp2p.removeEventListener('peer:identify', this.onIdentify)
  }

  /** The admitted peers that completed identify, by peer id, each with its oldest connection. */
  peers (): PeerStatus[] {
    const { libp2p, admits } = this.ctx
    const peers: PeerStatus[] = []
    for (const p of connectedPeers(libp2p)) {
      if (!this.identified.has(p.toString()) || !admits(p)) continue
      // a copy: getConnections() returns libp2p's own list, which must not be reordered
      const conns = [...libp2p.getConnections(p)].sort((a, b) => a.timeline.open - b.timeline.open)
      const c = conns[0]
      if (c === undefined) continue
      peers.push({ peerId: p.toString(), address: c.remoteAddr.toString(), since: c.timeline.open, latencyMs: Math.round(latencyOf(c)) })
    }
    return peers.sort((a, b) => a.peerId < b.peerId ? -1 : 1)
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId }>): void => {
    const peer = evt.detail.peerId
    if (this.ctx.libp2p.getConnections(peer).length === 0 || this.identified.has(peer.toString())) return
    this.identified.add(peer.toString())
    if (this.ctx.admits(peer)) this.onUp?.(peer)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.identified.delete(evt.detail.toString())
    this.onGone(evt.detail)
  }
}
