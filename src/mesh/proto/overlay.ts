// The overlay's core (issue 23, item 1: peer selection): which peers this node dials,
// keeps, lets go of and forgets. A state machine with no IO: the adapter
// (src/mesh/membership.ts) turns libp2p's connection events and dial results into
// OverlayEvents and carries out the OverlayActions; the simulator (tests/sim) drives the
// same class on simulated time. Peers are plain strings (PeerId.toString()), addresses
// opaque strings (multiaddrs in the daemon).
//
//   core.handle(event, now) → OverlayAction[]
//
// The driver calls handle({ kind: 'tick' }, now) at (or after) the latest `wake` it was
// given; a later `wake` replaces an earlier one.
import { jitterWith, type Random } from './random.js'
import { shuffle } from './shuffle.js'
import { LearnedPeers } from './learned-peers.js'

/** What the core dials: a bootstrap entry (by its config text), a known peer, or a learnt candidate at (some of) its learnt addresses. */
export type DialTarget =
  | { bootstrap: string }
  | { peer: string }
  | { candidate: string, addrs: string[] }

export type OverlayEvent =
  /** the first connection to a peer opened (libp2p peer:connect); `connections`: its open connections now, `newestOpenedAt`: the newest one's open time */
  | { kind: 'connected', peer: string, outbound: boolean, connections: number, newestOpenedAt: number }
  /** a connected peer's set of connections changed (one more or one fewer, the peer stays connected) */
  | { kind: 'connections', peer: string, connections: number, newestOpenedAt: number }
  /**
   * identify completed on a connection: the connection really works. `hasAddresses`: it
   * announced listen addresses; `dialedByUs`: this node holds an open connection to it that
   * it opened itself
   */
  | { kind: 'identified', peer: string, hasAddresses: boolean, dialedByUs: boolean }
  /** the last connection to a peer closed (libp2p peer:disconnect) */
  | { kind: 'disconnected', peer: string }
  /**
   * a dial the core asked for ended. `answeredBy`: the peer that answered (bootstrap
   * entries); `self`: the entry turned out to be this node itself (the adapter knows it
   * structurally, not from an error message)
   */
  | { kind: 'dial-done', target: DialTarget, ok: boolean, answeredBy?: string, self?: boolean }
  /** peers a peer that vouches for them told about (peer exchange), addresses already filtered to what this node can dial */
  | { kind: 'learned', from: string, peers: Array<{ peer: string, addrs: string[] }> }
  /** this node answered the peer's peer-exchange request (the answer was written) */
  | { kind: 'served', peer: string }
  /** the time asked for by the latest `wake` has come */
  | { kind: 'tick' }

export type OverlayAction =
  | { kind: 'dial', target: DialTarget }
  /** close every connection to the peer */
  | { kind: 'hang-up', peer: string }
  /** close up to `count` second (third…) connections to a peer, newest first, past trimGrace (the oldest connection to each peer stays) */
  | { kind: 'trim-extra-connections', count: number }
  /** the peer is no longer remembered: drop what the transport keeps about it (libp2p's peer store) */
  | { kind: 'forget', peer: string }
  /** the peer counts as a member of the cluster from now on (known-members.ts) */
  | { kind: 'member', peer: string }
  /** call handle({ kind: 'tick' }) at `at` */
  | { kind: 'wake', at: number }

/** What the core asks of the node's own state, synchronously. */
export interface OverlayView {
  /** allowed_nodes and the penalty box: whether this node may connect to the peer at all */
  mayConnect: (peer: string) => boolean
  /** a known member (known-members.ts) */
  isMember: (peer: string) => boolean
}

/** A bootstrap entry: its config text, and the peer id it names (if it names one). */
export interface BootstrapEntry { entry: string, peerId?: string }

