// Keeping the node connected: the adapter of the overlay core (proto/overlay.ts, which
// decides whom to dial, keep, let go of and forget: bootstrap nodes, known peers with
// backoff, learnt candidates at a bounded rate, targetPeers..maxPeers, exploration,
// trimming, and joining without crowding a bootstrap node). This file only turns
// libp2p's connection events and dial results into the core's events, carries out its
// actions (dials, hang-ups, peer-store deletes) and arms the one timer the core asks for.
//
// Only members' addresses are dialed (issue 18, item 7): a peer that dialed this node
// and is not a known member (known-members.ts) is served, but neither its identify
// addresses nor its peer-exchange answers are used; otherwise every stranger that
// connected once would choose whom this node dials (200 one-shot ids: 779 dials in a
// minute). A peer this node dialed itself vouches for what it tells (its answers are
// still only candidates, dialed at a bounded rate).
import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { MeshContext } from './context.js'
import { type MeshLibp2p } from './node.js'
import { usesTransport, type BootstrapTarget } from './addresses.js'
import type { PeerSelectionSettings, TransportSettings } from './settings.js'
import { Overlay, type DialTarget, type OverlayAction, type OverlayEvent } from './proto/overlay.js'
import type { Transport } from '../config/config.js'
import type { KnownMembers } from './known-members.js'

/** What membership needs from the rest of the mesh (wired in index.ts). */
export interface MembershipDelegate {
  /** the configured bootstrap nodes (parsed; this node's own entry may be among them) */
  bootstrap: BootstrapTarget[]
  /**
   * whether this node may connect to the peer at all (allowed_nodes, penalty box). Not
   * ctx.admits: a peer is dialed and remembered before its certificate is verified.
   */
  mayConnect: (peer: PeerId | string) => boolean
  /** the known members: told of those this node reached itself (and of the peers that answered at bootstrap addresses) */
  members: KnownMembers
  /** a new connection to a peer we had none with */
  onConnected: (peer: PeerId, conn: Connection) => void
}

/**
 * libp2p throws InvalidPeerIdError on a dial only when the peer at the other end is this
 * node itself (connection-manager: a /p2p/ id equal to ours; upgrader: an address-only
 * dial whose handshake proved our own id). The name alone tells it, not the message.
 */
function isSelfDial (err: unknown): boolean {
  return (err as Error | undefined)?.name === 'InvalidPeerIdError'
}

export class Membership {
  private readonly core: Overlay
  private readonly bootstrap: Map<string, BootstrapTarget>
  private timer?: NodeJS.Timeout
  private stopped = false
  /** aborts dials in flight on stop (a QUIC dial to a vanished peer only ends at its timeout) */
  private readonly abort = new AbortController()
  private strangerListsIgnored = 0

  private readonly libp2p: MeshLibp2p
  private readonly settings: PeerSelectionSettings & Pick<TransportSettings, 'dialTimeout'>
  private readonly log: MeshContext['log']
  private readonly onConnected: MembershipDelegate['onConnected']
  private readonly members: KnownMembers
  /** allowed_nodes, penalty box and, with a network, a verified certificate */
  private readonly verified: MeshContext['admits']

  constructor (ctx: MeshContext, delegate: MembershipDelegate) {
    this.libp2p = ctx.libp2p
    this.settings = ctx.settings
    this.log = ctx.log
    this.onConnected = delegate.onConnected
    this.members = delegate.members
    this.verified = ctx.admits
    this.bootstrap = new Map(delegate.bootstrap.map(b => [b.entry, b]))
    this.core = new Overlay({
      settings: ctx.settings,
      self: ctx.libp2p.peerId.toString(),
      bootstrap: delegate.bootstrap.map(b => ({ entry: b.entry, peerId: b.peerId })),
      view: { mayConnect: p => delegate.mayConnect(p), isMember: p => delegate.members.has(p) },
      random: Math.random,
      now: Date.now()
    })
  }

