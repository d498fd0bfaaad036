// The simulated world: nodes, the event queue, the network and CPU models, and the
// dispatch of events to the drivers. Time is simulated milliseconds from 0. Everything
// random is drawn from seeded generators (the world's own for the network and the
// scenario, one per node for its cores), and events at equal times run in the order they
// were scheduled, so a run is a function of its seed.
import { DEFAULT_MESH_SETTINGS, type MeshSettings } from '../../src/mesh/settings.js'
import type { ReshapeOptions } from '../../src/mesh/proto/tree.js'
import { seededRandom, type Random } from '../../src/mesh/proto/random.js'
import { EventQueue } from './event-queue.js'
import { Network, type NetworkProfile } from './network.js'
import { Cpu, type CpuCosts } from './cpu.js'
import { Link } from './link.js'
import { SimNode } from './node.js'
import { Metrics } from './metrics.js'
import * as peers from './peers-driver.js'
import * as announce from './announce-driver.js'
import * as sync from './sync-driver.js'
import { idOf, type SimRecord } from './records.js'

/** Event kinds (the queue's `kind`). */
export const EV = {
  START: 1,
  OVERLAY_WAKE: 2,
  TREE_WAKE: 3,
  ARRIVE: 4,
  PROCESS: 5,
  TREE_SENT: 6,
  DIAL_ARRIVE: 7,
  DIAL_RESULT: 8,
  SYNC_TICK: 9,
  SYNC_TIMEOUT: 10,
  PX_TICK: 11,
  ACTION: 12,
  STORED: 13,
  PX_SERVED: 14
} as const

/** Message kinds. */
export const MSG = {
  TREE: 1,
  SYNC_DIGEST: 2,
  SYNC_EQUAL: 3,
  SYNC_SUMMARY: 4,
  SYNC_RECORDS: 5,
  SYNC_WANTED: 6,
  SYNC_CLOSED: 7,
  FETCH_REQ: 8,
  FETCH_RESP: 9,
  PX_REQ: 10,
  PX_RESP: 11
} as const

export interface Msg {
  kind: number
  from: number
  to: number
  link: Link
  bytes: number
  // TREE
  prune: boolean
  /** a GRAFT asking for no version (a node with no eager link left) */
  graftLink: boolean
  grafts: Array<{ name: string, timestamp: number, id: Uint8Array }> | undefined
  full: SimRecord[] | undefined
  ihave: SimRecord[] | undefined
  /** the sender's hop count of each full record and notice (announce/3.1.0; undefined: unknown) */
  fullHops: Array<number | undefined> | undefined
  /** which full records go marked as a reshape flood (proto/tree.ts ReshapeOptions; announce/3.2.0's MARK) */
  fullReshape?: boolean[]
  wantReshape?: boolean
  ihaveHops: Array<number | undefined> | undefined
  // sync, fetch
  round: number
  digest: number
  records: SimRecord[] | undefined
  wants: SimRecord[] | undefined
  // peer exchange
  peers: number[] | undefined
}

export function msg (kind: number, from: number, to: number, link: Link, bytes: number): Msg {
  return { kind, from, to, link, bytes, prune: false, graftLink: false, grafts: undefined, full: undefined, ihave: undefined, fullHops: undefined, ihaveHops: undefined, round: 0, digest: 0, records: undefined, wants: undefined, peers: undefined }
}

export interface WorldOptions {
  seed: number
  nodes: number
  /** room for nodes that join later (churn) */
  capacity: number
  settings?: Partial<MeshSettings>
  /** the cluster's sync_interval (ms) */
  syncInterval: number
  profile: NetworkProfile
  costs: CpuCosts
  /** every node on one host with this many cores (the bench's setting); default: a CPU per node */
  sharedCores?: number
  /** updates measured (for the metrics' arrays) */
  updates: number
  /** the tree's reshape flood (proto/tree.ts ReshapeOptions): the settings' (announceReshape*, on by default) unless given */
  reshape?: ReshapeOptions
}

/** A scheduled callback of the scenario (joins, leaves, partitions, updates): few, so closures are fine. */
export type Action = (t: number) => void

export class World {
  readonly q = new EventQueue()
  readonly random: Random
  readonly settings: MeshSettings
  readonly net: Network
  readonly cpu: Cpu
  readonly costs: CpuCosts
  readonly nodes: SimNode[] = []
  readonly metrics: Metrics
  readonly syncInterval: number
  now = 0
  /** partition side per node (0: none); nodes on different non-zero sides cannot reach each other */
  side: Int8Array
  partitioned = false
  nextSerial = 1
  nextRound = 1
  events = 0