/** The settings the overlay reads (a part of MeshSettings). */
export interface OverlaySettings {
  /** below this many connected peers, dial known peers (and bootstrap nodes) */
  targetPeers: number
  /** above this many connected peers, close the surplus (oldest-first is not used: random, past the grace period) */
  maxPeers: number
  /** a connection younger than this is never closed to trim the peer set */
  trimGrace: number
  /**
   * a peer that connected to this node while it already held maxPeers peers (a newcomer,
   * usually at a bootstrap node) is let go first, after this (or trimGrace if shorter):
   * long enough to learn other peers from this node's peer-exchange answer and dial them
   * (issue 23, item 5)
   */
  joinGrace: number
  /**
   * ... but a newcomer this node answered a peer-exchange request of (what it came for:
   * the peers to dial next) is let go this long after the answer instead, so that a full
   * bootstrap node's slots turn over in round trips while a fleet starts through it
   */
  joinLinger: number
  /**
   * while a node holds no connection at all, a bootstrap entry's retry delay (which
   * doubles from backoffBase) is at most this (±50%): it is the only way in, and a full
   * one frees a slot within joinLinger
   */
  joinRetryMax: number
  /** strangers' connections this node admits in all (connection-limits.ts): a served stranger is let go early only when they are all taken */
  maxStrangerConnections: number
  /** dials in flight from the membership loop, at most */
  maxParallelDials: number
  /** the membership loop runs this often (jittered ±20%) and on every disconnect */
  maintainInterval: number
  /** this often (jittered), dial one extra known peer even at target, so partitions heal */
  exploreInterval: number
  /** first retry delay after a failed dial or a lost connection */
  backoffBase: number
  /** retry delays double up to this (then jittered ±50%) */
  backoffMax: number
  /** known peers remembered, at most (learned from peer exchange) */
  maxKnownPeers: number
  /** a known peer that never answered for this long is forgotten */
  forgetAfter: number
  /** peers learnt (peer exchange, identify of a peer that dialed us) but not reached yet, at most; the oldest is dropped first (F10) */
  maxCandidatePeers: number
  /** learnt addresses dialed per minute, at most: each address is one connection attempt to a host:port someone else chose (F10) */
  learnedDialsPerMinute: number
  /** ... and at most this many at once (the token bucket's size) */
  learnedDialBurst: number
  /** addresses of one learnt peer that are kept and dialed, at most */
  learnedAddrsPerDial: number
}

export interface OverlayCounters {
  dials: number
  dialFailures: number
  trimmed: number
  learnedDials: number
  /** newcomers let go (after joinGrace, or joinLinger after they were served a peer-exchange answer) because they arrived while this node was full */
  guestsReleased: number
  /** of those, let go early: joinLinger after this node answered their peer-exchange request */
  guestsServed: number
}

interface Backoff { failures: number, nextAttempt: number }

interface Known extends Backoff {
  /** last time we were connected, or learned of it */
  lastSeen: number
  /** connections it closed on us in a row while we held others (it is full: see onDisconnected) */
  dropped: number
  /** while this node holds any connection, a peer that let us go is not dialed before this (it had no room) */
  letGoUntil: number
}

interface Bootstrap extends Backoff, BootstrapEntry {
  /** the peer that answered at this address last time */
  seen?: string
  /** the entry is this node itself (clan configs list every node, this one included) */
  self?: boolean
}

/** a dial candidate: a bootstrap entry or a known peer */
interface Choice { boot?: Bootstrap, peer?: [string, Known] }

interface Link {
  connections: number
  newestOpenedAt: number
  /** when the core saw it connect */
  since: number
  /** it connected to us while we already held maxPeers peers: it is let go first, after joinGrace */
  guest: boolean
  /** when this node last answered its peer-exchange request (a guest is let go joinLinger after) */
  servedAt?: number
}

/** a wake asked for by `soon` (coalescing a burst of events into one pass) */
const SOON = 50
/** a hang-up is taken to be under way this long; after it, the peer counts as connected again */
const HANG_UP_WAIT = 10_000
/** a peer that let us go is not dialed for exploreInterval, doubling with each drop in a row up to this many times it (while we hold others) */
const LET_GO_MAX = 8