  get counters (): Overlay['counters'] & { strangerListsIgnored: number } {
    return { ...this.core.counters, strangerListsIgnored: this.strangerListsIgnored }
  }

  start (): void {
    const lib = this.libp2p
    lib.addEventListener('peer:connect', this.onConnect)
    lib.addEventListener('peer:disconnect', this.onDisconnect)
    lib.addEventListener('peer:identify', this.onIdentify)
    lib.addEventListener('connection:open', this.onConnections)
    lib.addEventListener('connection:close', this.onConnections)
    this.run(this.core.start(Date.now()))
  }

  private event (e: OverlayEvent): void {
    if (this.stopped) return
    this.run(this.core.handle(e, Date.now()))
  }

  /** The open connections to a peer, and the newest one's open time. */
  private open (peer: PeerId): { conns: Connection[], newestOpenedAt: number } {
    const conns = this.libp2p.getConnections(peer).filter(c => c.status === 'open')
    return { conns, newestOpenedAt: Math.max(0, ...conns.map(c => c.timeline.open)) }
  }

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail
    const { conns, newestOpenedAt } = this.open(peer)
    this.event({ kind: 'connected', peer: peer.toString(), outbound: conns.some(c => c.direction === 'outbound'), connections: Math.max(1, conns.length), newestOpenedAt: newestOpenedAt || Date.now() })
    const conn = this.libp2p.getConnections(peer)[0]
    if (conn !== undefined) this.onConnected(peer, conn)
  }

  private readonly onConnections = (evt: CustomEvent<Connection>): void => {
    const peer = evt.detail.remotePeer
    const { conns, newestOpenedAt } = this.open(peer)
    if (conns.length > 0) this.event({ kind: 'connections', peer: peer.toString(), connections: conns.length, newestOpenedAt })
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.event({ kind: 'disconnected', peer: evt.detail.toString() })
  }

  /** Identify completed: the connection really works (see Overlay's 'identified'). */
  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, listenAddrs: Multiaddr[] }>): void => {
    const { peerId, listenAddrs } = evt.detail
    this.event({ kind: 'identified', peer: peerId.toString(), hasAddresses: listenAddrs.length > 0, dialedByUs: this.dialedByUs(peerId) })
  }

  /** Whether this node has an open connection it opened itself to the peer. */
  private dialedByUs (peer: PeerId): boolean {
    return this.libp2p.getConnections(peer).some(c => c.direction === 'outbound' && c.status === 'open')
  }

  /**
   * Whether what the peer tells about others may be used: it is a known member, or a
   * peer this node dialed itself (and, with a network, whose certificate is verified).
   */
  vouches (peer: PeerId): boolean {
    return this.verified(peer) && (this.members.has(peer) || this.dialedByUs(peer))
  }

  /**
   * Peers learned from peer exchange: candidates, not known peers, until a connection to
   * them completes identify. Returns whether the list named a peer this node needs (the
   * peer exchange backs off while answers do not: proto/exchange-schedule.ts).
   */
  learn (peers: Array<{ peerId: PeerId, addrs: Multiaddr[] }>, from: PeerId): boolean {
    if (!this.vouches(from)) { this.strangerListsIgnored++; return false }
    const useful = this.core.teaches(peers.map(p => p.peerId.toString()))
    const transports = this.transports()
    this.event({
      kind: 'learned',
      from: from.toString(),
      peers: peers.map(({ peerId, addrs }) => ({ peer: peerId.toString(), addrs: addrs.filter(a => usesTransport(a, transports)).map(String) }))
    })
    return useful
  }

  /** Fewer peers connected than targetPeers (the peer exchange then asks at its base interval). */
  short (): boolean { return this.core.short() }

  /**
   * This node answered the peer's peer-exchange request: a newcomer that connected while
   * this node was full has what it came for, and is let go joinLinger later (Overlay's 'served').
   */
  served (peer: PeerId): void {
    this.event({ kind: 'served', peer: peer.toString() })
  }

  /** The transports this node listens on (and so can dial). */
  private transports (): Transport[] {
    const mine = this.libp2p.getMultiaddrs()
    return (['tcp', 'quic'] as const).filter(t => mine.some(m => usesTransport(m, [t])))
  }

  private run (actions: OverlayAction[]): void {
    for (const a of actions) {
      if (this.stopped) return
      switch (a.kind) {
        case 'dial': void this.dial(a.target); break
        case 'hang-up': this.libp2p.hangUp(peerIdFromString(a.peer)).catch(() => {}); break
        case 'trim-extra-connections': this.trimDuplicates(a.count); break
        case 'forget': this.libp2p.peerStore.delete(peerIdFromString(a.peer)).catch(() => {}); break
        case 'member': this.members.add(a.peer); break
        case 'wake': this.arm(a.at); break
      }
    }
  }

  /** The one timer: the core's latest wake. */
  private arm (at: number): void {
    clearTimeout(this.timer)
    if (!Number.isFinite(at)) return
    this.timer = setTimeout(() => {
      try { this.event({ kind: 'tick' }) } catch (err) { this.log.error({ err }, 'membership loop failed') }
    }, Math.max(0, at - Date.now()))
    this.timer.unref()
  }

  private async dial (target: DialTarget): Promise<void> {
    let done: OverlayEvent & { kind: 'dial-done' } = { kind: 'dial-done', target, ok: false }
    try {
      if ('bootstrap' in target) {
        const b = this.bootstrap.get(target.bootstrap)
        if (b === undefined) return
        const conn = await this.libp2p.dial(b.addrs, { signal: this.dialSignal() })
        done = { ...done, ok: true, answeredBy: conn.remotePeer.toString() }
      } else if ('peer' in target) {
        await this.libp2p.dial(peerIdFromString(target.peer), { signal: this.dialSignal() })
        done = { ...done, ok: true }
      } else {
        // with /p2p/<id>, the handshake proves that this peer id is at this address
        await this.libp2p.dial(target.addrs.map(a => multiaddr(a).encapsulate(`/p2p/${target.candidate}`)), { signal: this.dialSignal() })
        done = { ...done, ok: true }
      }
    } catch (err) {
      if ('bootstrap' in target && isSelfDial(err)) done = { ...done, self: true }
      else this.log.debug({ target, err: (err as Error).message }, 'dial failed')
    } finally {
      this.event(done)
    }
  }

  private dialSignal (): AbortSignal {
    return AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.settings.dialTimeout)])
  }

  /**
   * Trimming by connection: closes up to `count` second (third…) connections to one peer,
   * newest first, past their grace period. The oldest connection to each peer stays (our
   * streams to a peer use its first open one).
   */
  private trimDuplicates (count: number): void {
    const now = Date.now()
    const byPeer = new Map<string, Connection[]>()
    for (const c of this.libp2p.getConnections()) {
      if (c.status !== 'open') continue
      const id = c.remotePeer.toString()
      byPeer.set(id, [...(byPeer.get(id) ?? []), c])
    }
    const extra = [...byPeer.values()].flatMap(cs => cs.sort((a, b) => a.timeline.open - b.timeline.open).slice(1))
      .filter(c => now - c.timeline.open > this.settings.trimGrace)
      .sort((a, b) => b.timeline.open - a.timeline.open)
    for (const c of extra.slice(0, count)) {
      this.core.counters.trimmed++
      c.close({ signal: AbortSignal.timeout(this.settings.dialTimeout) }).catch(err => c.abort(err as Error))
    }
  }

  knownPeers (): number { return this.core.knownPeers() }

  /** Learnt peers not reached yet. */
  candidatePeers (): number { return this.core.candidatePeers() }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.abort.abort(new Error('stopping'))
    const lib = this.libp2p
    lib.removeEventListener('peer:connect', this.onConnect)
    lib.removeEventListener('peer:disconnect', this.onDisconnect)
    lib.removeEventListener('peer:identify', this.onIdentify)
    lib.removeEventListener('connection:open', this.onConnections)
    lib.removeEventListener('connection:close', this.onConnections)
  }
}
