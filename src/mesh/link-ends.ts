// How a peer's link ended: LOST (the connection failed: reset, timed out, the peer's
// process died, the network cut) or HUNG UP (closed on purpose by either end: this node's
// membership trimming or punishing, the peer's own trimming, a daemon's shutdown). Only
// lost links count towards wanting a reshape flood (proto/tree.ts, ReshapeOptions.lostOnly):
// the overlay trims links all the time, and a tree rebuilt for each would flood for nothing.
//
// libp2p's close event does not tell the two apart (a killed peer's TCP socket ends with a
// FIN, as a graceful close does; a QUIC connection whose peer died ends at its idle timeout,
// without an error). What does:
// - this node closed it: every graceful close goes through `connection.close()` (hangUp,
//   the membership's trimming, stop), which is wrapped here to remember it;
// - the peer closed it: over TCP its Yamux session sends a GoAway frame first (the muxer
//   keeps `remoteGoAway`); over QUIC it sends a CONNECTION_CLOSE frame (the native
//   connection counts `frameRxConnectionClose`).
// Neither of those: lost (a local abort, e.g. liveness.ts's failed ping, is lost too). Both
// peer-side signs are read from the libp2p objects' fields that the interfaces do not
// declare (tests/mesh/link-ends.test.ts checks them on real connections of both
// transports); where they cannot be read, a link counts as hung up: no reshape is wanted
// for a cut this node cannot see.
import type { Connection, PeerId } from '@libp2p/interface'
import type { MeshLibp2p } from './node.js'

/** The fields of libp2p's connection objects read here (present at run time, not declared by @libp2p/interface). */
interface ConnectionInternals {
  muxer?: {
    /** Yamux: the GoAway code the peer sent, if it sent one */
    remoteGoAway?: number
    /** QUIC: the native connection the muxer was made with */
    init?: { connection?: { stats?: () => { frameRxConnectionClose?: number } } }
  }
}

/** Whether the peer closed `conn` on purpose (Yamux GoAway, QUIC CONNECTION_CLOSE); undefined when neither can be read. */
export function peerClosed (conn: Connection): boolean | undefined {
  const muxer = (conn as unknown as ConnectionInternals).muxer
  if (muxer === undefined) return undefined
  if (conn.multiplexer === '/yamux/1.0.0') return muxer.remoteGoAway !== undefined
  const stats = muxer.init?.connection?.stats
  if (conn.multiplexer === 'quic' && typeof stats === 'function') {
    try {
      const n = stats.call(muxer.init?.connection).frameRxConnectionClose
      return typeof n === 'number' ? n > 0 : undefined
    } catch {
      return undefined
    }
  }
  return undefined
}

export class LinkEnds {
  /** each connected peer's connections (from `connection:open`), until its last one closed and was looked at */
  private readonly conns = new Map<string, Connection[]>()
  /** connections this node closed on purpose */
  private readonly closedHere = new WeakSet<Connection>()

  constructor (private readonly libp2p: Pick<MeshLibp2p, 'addEventListener' | 'removeEventListener'>) {}

  /** Before libp2p starts (so that every connection is seen). */
  start (): void {
    this.libp2p.addEventListener('connection:open', this.onOpen)
    this.libp2p.addEventListener('connection:close', this.onClose)
  }

  stop (): void {
    this.libp2p.removeEventListener('connection:open', this.onOpen)
    this.libp2p.removeEventListener('connection:close', this.onClose)
    this.conns.clear()
  }

  /**
   * Whether `peer`'s link was lost: asked when its last connection closed (libp2p's
   * `peer:disconnect`), judged by the connection that closed last.
   */
  lost (peer: PeerId | string): boolean {
    const list = this.conns.get(peer.toString()) ?? []
    let last: Connection | undefined
    for (const c of list) if (c.status !== 'open' && (last === undefined || (c.timeline.close ?? 0) >= (last.timeline.close ?? 0))) last = c
    if (last === undefined) return false
    return !this.closedHere.has(last) && peerClosed(last) === false
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    const id = conn.remotePeer.toString()
    const list = this.conns.get(id) ?? []
    list.push(conn)
    this.conns.set(id, list)
    // a close asked for here (hangUp, trimming, stop) is a hang-up, whatever the transport says after
    const close = conn.close.bind(conn)
    conn.close = async (options) => { this.closedHere.add(conn); await close(options) }
  }

  /** Forgets a closed connection, after libp2p's `peer:disconnect` for it (raised in the same dispatch, whichever listener runs first) was handled. */
  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    const id = conn.remotePeer.toString()
    queueMicrotask(() => {
      const list = this.conns.get(id)?.filter(c => c !== conn)
      if (list === undefined || list.length === 0) this.conns.delete(id)
      else this.conns.set(id, list)
    })
  }
}