export interface OverlayOptions {
  settings: OverlaySettings
  /** this node's peer id */
  self: string
  bootstrap: BootstrapEntry[]
  view: OverlayView
  random: Random
  /** the time the overlay starts at (the first exploration is due an exploreInterval later) */
  now: number
}

/**
 * Peer selection: keeps between targetPeers and maxPeers peers connected; dials bootstrap
 * entries (first when it has no connection), known peers (with jittered exponential
 * backoff) and learnt candidates (at a bounded rate); explores one extra peer every
 * exploreInterval so that healed partitions find each other; trims above maxPeers
 * (newcomers that arrived while full first, after joinGrace; then strangers; then the
 * peers holding the most connections); leaves peers that let it go alone for a while;
 * forgets peers that stopped answering.
 */
export class Overlay {
  private readonly s: OverlaySettings
  private readonly self: string
  private readonly view: OverlayView
  private readonly random: Random
  private readonly known = new Map<string, Known>()
  private readonly bootstrap: Bootstrap[]
  private readonly links = new Map<string, Link>()
  /** dials in flight: peer ids, and 'boot:' + entry */
  private readonly dialing = new Set<string>()
  /** peers this node is hanging up on (their disconnect is ours, not theirs) */
  private readonly hangingUp = new Map<string, number>()
  private readonly learned: LearnedPeers
  private now: number
  private nextExplore: number
  private wakeAt = Infinity
  counters: OverlayCounters = { dials: 0, dialFailures: 0, trimmed: 0, learnedDials: 0, guestsReleased: 0, guestsServed: 0 }

  constructor (o: OverlayOptions) {
    this.s = o.settings
    this.self = o.self
    this.view = o.view
    this.random = o.random
    this.now = o.now
    this.bootstrap = o.bootstrap.map(b => ({ ...b, failures: 0, nextAttempt: 0, self: b.peerId === o.self }))
    this.nextExplore = o.now + this.jitter(o.settings.exploreInterval, 0.5)
    this.learned = new LearnedPeers(o.settings, () => this.now)
  }

  /** The first pass: dials, and the first wake. */
  start (now: number): OverlayAction[] { return this.handle({ kind: 'tick' }, now) }

  handle (event: OverlayEvent, now: number): OverlayAction[] {
    this.now = Math.max(this.now, now)
    const out: OverlayAction[] = []
    const wakeBefore = this.wakeAt
    switch (event.kind) {
      case 'connected': this.onConnected(event); break
      case 'connections': {
        const l = this.links.get(event.peer)
        if (l !== undefined && event.connections > 0) {
          if (event.newestOpenedAt > l.newestOpenedAt) this.hangingUp.delete(event.peer) // a new connection since our hang-up
          l.connections = event.connections
          l.newestOpenedAt = event.newestOpenedAt
        }
        break
      }
      case 'identified': this.onIdentified(event, out); break
      case 'disconnected': this.onDisconnected(event.peer); break
      case 'dial-done': this.onDialDone(event, out); break
      case 'learned': this.onLearned(event); break
      case 'served': this.onServed(event.peer); break
      case 'tick':
        this.wakeAt = Infinity
        this.maintain(out)
        this.wakeAt = this.now + this.jitter(this.s.maintainInterval, 0.2)
        break
    }
    if (this.wakeAt !== wakeBefore) out.push({ kind: 'wake', at: this.wakeAt })
    return out
  }

  knownPeers (): number { return this.known.size }

  /** Learnt peers not reached yet. */
  candidatePeers (): number { return this.learned.size }

  isKnown (peer: string): boolean { return this.known.has(peer) }

  /** Fewer peers connected than targetPeers. */
  short (): boolean { return this.links.size < this.s.targetPeers }

