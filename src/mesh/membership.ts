// Keeping the node connected: dial bootstrap nodes until one answers (a bootstrap node
// that is down is retried, never fatal), remember the members whose connection completed
// identify, dial peers learnt through peer exchange at a bounded rate (learned-peers.ts), keep between targetPeers and maxPeers connections, redial after a loss
// with jittered exponential backoff, and now and then dial one more known peer so that
// two halves of a healed partition find each other again.
//
// Only members' addresses are dialed (issue 18, item 7): a peer that dialed this node
// and is not a known member (known-members.ts) is served, but neither its identify
// addresses nor its peer-exchange answers are used; otherwise every stranger that
// connected once would choose whom this node dials (200 one-shot ids: 779 dials in a
// minute). A peer this node dialed itself vouches for what it tells (its answers are
// still only candidates, dialed at a bounded rate).
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { MeshContext } from './context.js'
import { connectedPeers, type MeshLibp2p } from './node.js'
import { usesTransport, type BootstrapTarget } from './addresses.js'
import { jitter, type MeshSettings } from './settings.js'
import { shuffle } from './proto/shuffle.js'
import { LearnedPeers, type Candidate } from './learned-peers.js'
import type { Transport } from '../config/config.js'
import type { KnownMembers } from './known-members.js'

interface Backoff { failures: number, nextAttempt: number }

interface Known extends Backoff {
  peerId: PeerId
  /** last time we were connected, or learned of it (unix ms) */
  lastSeen: number
}

interface Bootstrap extends Backoff, BootstrapTarget {
  /** the peer that answered at this address last time */
  seen?: string
  /** the entry is this node itself (clan configs list every node, this one included) */
  self?: boolean
}

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

export class Membership {
  private readonly known = new Map<string, Known>()
  private readonly bootstrap: Bootstrap[]
  private readonly dialing = new Set<string>()
  private timer?: NodeJS.Timeout
  private nextExplore: number
  private stopped = false
  /** aborts dials in flight on stop (a QUIC dial to a vanished peer only ends at its timeout) */
  private readonly abort = new AbortController()
  /** peers we were told about and have not reached yet (F10: never trusted, dialed at a bounded rate) */
  private readonly learned: LearnedPeers
  counters = { dials: 0, dialFailures: 0, trimmed: 0, learnedDials: 0, strangerListsIgnored: 0 }

  private readonly libp2p: MeshLibp2p
  private readonly settings: MeshSettings
  private readonly log: MeshContext['log']
  private readonly admits: MembershipDelegate['mayConnect']
  private readonly onConnected: MembershipDelegate['onConnected']
  private readonly members: KnownMembers
  /** allowed_nodes, penalty box and, with a network, a verified certificate */
  private readonly verified: MeshContext['admits']

  constructor (ctx: MeshContext, delegate: MembershipDelegate) {
    this.libp2p = ctx.libp2p
    this.settings = ctx.settings
    this.log = ctx.log
    this.admits = delegate.mayConnect
    this.onConnected = delegate.onConnected
    this.members = delegate.members
    this.verified = ctx.admits
    const self = ctx.libp2p.peerId.toString()
    this.bootstrap = delegate.bootstrap.map(b => ({ ...b, failures: 0, nextAttempt: 0, self: b.peerId === self }))
    this.nextExplore = Date.now() + jitter(ctx.settings.exploreInterval, 0.5)
    this.learned = new LearnedPeers(ctx.settings)
  }