  constructor (readonly o: WorldOptions) {
    this.random = seededRandom(o.seed)
    this.settings = { ...DEFAULT_MESH_SETTINGS, ...o.settings }
    this.net = new Network(o.profile, o.seed, o.capacity, this.random)
    this.cpu = new Cpu(o.capacity, o.sharedCores)
    this.costs = o.costs
    this.syncInterval = o.syncInterval
    this.side = new Int8Array(o.capacity)
    for (let i = 0; i < o.capacity; i++) this.nodes.push(new SimNode(i, o.seed))
    this.metrics = new Metrics(o.updates, o.capacity)
  }

  at (t: number, action: Action): void { this.q.push(t, EV.ACTION, -1, 0, action) }

  /** Starts node `i` at `t` with these bootstrap nodes. */
  startNode (i: number, t: number, bootstrap: number[]): void { this.q.push(t, EV.START, i, 0, bootstrap) }

  /** Runs events until the queue is empty or the next one is after `until`. */
  run (until: number): void {
    const q = this.q
    while (q.length > 0 && q.peekTime() <= until) {
      const slot = q.pop()
      const t = q.time[slot]; const kind = q.kind[slot]; const node = q.node[slot]; const arg = q.arg[slot]; const data = q.data[slot]
      q.release(slot)
      this.now = t
      this.events++
      this.dispatch(t, kind, node, arg, data)
    }
    if (until > this.now && Number.isFinite(until)) this.now = until
  }

  private dispatch (t: number, kind: number, i: number, arg: number, data: unknown): void {
    if (kind === EV.ACTION) { (data as Action)(t); return }
    const n = this.nodes[i]
    if (kind === EV.START) { this.boot(n, t, data as number[]); return }
    if (!n.alive) return
    switch (kind) {
      case EV.ARRIVE: this.arrive(n, t, data as Msg); break
      case EV.PROCESS: this.process(n, t, data as Msg); break
      case EV.TREE_WAKE:
        if (arg !== n.treeWake) break
        // a timer runs when the node's event loop is free
        if (this.cpu.freeAt(i) > t) { this.q.push(this.cpu.freeAt(i), EV.TREE_WAKE, i, arg); break }
        n.treeWake = Infinity
        announce.treeEvent(this, n, { kind: 'tick' }, t)
        break
      case EV.TREE_SENT: announce.sent(this, n, data as Msg, t); break
      case EV.OVERLAY_WAKE:
        if (arg !== n.overlayWake) break
        n.overlayWake = Infinity
        peers.overlayEvent(this, n, { kind: 'tick' }, t)
        break
      case EV.DIAL_ARRIVE: peers.dialArrive(this, n, t, data as peers.Dial); break
      case EV.DIAL_RESULT: peers.dialResult(this, n, t, data as peers.Dial); break
      case EV.PX_TICK: if (arg === n.pxTick) peers.pxTick(this, n, t); break
      case EV.PX_SERVED: peers.served(this, n, arg, t); break
      case EV.SYNC_TICK: if (arg === n.syncTick) sync.tick(this, n, t); break
      case EV.SYNC_TIMEOUT: sync.timeout(this, n, t, arg, data as number); break
      case EV.STORED: announce.storedAtOrigin(this, n, t, data as SimRecord); break
    }
  }

  private boot (n: SimNode, t: number, bootstrap: number[]): void {
    n.start(t, this.settings, bootstrap, this.o.reshape)
    this.metrics.started(n.index, t)
    peers.start(this, n, t)
    sync.start(this, n, t)
  }

  // --- messages -------------------------------------------------------------------

  /** Sends `m` from `m.from` to `m.to`, leaving at `departs` (the sender's CPU is done with it). False when the link is gone. */
  send (m: Msg, departs: number): boolean {
    const link = m.link
    if (!link.open) return false
    const ab = m.from === link.a
    const at = this.net.arrival(m.from, departs, m.bytes, link.latency, ab ? link.lastAB : link.lastBA)
    if (ab) link.lastAB = at; else link.lastBA = at
    this.metrics.message(m, this.net.profile.overheadBytes)
    this.q.push(at, EV.ARRIVE, m.to, 0, m)
    return true
  }

  /** A message reached its node: it waits for the CPU (the receive cost), then is handled. */
  private arrive (n: SimNode, t: number, m: Msg): void {
    if (!m.link.open) return // reset with its connection
    const done = this.cpu.run(n.index, t, this.receiveCost(m))
    this.q.push(done, EV.PROCESS, n.index, 0, m)
  }