  /**
   * Whether a peer list names a peer this node needs: one it neither knows nor holds as a
   * candidate, while it is short of peers or holds fewer than half of maxCandidatePeers
   * candidates (ExchangeSchedule backs the peer exchange off while answers teach nothing).
   */
  teaches (peers: string[]): boolean {
    if (!this.short() && this.learned.size >= this.s.maxCandidatePeers / 2) return false
    return peers.some(p => p !== this.self && !this.known.has(p) && !this.learned.has(p) && this.view.mayConnect(p))
  }

  /** Peers with an open connection, as the core was told. */
  connected (): string[] { return [...this.links.keys()] }

  /** a newcomer's grace: joinGrace, or trimGrace if that is shorter */
  private guestGrace (): number { return Math.min(this.s.joinGrace, this.s.trimGrace) }

  /**
   * Whether a newcomer has had its time: it is past its grace, or it was served a
   * peer-exchange answer joinLinger ago (what it came for) and either is a member or all
   * the strangers' slots are taken (others are being turned away at the door: letting
   * it go gives one of them its turn). While stranger slots are free, a stranger keeps
   * its grace: otherwise strangers flooding a node (tests/mesh/connections.test.ts, F6)
   * would make an honest newcomer, which asks for peers, leave in 250 ms for the peers
   * they hold, while they, asking nothing, stay.
   */
  private guestDone (id: string, l: Link): boolean {
    if (this.now - l.newestOpenedAt > this.guestGrace()) return true
    if (l.servedAt === undefined || this.now - l.servedAt < this.s.joinLinger) return false
    return this.view.isMember(id) || this.strangerConnections() >= this.s.maxStrangerConnections
  }

  /** Connections of peers that are not members (the strangers' pool of connection-limits.ts, as far as this core sees it). */
  private strangerConnections (): number {
    let n = 0
    for (const [id, l] of this.links) if (!this.view.isMember(id)) n += l.connections
    return n
  }

  private jitter (ms: number, fraction: number): number { return jitterWith(this.random, ms, fraction) }

  /** Runs the loop again shortly (coalesced). */
  private soon (): void { this.wakeAt = Math.min(this.wakeAt, this.now + SOON) }

  private onConnected (e: Extract<OverlayEvent, { kind: 'connected' }>): void {
    const k = this.known.get(e.peer)
    if (k !== undefined) k.lastSeen = this.now
    const guest = !e.outbound && this.links.size >= this.s.maxPeers
    this.links.set(e.peer, { connections: e.connections, newestOpenedAt: e.newestOpenedAt, since: this.now, guest })
  }

  /**
   * Identify completed: the connection really works (a peer that refuses us closes the
   * connection before any protocol runs). Only now is the peer remembered and its backoff
   * reset, so that a node refused by admission backs off instead of reconnecting in a loop.
   * (A peer that dialed us counts too: it holds its key and answered on a live connection;
   * if its announced addresses do not answer later, its failures make it the first to go.)
   */
  private onIdentified (e: Extract<OverlayEvent, { kind: 'identified' }>, out: OverlayAction[]): void {
    let reached = false
    for (const b of this.bootstrap) if (b.seen === e.peer) { b.failures = 0; reached = true }
    // (with a network, identify runs only once the certificate is verified)
    const member = reached || e.dialedByUs
    if (member) out.push({ kind: 'member', peer: e.peer })
    if (e.hasAddresses && this.view.mayConnect(e.peer) && (member || this.view.isMember(e.peer))) {
      this.learned.remove(e.peer)
      this.remember(e.peer, out)
    }
    const k = this.known.get(e.peer)
    if (k !== undefined) k.failures = 0
  }