  start (): void {
    const lib = this.libp2p
    lib.addEventListener('peer:connect', this.onConnect)
    lib.addEventListener('peer:disconnect', this.onDisconnect)
    lib.addEventListener('peer:identify', this.onIdentify)
    this.tick()
  }

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail
    const k = this.known.get(peer.toString())
    if (k !== undefined) k.lastSeen = Date.now()
    const conn = this.libp2p.getConnections(peer)[0]
    if (conn !== undefined) this.onConnected(peer, conn)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const k = this.known.get(evt.detail.toString())
    if (k !== undefined) {
      k.lastSeen = Date.now()
      // a connection that worked is retried soon; one that never did keeps its backoff
      if (k.failures === 0) k.nextAttempt = Date.now() + jitter(this.settings.backoffBase, 0.5)
    }
    this.soon()
  }

  /**
   * Identify completed: the connection really works (a peer that refuses us closes the
   * connection before any protocol runs). Only now is the peer remembered and its backoff
   * reset, so that a node refused by admission backs off instead of reconnecting in a loop.
   * (A peer that dialed us counts too: it holds its key and answered on a live connection;
   * if its announced addresses do not answer later, its failures make it the first to go.)
   */
  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, listenAddrs: Multiaddr[] }>): void => {
    const { peerId, listenAddrs } = evt.detail
    const id = peerId.toString()
    let reached = false
    for (const b of this.bootstrap) if (b.seen === id) { b.failures = 0; reached = true }
    // (with a network, identify runs only once the certificate is verified)
    if (reached || this.dialedByUs(peerId)) this.members.add(peerId)
    if (listenAddrs.length > 0 && this.admits(peerId) && this.members.has(peerId)) {
      this.learned.remove(id)
      this.remember(peerId, true)
    }
    const k = this.known.get(id)
    if (k !== undefined) k.failures = 0
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

  /** Peers learned from peer exchange: candidates, not known peers, until a connection to them completes identify. */
  learn (peers: Array<{ peerId: PeerId, addrs: Multiaddr[] }>, from: PeerId): void {
    if (!this.vouches(from)) { this.counters.strangerListsIgnored++; return }
    let fresh = false
    const transports = this.transports()
    for (const { peerId, addrs } of peers) {
      const id = peerId.toString()
      if (peerId.equals(this.libp2p.peerId) || !this.admits(peerId) || this.known.has(id)) continue
      const usable = addrs.filter(a => usesTransport(a, transports))
      if (usable.length === 0) continue
      if (!this.learned.has(id)) fresh = true
      this.learned.add(peerId, usable)
    }
    if (fresh && connectedPeers(this.libp2p).length < this.settings.targetPeers) this.soon()
  }

  /** The transports this node listens on (and so can dial). */
  private transports (): Transport[] {
    const mine = this.libp2p.getMultiaddrs()
    return (['tcp', 'quic'] as const).filter(t => mine.some(m => usesTransport(m, [t])))
  }

  private remember (peerId: PeerId, connected: boolean): void {
    const id = peerId.toString()
    const k = this.known.get(id)
    if (k !== undefined) { if (connected) k.lastSeen = Date.now(); return }
    if (this.known.size >= this.settings.maxKnownPeers) this.evictOne()
    this.known.set(id, { peerId, failures: 0, nextAttempt: 0, lastSeen: Date.now() })
  }

  private evictOne (): void {
    const connected = new Set(connectedPeers(this.libp2p).map(p => p.toString()))
    let worst: Known | undefined
    for (const k of this.known.values()) {
      if (connected.has(k.peerId.toString())) continue
      if (worst === undefined || k.failures > worst.failures || (k.failures === worst.failures && k.lastSeen < worst.lastSeen)) worst = k
    }
    if (worst !== undefined) this.forget(worst)
  }

  private forget (k: Known): void {
    this.known.delete(k.peerId.toString())
    this.libp2p.peerStore.delete(k.peerId).catch(() => {})
  }

  /** Runs the loop again shortly (coalesced). */
  private soon (): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.tick(), 50)
    this.timer.unref()
  }

  private tick (): void {
    if (this.stopped) return
    try { this.maintain() } catch (err) { this.log.error({ err }, 'membership loop failed') }
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.tick(), jitter(this.settings.maintainInterval, 0.2))
    this.timer.unref()
  }

  private backoff (b: Backoff): void {
    b.failures++
    const delay = Math.min(this.settings.backoffBase * 2 ** (b.failures - 1), this.settings.backoffMax)
    b.nextAttempt = Date.now() + jitter(delay, 0.5)
  }

  private maintain (): void {
    const s = this.settings
    const now = Date.now()
    const connected = new Set(connectedPeers(this.libp2p).map(p => p.toString()))
    for (const k of [...this.known.values()]) {
      if (!connected.has(k.peerId.toString()) && k.failures > 0 && now - k.lastSeen > s.forgetAfter) this.forget(k)
    }

    const open = this.libp2p.getConnections().filter(c => c.status === 'open').length
    if (open > s.maxPeers) this.trimDuplicates(open - s.maxPeers)
    if (connected.size > s.maxPeers) this.trim(connected.size - s.maxPeers)

    const room = Math.min(s.targetPeers - connected.size, s.maxParallelDials) - this.dialing.size
    const explore = room <= 0 && now >= this.nextExplore && connected.size < s.maxPeers && this.dialing.size === 0
    if (room <= 0 && !explore) return
    if (explore) this.nextExplore = now + jitter(s.exploreInterval, 0.5)

    const due = (b: Backoff): boolean => b.nextAttempt <= now
    const boots = this.bootstrap.filter(b => due(b) && b.self !== true && !this.dialing.has('boot:' + b.entry) &&
      (b.seen === undefined || !connected.has(b.seen)) && (b.peerId === undefined || this.admits(b.peerId)))
    const peers = [...this.known.values()].filter(k => due(k) && !connected.has(k.peerId.toString()) &&
      !this.dialing.has(k.peerId.toString()) && this.admits(k.peerId))
    // with no connection at all, the bootstrap nodes come first; otherwise everything is shuffled together
    const candidates: Array<{ boot?: Bootstrap, known?: Known }> = connected.size === 0
      ? [...shuffle(boots, Math.random).map(boot => ({ boot })), ...shuffle(peers, Math.random).map(known => ({ known }))]
      : shuffle([...boots.map(boot => ({ boot })), ...peers.map(known => ({ known }))], Math.random)
    const slots = explore ? 1 : room
    for (const c of candidates.slice(0, slots)) {
      if (c.boot !== undefined) void this.dialBootstrap(c.boot)
      else if (c.known !== undefined) void this.dialKnown(c.known)
    }
    // what is left goes to learnt candidates, oldest first, as far as their rate allows
    let left = slots - candidates.length
    for (const c of this.learned.list()) {
      if (left <= 0) break
      const id = c.peerId.toString()
      if (connected.has(id) || this.dialing.has(id) || !this.admits(c.peerId)) continue
      const n = this.learned.take(c.addrs.length)
      if (n === 0) break
      left--
      void this.dialCandidate(c, n)
    }
  }

  /** Dials a learnt candidate at (the first `n` of) its learnt addresses; it gets one chance. */
  private async dialCandidate (c: Candidate, n: number): Promise<void> {
    const id = c.peerId.toString()
    this.dialing.add(id)
    this.counters.dials++
    this.counters.learnedDials += n
    this.learned.remove(id) // identify moves it to the known peers; a failure forgets it
    try {
      // with /p2p/<id>, the handshake proves that this peer id is at this address
      await this.libp2p.dial(c.addrs.slice(0, n).map(a => a.encapsulate(`/p2p/${id}`)), { signal: this.dialSignal() })
    } catch (err) {
      this.counters.dialFailures++
      this.log.debug({ peer: id, err: (err as Error).message }, 'dial to a learnt peer failed')
      // libp2p notes the failure in its peer store: an entry per throw-away id otherwise
      if (this.libp2p.getConnections(c.peerId).length === 0 && !this.known.has(id)) this.libp2p.peerStore.delete(c.peerId).catch(() => {})
    } finally {
      this.dialing.delete(id)
    }
  }

  private async dialKnown (k: Known): Promise<void> {
    const id = k.peerId.toString()
    this.dialing.add(id)
    this.counters.dials++
    this.backoff(k) // until identify proves the connection works (onIdentify resets it)
    try {
      await this.libp2p.dial(k.peerId, { signal: this.dialSignal() })
      k.lastSeen = Date.now()
    } catch (err) {
      this.counters.dialFailures++
      this.log.debug({ peer: id, err: (err as Error).message, retryIn: k.nextAttempt - Date.now() }, 'dial failed')
    } finally {
      this.dialing.delete(id)
    }
  }

  private async dialBootstrap (b: Bootstrap): Promise<void> {
    const key = 'boot:' + b.entry
    this.dialing.add(key)
    this.counters.dials++
    this.backoff(b) // until identify proves the connection works (onIdentify resets it)
    try {
      const conn = await this.libp2p.dial(b.addrs, { signal: this.dialSignal() })
      b.seen = conn.remotePeer.toString()
    } catch (err) {
      this.counters.dialFailures++
      if ((err as Error).name === 'InvalidPeerIdError' && /dial self/i.test((err as Error).message)) {
        b.self = true // our own address: never again
        return
      }
      this.log.debug({ bootstrap: b.entry, err: (err as Error).message, retryIn: b.nextAttempt - Date.now() }, 'bootstrap dial failed')
    } finally {
      this.dialing.delete(key)
    }
  }

  private dialSignal (): AbortSignal {
    return AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.settings.dialTimeout)])
  }

  /**
   * Trimming by connection: with more connections than maxPeers, closes up to `count`
   * second (third…) connections to one peer, newest first, past their grace period. The
   * oldest connection to each peer stays (our streams to a peer use its first open one).
   */
  private trimDuplicates (count: number): void {
    const now = Date.now()
    const extra = connectedPeers(this.libp2p).flatMap(p =>
      [...this.libp2p.getConnections(p)].filter(c => c.status === 'open').sort((a, b) => a.timeline.open - b.timeline.open).slice(1))
      .filter(c => now - c.timeline.open > this.settings.trimGrace)
      .sort((a, b) => b.timeline.open - a.timeline.open)
    for (const c of extra.slice(0, count)) {
      this.counters.trimmed++
      c.close({ signal: AbortSignal.timeout(this.settings.dialTimeout) }).catch(err => c.abort(err as Error))
    }
  }

  /**
   * Closes `count` peers past their grace period: strangers before members, then those
   * holding the most connections first (a peer is capped at maxConnectionsPerPeer,
   * connection-limits.ts), random among equals.
   */
  private trim (count: number): void {
    const now = Date.now()
    const old = connectedPeers(this.libp2p).filter(p => {
      const conns = this.libp2p.getConnections(p)
      return conns.length > 0 && conns.every(c => now - c.timeline.open > this.settings.trimGrace)
    })
    const held = (p: PeerId): number => this.libp2p.getConnections(p).length
    const member = (p: PeerId): number => this.members.has(p) ? 1 : 0
    const order = shuffle(old, Math.random).sort((a, b) => member(a) - member(b) || held(b) - held(a)) // sort is stable: random among equals
    for (const p of order.slice(0, count)) {
      this.counters.trimmed++
      this.libp2p.hangUp(p).catch(() => {})
    }
  }

  knownPeers (): number { return this.known.size }

  /** Learnt peers not reached yet. */
  candidatePeers (): number { return this.learned.size }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.abort.abort(new Error('stopping'))
    this.libp2p.removeEventListener('peer:connect', this.onConnect)
    this.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
  }
}