  private process (n: SimNode, t: number, m: Msg): void {
    if (!m.link.open) return
    if (m.kind === MSG.TREE) announce.receive(this, n, m, t)
    else if (m.kind === MSG.PX_REQ || m.kind === MSG.PX_RESP) peers.receive(this, n, m, t)
    else sync.receive(this, n, m, t)
  }

  receiveCost (m: Msg): number {
    const c = this.costs
    if (m.kind === MSG.TREE) {
      let cost = 0
      if (m.prune) cost += c.prune
      if (m.graftLink) cost += c.graft
      if (m.grafts !== undefined) cost += m.grafts.length * c.graft
      if (m.full !== undefined) cost += m.full.length * c.full
      if (m.ihave !== undefined && m.ihave.length > 0) cost += Math.ceil(m.ihave.length / 256) * c.ihave
      return cost
    }
    if (m.kind === MSG.PX_REQ || m.kind === MSG.PX_RESP) return c.peersMessage
    return c.syncMessage
  }

  // --- connections ----------------------------------------------------------------

  /** Whether a and b can reach each other (not across a partition). */
  reachable (a: number, b: number): boolean {
    if (!this.partitioned) return true
    const sa = this.side[a]; const sb = this.side[b]
    return sa === 0 || sb === 0 || sa === sb
  }

  /** Opens one more connection from `dialer` to `acceptor` at `t`; returns the link. */
  connect (dialer: number, acceptor: number, t: number): Link {
    const d = this.nodes[dialer]; const a = this.nodes[acceptor]
    let link = d.links.get(acceptor)
    if (link === undefined) {
      link = new Link(Math.min(dialer, acceptor), Math.max(dialer, acceptor), this.net.latency(dialer, acceptor))
      d.links.set(acceptor, link)
      a.links.set(dialer, link)
      link.lastAB = link.lastBA = t
    }
    link.opened.push(t)
    link.dialer.push(dialer)
    return link
  }

  /** Closes every connection of `link` at `t`: both ends hear of it at once; what was in flight is lost. `hungUp`: an end closed it (not a crash or a cut). */
  closeLink (link: Link, t: number, hungUp = false): void {
    if (!link.open) return
    link.open = false
    const a = this.nodes[link.a]; const b = this.nodes[link.b]
    if (a.links.get(link.b) === link) a.links.delete(link.b)
    if (b.links.get(link.a) === link) b.links.delete(link.a)
    for (const [n, peer] of [[a, link.b], [b, link.a]] as const) {
      if (!n.alive) continue
      sync.linkDown(this, n, peer, t)
      if (link.told(n.index)) {
        announce.treeEvent(this, n, { kind: 'down', peer: String(peer), lost: !hungUp }, t)
        peers.overlayEvent(this, n, { kind: 'disconnected', peer: String(peer) }, t)
      }
    }
    this.metrics.peersChanged(this, link.a)
    this.metrics.peersChanged(this, link.b)
  }

  /** A node stops (a crash or a shutdown: its connections reset). */
  stopNode (i: number, t: number): void {
    const n = this.nodes[i]
    if (!n.alive) return
    n.alive = false
    this.metrics.stopped(i, t)
    for (const link of [...n.links.values()]) this.closeLink(link, t)
  }

  /** Splits the live nodes by `sideOf` (1 or 2); links across close, dials across time out. */
  partition (t: number, sideOf: (i: number) => 1 | 2): void {
    this.partitioned = true
    for (const n of this.nodes) this.side[n.index] = sideOf(n.index)
    for (const n of this.nodes) {
      for (const link of [...n.links.values()]) if (!this.reachable(link.a, link.b)) this.closeLink(link, t)
    }
  }

  heal (): void { this.partitioned = false; this.side.fill(0) }

  // --- records --------------------------------------------------------------------

  /** A new version signed at node `origin` now (its API): stored there first, then announced. */
  publish (origin: number, t: number, name: string, size: number, update: number): SimRecord {
    const n = this.nodes[origin]
    const serial = this.nextSerial++
    const r: SimRecord = { name, timestamp: Math.round(n.local(t)), serial, id: idOf(serial), size, update, origin, publishedAt: t }
    if (update >= 0) this.metrics.published(r, t)
    const verified = this.cpu.run(origin, t, this.costs.verify)
    n.replica.offer(r)
    const stored = this.cpu.run(origin, verified, this.costs.store)
    this.metrics.delivered(r, origin, stored, 0, 0)
    this.q.push(stored, EV.STORED, origin, 0, r)
    return r
  }

  /** Whether every live honest node holds every measured update (or a newer version of its name). */
  converged (): boolean { return this.metrics.missing(this) === 0 }
}