  /**
   * The last connection to a peer closed. One that worked is retried soon, one that never
   * did keeps its backoff. But a peer that closed a working connection on us while we hold
   * others is most likely full (trimming, or letting a newcomer go after joinGrace): coming
   * back would only be let go again. So, as long as this node holds any connection, it is
   * not dialed again for exploreInterval, doubling with each such drop in a row up to 8×
   * (±50%). This is what stops a fleet that bootstrapped from one node from crowding it
   * (issue 23, item 5): its newcomers go to the peers it named instead. A node left with no
   * connection dials the peers it learnt first, and it only after them (see maintain): a
   * lone bootstrap node lets us back in.
   */
  private onDisconnected (peer: string): void {
    const link = this.links.get(peer)
    this.links.delete(peer)
    const ours = this.hangingUp.delete(peer)
    const k = this.known.get(peer)
    if (k === undefined) { this.soon(); return }
    k.lastSeen = this.now
    // a connection that worked is retried soon; one that never did keeps its backoff
    if (k.failures === 0) k.nextAttempt = this.now + this.jitter(this.s.backoffBase, 0.5)
    // a link it kept past two trimming windows was not a full peer letting us go
    if (link !== undefined && this.now - link.since > 2 * this.s.trimGrace) k.dropped = 0
    if (!ours && link !== undefined) {
      k.dropped++
      k.letGoUntil = this.now + this.jitter(Math.min(this.s.exploreInterval * 2 ** (k.dropped - 1), LET_GO_MAX * this.s.exploreInterval), 0.5)
    }
    this.soon()
  }

  private onDialDone (e: Extract<OverlayEvent, { kind: 'dial-done' }>, out: OverlayAction[]): void {
    const t = e.target
    if ('bootstrap' in t) {
      this.dialing.delete('boot:' + t.bootstrap)
      const b = this.bootstrap.find(b => b.entry === t.bootstrap)
      if (b === undefined) return
      if (e.self === true) { b.self = true; return } // our own address: never again
      if (e.ok && e.answeredBy !== undefined) b.seen = e.answeredBy
      if (!e.ok) this.counters.dialFailures++
    } else if ('peer' in t) {
      this.dialing.delete(t.peer)
      const k = this.known.get(t.peer)
      if (e.ok && k !== undefined) k.lastSeen = this.now
      if (!e.ok) this.counters.dialFailures++
    } else {
      this.dialing.delete(t.candidate)
      if (!e.ok) {
        this.counters.dialFailures++
        // the transport notes the failure about it: an entry per throw-away id otherwise
        if (!this.links.has(t.candidate) && !this.known.has(t.candidate)) out.push({ kind: 'forget', peer: t.candidate })
      }
    }
  }

  /**
   * This node answered a peer's peer-exchange request. A newcomer (it connected while this
   * node was full) has what it came for: the peers to dial next, vouched for by the
   * newcomer's own dial. It is let go joinLinger later (time for the answer to arrive)
   * instead of after joinGrace, so that a bootstrap node's few free slots turn over in
   * round trips, not in 10 s, while a fleet starts through it (issue 23, item 5); a
   * stranger only while the strangers' slots are all taken (see guestDone).
   */
  private onServed (peer: string): void {
    const l = this.links.get(peer)
    if (l === undefined) return
    l.servedAt = this.now
    if (l.guest && this.links.size > this.s.maxPeers) this.wakeAt = Math.min(this.wakeAt, this.now + this.s.joinLinger)
  }

  /** Peers learned from peer exchange: candidates, not known peers, until a connection to them completes identify. */
  private onLearned (e: Extract<OverlayEvent, { kind: 'learned' }>): void {
    let fresh = false
    for (const { peer, addrs } of e.peers) {
      if (peer === this.self || !this.view.mayConnect(peer) || this.known.has(peer) || addrs.length === 0) continue
      if (!this.learned.has(peer)) fresh = true
      this.learned.add(peer, addrs)
    }
    if (fresh && this.links.size < this.s.targetPeers) this.soon()
  }

  private remember (peer: string, out: OverlayAction[]): void {
    const k = this.known.get(peer)
    if (k !== undefined) { k.lastSeen = this.now; return }
    if (this.known.size >= this.s.maxKnownPeers) this.evictOne(out)
    this.known.set(peer, { failures: 0, nextAttempt: 0, lastSeen: this.now, dropped: 0, letGoUntil: 0 })
  }

  private evictOne (out: OverlayAction[]): void {
    let worst: [string, Known] | undefined
    for (const [id, k] of this.known) {
      if (this.links.has(id)) continue
      if (worst === undefined || k.failures > worst[1].failures || (k.failures === worst[1].failures && k.lastSeen < worst[1].lastSeen)) worst = [id, k]
    }
    if (worst !== undefined) this.forget(worst[0], out)
  }

  private forget (peer: string, out: OverlayAction[]): void {
    this.known.delete(peer)
    out.push({ kind: 'forget', peer })
  }

  private backoff (b: Backoff, max = this.s.backoffMax): void {
    b.failures++
    const delay = Math.min(this.s.backoffBase * 2 ** (b.failures - 1), max, this.s.backoffMax)
    b.nextAttempt = this.now + this.jitter(delay, 0.5)
  }

  private maintain (out: OverlayAction[]): void {
    const s = this.s
    const now = this.now
    for (const [id, k] of [...this.known]) {
      if (!this.links.has(id) && k.failures > 0 && now - k.lastSeen > s.forgetAfter) this.forget(id, out)
    }

    let open = 0
    for (const l of this.links.values()) open += l.connections
    if (open > s.maxPeers) out.push({ kind: 'trim-extra-connections', count: open - s.maxPeers })
    // a hang-up that brought no disconnect (a new connection came meanwhile) is given up on
    for (const [id, at] of this.hangingUp) if (now - at > HANG_UP_WAIT || !this.links.has(id)) this.hangingUp.delete(id)
    // newcomers still in their joinGrace will be let go themselves: they push nobody else out
    let waiting = 0
    for (const [id, l] of this.links) if (l.guest && !this.hangingUp.has(id) && !this.guestDone(id, l)) waiting++
    const excess = this.links.size - this.hangingUp.size - waiting - s.maxPeers
    if (excess > 0) this.trim(excess, out)

    const connected = this.links.size
    const room = Math.min(s.targetPeers - connected, s.maxParallelDials) - this.dialing.size
    const explore = room <= 0 && now >= this.nextExplore && connected < s.maxPeers && this.dialing.size === 0
    if (room <= 0 && !explore) return
    if (explore) this.nextExplore = now + this.jitter(s.exploreInterval, 0.5)

    const due = (b: Backoff): boolean => b.nextAttempt <= now
    const boots = this.bootstrap.filter(b => due(b) && b.self !== true && !this.dialing.has('boot:' + b.entry) &&
      (b.seen === undefined || !this.links.has(b.seen)) && (b.peerId === undefined || this.view.mayConnect(b.peerId)))
    const peers = [...this.known].filter(([id, k]) => due(k) && !this.links.has(id) && !this.dialing.has(id) && this.view.mayConnect(id))
    // with no connection at all, the bootstrap nodes come first; otherwise everything is
    // shuffled together, and peers that let us go (full ones, see onDisconnected) come last
    const dropped = (c: Choice): number =>
      c.peer !== undefined ? c.peer[1].dropped : (c.boot?.seen !== undefined ? this.known.get(c.boot.seen)?.dropped ?? 0 : 0)
    const candidates: Array<Choice> = connected === 0
      ? [...shuffle(boots, this.random).map(boot => ({ boot })), ...shuffle(peers, this.random).map(peer => ({ peer }))]
      : shuffle([...boots.map(boot => ({ boot })), ...peers.map(peer => ({ peer }))], this.random).sort((a, b) => dropped(a) - dropped(b))
    const slots = explore ? 1 : room
    // while this node holds any connection, not a peer that let us go lately (see onDisconnected)
    const hasRoom = (c: Choice): boolean => {
      const id = c.peer?.[0] ?? c.boot?.seen
      return id === undefined || (this.known.get(id)?.letGoUntil ?? 0) <= now
    }
    let pool = candidates.filter(hasRoom)
    // with no connection, a peer that let us go lately is dialed after the learnt
    // candidates (a joiner a full bootstrap node let go dials the peers it named first)
    let later: typeof pool = connected === 0 ? candidates.filter(c => !hasRoom(c)) : []
    // exploration looks for room away from the bootstrap nodes every node knows: they come
    // after learnt candidates (with every node listed as bootstrap, nothing changes)
    if (explore) {
      const boot = (c: Choice): boolean => c.boot !== undefined || (c.peer !== undefined && this.isBootstrapPeer(c.peer[0]))
      later = [...later, ...pool.filter(boot)]
      pool = pool.filter(c => !boot(c))
    }
    const chosen = pool.slice(0, slots)
    for (const c of chosen) this.dialChoice(c, out)
    // what is left goes to learnt candidates, oldest first, as far as their rate allows
    let left = slots - chosen.length
    for (const c of this.learned.list()) {
      if (left <= 0) break
      const id = c.peerId
      if (this.links.has(id) || this.dialing.has(id) || !this.view.mayConnect(id)) continue
      const n = this.learned.take(c.addrs.length)
      if (n === 0) break
      left--
      this.dialing.add(id)
      this.counters.dials++
      this.counters.learnedDials += n
      this.learned.remove(id) // identify moves it to the known peers; a failure forgets it
      out.push({ kind: 'dial', target: { candidate: id, addrs: c.addrs.slice(0, n) } })
    }
    // the peers put off come last, and only when nothing else is being tried: a joiner a
    // full bootstrap node let go does not come back while the peers it named are dialed
    if (left === slots && this.dialing.size === 0) for (const c of later.slice(0, left)) this.dialChoice(c, out)
  }

  /** A peer that is a bootstrap node: named by an entry, or the one that answered at one. */
  private isBootstrapPeer (id: string): boolean {
    return this.bootstrap.some(b => b.seen === id || b.peerId === id)
  }

  private dialChoice (c: Choice, out: OverlayAction[]): void {
    if (c.boot !== undefined) {
      this.dialing.add('boot:' + c.boot.entry)
      // until identify proves the connection works; with no connection at all, the
      // bootstrap node is the only way in: retried at most joinRetryMax apart (a full
      // one frees a slot within round trips, see onServed)
      this.backoff(c.boot, this.links.size === 0 ? this.s.joinRetryMax : this.s.backoffMax)
      this.counters.dials++
      out.push({ kind: 'dial', target: { bootstrap: c.boot.entry } })
    } else if (c.peer !== undefined) {
      const [id, k] = c.peer
      this.dialing.add(id)
      this.backoff(k) // until identify proves the connection works
      this.counters.dials++
      out.push({ kind: 'dial', target: { peer: id } })
    }
  }

  /**
   * Hangs up on `count` peers past their grace period: newcomers that arrived while this
   * node was full first (their grace is joinGrace: long enough to learn other peers from
   * this one's peer-exchange answer and dial them), then strangers before members, then
   * those holding the most connections (a peer is capped at maxConnectionsPerPeer),
   * random among equals.
   */
  private trim (count: number, out: OverlayAction[]): void {
    const now = this.now
    const old = [...this.links].filter(([id, l]) => !this.hangingUp.has(id) && (l.guest ? this.guestDone(id, l) : now - l.newestOpenedAt > this.s.trimGrace))
    const guest = ([, l]: [string, Link]): number => l.guest ? 0 : 1
    const member = ([id]: [string, Link]): number => this.view.isMember(id) ? 1 : 0
    const held = ([, l]: [string, Link]): number => l.connections
    // sort is stable: random among equals
    const order = shuffle(old, this.random).sort((a, b) => guest(a) - guest(b) || member(a) - member(b) || held(b) - held(a))
    for (const [id, l] of order.slice(0, count)) {
      this.counters.trimmed++
      if (l.guest) this.counters.guestsReleased++
      if (l.guest && l.servedAt !== undefined && now - l.newestOpenedAt <= this.guestGrace()) this.counters.guestsServed++
      this.hangingUp.set(id, now)
      out.push({ kind: 'hang-up', peer: id })
    }
  }
}
