// The broadcast tree (Plumtree, Leitão et al. 2007) as a pure state machine: which links
// are eager (full records travel on them) and which are lazy (only "I have" notices), what
// waits to be sent to each peer, which versions this node heard of and lacks, and when it
// asks a notifier for one (GRAFT). No IO: announce.ts (the daemon) and tests/sim (the
// simulator) turn streams, connections and one timer into events, and carry out the
// actions (proto/README.md).
//
// - A link starts eager: a fresh cluster floods, until the duplicates it receives prune
//   it down to a tree.
// - A duplicate full record prunes its link (both sides go lazy: the receiver here, the
//   sender when the PRUNE arrives). A GRAFT, or a new version received on a link, makes
//   it eager again, which is how the tree repairs itself when an eager link dies.
// - A version heard of by notice only waits `announceGraftTimeout` for the tree to bring
//   it, then the first notifier is grafted; if that brings nothing within
//   `announceGraftRetry`, the next one, and so on. When none is left, the version is
//   forgotten: anti-entropy repairs.
// - Each peer has its own queue: one entry (the newest version) per name, at most
//   `announceQueueMax` (the oldest goes). A full record goes at once; a notice waits
//   `announceIhaveDelay` ±50% (one draw per version), so that the tree delivers first and
//   a peer that told us it holds the version by then is not told (settings.ts says why).
//   A send carries at most `announceBatch` records, of them at most `announceIhaveMax`
//   notices (one IHAVE message); what is left goes in the next send.
// - Flow control: at most one `send` per peer is outstanding; the next waits for the
//   driver's `sent` / `send-failed` for that peer. Meanwhile the queue keeps collecting
//   and superseding, so a slow peer gets the newest versions in few large batches.
//
// - The tree's shape (issue 23: the last delivery within 12 hops at N = 1,000). A version
//   carries the hops it travelled (0 at its origin) with each FULL, and each notice the
//   notifier's own (announce/3.1.0; unknown from 3.0.0 peers and anti-entropy):
//   - a duplicate keeps the shorter of its two paths and prunes the other (`duplicate`),
//     so the first flood leaves its breadth-first tree, not its first-arrival one;
//   - a link that comes up once this node is in the tree starts lazy (`peerUp`): the
//     overlay's exploration does not keep replacing tree links (each replacement made
//     the tree more like a random spanning tree: 16–25 hops before);
//   - a node left with no eager link grafts a peer at once (a GRAFT naming no version);
//   - a repair grafts the notifier with the shortest path first (`nextNotifier`), and a
//     notifier that let a GRAFT go unanswered is believed no path at all.
//   tests/sim/README.md (Findings 1) has the figures.
// - A reshape flood, on when `ReshapeOptions` are given (the daemon and the simulator build
//   them from the settings, `reshapeOptionsFrom`: on by default; the mark and the want are
//   announce/3.2.0's flags). A node that
//   saw the tree cut around it, or a version come deep, floods the next version it gets
//   near that version's origin over every link, marked; a node that stores a marked new
//   version floods it on too; each node at most once per interval (or always follows:
//   `followAlways`), its copies held `hold` ms so that each carries its shortest path.
//   Every link of the flood's region turns eager, the duplicates prune it back to the
//   flood's breadth-first tree, and a marked duplicate that came a longer way is answered
//   with this node's copy, so that its sender can take the shorter path. With `spread`, a
//   want that came from cuts goes on with this node's notices, so that the next origin,
//   wherever it is, starts the flood; with `lostOnly`, a link an end hung up (the
//   overlay's trimming) is no cut (docs/DECISIONS.md, "A reshape flood after cuts").
//
// Bounded: the lazy set and the queues hold peers the driver reported (`down` forgets
// one); at most `announceMissingMax` versions are waited for, each with at most
// `announceGraftMaxPeers` notifiers, and at most `announceMissingPerPeer` of them first
// heard of from one notifier: past that, that notifier's own oldest goes, so fake notices
// from one peer cannot push out the versions honest peers told us of (review 11-R8).
import { jitterWith, type Random } from './random.js'
import { TokenBuckets } from './token-bucket.js'

/** "I have this version": what an IHAVE message lists, and what a GRAFT asks for (timestamp aside). */
export interface Notice {
  name: string
  /** the version's timestamp, so that a notice of an older version is dropped without a lookup */
  timestamp: number
  /** sha256 of the encoded record (as fetch names a version, fetch.ts recordId) */
  id: Uint8Array
  /** the notifier's hop count for this version (0: it made it); undefined: unknown */
  hops?: number
}

/** The settings the tree reads (fields of MeshSettings, settings.ts, which documents them). */
export interface TreeSettings {
  announceBatch: number
  announceQueueMax: number
  announceIhaveDelay: number
  announceIhaveMax: number
  announceIdleClose: number
  announceGraftTimeout: number
  announceGraftRetry: number
  announceGraftMaxPeers: number
  announceMissingMax: number
  announceMissingPerPeer: number
  announceGraftAnswerBurst: number
  announceGraftAnswersPerSecond: number
  announceMessageBurst: number
  announceMessagesPerSecond: number
  /** peers whose budgets are kept at once, at most */
  maxConnections: number
}

/**
 * What the core asks about records (`R`: the daemon's is a signed record with its inline
 * content, the simulator's a small plain object) and about this node's own versions.
 */
export interface TreeView<R> {
  /** the record's name: a queue keeps one entry per name */
  name: (r: R) => string
  /** which version wins: > 0 when `a` is newer than `b`, 0 when the same version */
  compare: (a: R, b: R) => number
  /** whether this node still lacks the version (it may have arrived by the tree, by sync, or been overtaken) */
  stillMissing: (n: Notice) => boolean
}

/** What a notice is to this node: a version it lacks, one it holds (then the notifier is known to hold it too), or neither. */
export type NoticeVerdict<R> = 'missing' | 'stale' | { holds: R }

export type TreeEvent<R> =
  /** a peer may be sent to (connected and admitted); idempotent */
  | { kind: 'up', peer: string }
  /**
   * a peer disconnected: its queue, link, budgets and what it was known to hold are
   * forgotten. `lost`: the connection was lost (reset, timed out), not hung up by either
   * end (ReshapeOptions.lostOnly reads it)
   */
  | { kind: 'down', peer: string, lost?: boolean }
  /**
   * this node took a new version (from its API or a peer, `except`): broadcast it. `hops`:
   * the hops it travelled to this node (0: made here; one more than the FULL carried;
   * undefined: unknown, e.g. by anti-entropy). `reshape`: its FULL came marked as a
   * reshape flood (ReshapeOptions only). `quiet`: lazy peers are not told (no
   * notice): the driver judged its signer a flood (proto/signer-turns.ts), whose newer
   * versions keep coming down the tree, and a notice would only have them grafted
   */
  | { kind: 'stored', record: R, except?: string, hops?: number, quiet?: boolean, reshape?: boolean }
  /** `peer` holds `record` or a newer version (the driver's replica accepted it from that peer, or had it) */
  | { kind: 'known', peer: string, record: R }
  /**
   * a FULL from `from`, judged by the driver's replica first (`withinBudget` was asked
   * before). `hops`: the length of the path it came by, one more than the hop count the
   * sender gave (undefined: unknown). `reshape`: it came marked as a reshape flood
   * (ReshapeOptions only)
   */
  | { kind: 'full', from: string, record: R, arrival: 'new' | 'duplicate' | 'dropped', hops?: number, reshape?: boolean }
  /** an IHAVE from `from`, each notice judged by the driver's replica (`withinBudget` was asked before); `wantReshape`: it came with the want bit (ReshapeOptions.spread) */
  | { kind: 'ihave', from: string, notices: Array<{ notice: Notice, verdict: NoticeVerdict<R> }>, wantReshape?: boolean }
  /** a GRAFT from `from`: the link is eager, and `from` wants that version */
  | { kind: 'graft', from: string, name: string, id: Uint8Array }
  /** a GRAFT from `from` naming no version (a node with no eager link left asks for one): the link is eager */
  | { kind: 'graft-link', from: string }
  /** the driver's answer to an `answer-graft` action: the version to send (undefined: none) */
  | { kind: 'graft-answer', peer: string, name: string, record: R | undefined }
  /** a PRUNE from `from`: the link is lazy */
  | { kind: 'prune', from: string }
  /** the outstanding `send` to `peer` was written */
  | { kind: 'sent', peer: string }
  /** the outstanding `send` to `peer` failed (what it carried is dropped); `gone`: the peer has no connection left */
  | { kind: 'send-failed', peer: string, gone: boolean }
  /** the time of a `wake` has come */
  | { kind: 'tick' }

export type TreeAction<R> =
  /**
   * Write to `peer`, in this order: a PRUNE, a GRAFT asking for no version (`graftLink`),
   * the GRAFTs, the full records, then the notices (IHAVE). `fullHops` and `ihaveHops`:
   * this node's hop count of each (undefined: unknown). At most one is outstanding per
   * peer: answer with `sent` or `send-failed`. `fullReshape`: which full records go
   * marked as a reshape flood (only with ReshapeOptions, else undefined; the daemon has no
   * such mark); `wantReshape`: the notices go with the want bit (ReshapeOptions.spread)
   */
  | { kind: 'send', peer: string, prune: boolean, graftLink: boolean, grafts: Notice[], full: R[], ihave: R[], fullHops: Array<number | undefined>, ihaveHops: Array<number | undefined>, fullReshape?: boolean[], wantReshape?: boolean }
  /** read the version `peer` grafted (may take a while), then hand it back as `graft-answer` */
  | { kind: 'answer-graft', peer: string, name: string, id: Uint8Array }
  /** nothing was sent to `peer` for announceIdleClose: its stream may be closed */
  | { kind: 'close', peer: string }
  /** call handle({ kind: 'tick' }) at (or after) `at`; replaces any earlier wake */
  | { kind: 'wake', at: number }

export interface TreeCounters {
  /** full records sent and received */
  fullSent: number
  fullReceived: number
  /** full records received that this node already had (each prunes its link) */
  duplicates: number
  /** notices sent and received */
  ihaveSent: number
  ihaveReceived: number
  /** GRAFTs and PRUNEs sent */
  grafts: number
  prunes: number
  /** versions not sent to a peer known to hold them */
  skipped: number
  /** GRAFTs received and not answered: an answer to the same peer and name under way, or over the peer's budget */
  graftsIgnored: number
  /** FULL and IHAVE messages dropped unjudged: their sender was over its budget (announceMessagesPerSecond) */
  overBudget: number
  /** duplicates with a shorter path than the version came by: that link pruned, the duplicate's kept */
  reparented: number
  /** reshape floods this node started, and marked ones it flooded on (ReshapeOptions only) */
  reshapes: number
  reshapesFollowed: number
}

/**
 * The reshape flood (off unless given; header comment; `reshapeOptionsFrom` gives the defaults'). A node wants a
 * reshape once `cuts` links closed within `cutWindow` ms, the last of them eager, or once
 * it stored a version that came more than `deepAt` hops (255: never). The settings that
 * met the hop bound in the simulator: { interval: 3000, nearOrigin: 1, deepAt: 255,
 * cuts: 2, cutWindow: 5000, hold: 30, followAlways: false, spread: true, lostOnly: true }.
 */
export interface ReshapeOptions {
  /** a node floods (starts or, unless followAlways, follows) at most one version per this many ms */
  interval: number
  /** a node that wants a reshape starts it with a version at most this many hops from its origin */
  nearOrigin: number
  deepAt: number
  cuts: number
  cutWindow: number
  /** ms a flooding node holds its copies, so that each goes with the shortest path it heard of by then (0: none) */
  hold: number
  /** a marked version is flooded on even within the interval (only starting is limited) */
  followAlways: boolean
  /** a want from cuts is passed on with notices (a bit on IHAVE), so that the next origin, wherever it is, floods */
  spread?: boolean
  /** only links lost (a crash, a cut: `down` with `lost`), not hung up by either end (the overlay's trimming), count as cuts */
  lostOnly?: boolean
}

/**
 * The reshape flood's settings (fields of MeshSettings, settings.ts, which documents them):
 * the daemon and the simulator both build their ReshapeOptions from these
 * (`reshapeOptionsFrom`), so that the default is the same in both.
 */
export interface ReshapeSettings {
  /** a node floods (starts or follows) at most one version per this many ms; 0: no reshape flood */
  announceReshapeInterval: number
  /** a node wants a reshape once this many links were lost within announceReshapeCutWindow ms, the last of them eager */
  announceReshapeCuts: number
  announceReshapeCutWindow: number
  /** ms a flooding node holds its copies (so that each carries its shortest path) */
  announceReshapeHold: number
  /** a node that wants a reshape starts it with a version at most this many hops from its origin */
  announceReshapeNearOrigin: number
}

/**
 * The ReshapeOptions of `s` (undefined: off, announceReshapeInterval 0). What is not a
 * setting is the design's (docs/DECISIONS.md, "A reshape flood after cuts"): no depth
 * trigger, a marked version followed only within the interval, the want passed on with
 * notices, and only lost links (not hung up) counting as cuts.
 */
export function reshapeOptionsFrom (s: ReshapeSettings): ReshapeOptions | undefined {
  if (!(s.announceReshapeInterval > 0)) return undefined
  return {
    interval: s.announceReshapeInterval,
    nearOrigin: s.announceReshapeNearOrigin,
    deepAt: 255,
    cuts: s.announceReshapeCuts,
    cutWindow: s.announceReshapeCutWindow,
    hold: s.announceReshapeHold,
    followAlways: false,
    spread: true,
    lostOnly: true
  }
}

interface Outgoing<R> {
  kind: 'full' | 'ihave'
  record: R
  /** a notice is not sent before this time: announceIhaveDelay ±50% after its version was stored */
  due: number
  /** a full record held until `due` (a reshape flood's copies wait, so that each goes with this node's shortest path) */
  hold?: boolean
  /** sent even to a peer known to hold it (a reshape flood: its hop count is what the peer needs) */
  force?: boolean
}

interface Channel<R> {
  /** full records and notices, one per name (the newest version), oldest first */
  pending: Map<string, Outgoing<R>>
  /** GRAFTs to send, by name (the newest asked for) */
  grafts: Map<string, Notice>
  /** a PRUNE to send */
  prune: boolean
  /** a GRAFT asking for no version to send */
  graftLink: boolean
  /** the send outstanding, counted once it is written */
  busy?: { prune: boolean, grafts: number, full: R[], ihave: R[] }
  /** the deadline armed for the first waiting notice */
  flushAt?: number
  /** since when nothing was sent (a send ended with nothing left to go); undefined while one is outstanding */
  idleFrom?: number
  /** the idle deadline armed (one at a time; when it comes early, it is armed again for idleFrom + announceIdleClose) */
  idleAt?: number
}

interface Missing {
  notice: Notice
  /** notifiers not asked yet, in the order they told us */
  peers: string[]
  /** each notifier's hop count for the version (Infinity: unknown), in the order of `peers` */
  hops: number[]
  /** the notifier that told us first: the entry counts against its share */
  by: string
  /** the notifier asked last */
  asked?: string
  /** when the next notifier is asked */
  at: number
}

/** The version of a name this node stored last: how many hops it travelled here, and from which peer. */
interface Arrived<R> { record: R, hops: number | undefined, from: string | undefined }

/** A deadline: a missing version's graft, a channel's first notice, an idle channel. Checked against the state when it comes (stale ones are skipped). */
interface Deadline { at: number, kind: 'graft' | 'flush' | 'idle', key: string }

function hex (id: Uint8Array): string {
  let s = ''
  for (const b of id) s += b.toString(16).padStart(2, '0')
  return s
}

export function noticeKey (name: string, id: Uint8Array): string { return `${name}\0${hex(id)}` }

/**
 * The broadcast tree of one node. Drive it with `handle(event, now)` and carry out the
 * actions it returns; `withinBudget` and `holdsOrQueued` are the two questions a driver
 * asks before doing work for a peer (verifying a record, reading a version from disk).
 */
export class TreeCore<R> {
  /** peers that may be sent to (reported `up`, not `down`, no failed send since) */
  private readonly up = new Set<string>()
  /** peers whose link is lazy; every other peer is eager */
  private readonly lazy = new Set<string>()
  private readonly channels = new Map<string, Channel<R>>()
  /** peer → name → the newest version that peer is known to hold (sent to it, or received from it) */
  private readonly known = new Map<string, Map<string, R>>()
  /** peer → name → the newest version it was sent a notice of (a version is noticed to a peer once) */
  private readonly noticed = new Map<string, Map<string, R>>()
  /** peer → name → the newest version whose marked duplicate from that peer was answered with this node's copy (once per peer and version) */
  private readonly answeredMarked = new Map<string, Map<string, R>>()
  private readonly missing = new Map<string, Missing>()
  /** notifier → keys of the missing versions it told us of first, oldest first */
  private readonly byNotifier = new Map<string, Set<string>>()
  /** "peer\nname": a GRAFT answer being prepared (one at a time per peer and name) */
  private readonly answering = new Set<string>()
  /** peer → its GRAFT answer budget (announceGraftAnswerBurst, announceGraftAnswersPerSecond) */
  private readonly graftBudget: TokenBuckets
  /** peer → FULL and IHAVE messages it may still send now (announceMessageBurst, announceMessagesPerSecond) */
  private readonly pace: TokenBuckets
  /** name → the version stored last, its hop count and where from (at most announceQueueMax names, the oldest goes) */
  private readonly arrived = new Map<string, Arrived<R>>()
  /** peer → the hop count it gave with its latest FULL or notice (the path it had to that version's origin) */
  private readonly depthOf = new Map<string, number>()
  /** peers asked for a version by GRAFT that did not bring it within announceGraftRetry: their hop counts are not believed until they bring something new */
  private readonly unanswered = new Set<string>()
  /** whether a version went through this node yet: before, every link floods (and the flood prunes them to a tree) */
  private inTree = false
  private readonly deadlines = new DeadlineHeap()
  private lastWake: number | undefined
  /** the time of the event being handled (the budgets' clock) */
  private now = 0
  /** the reshape flood (ReshapeOptions): whether this node wants one, when it flooded last, which version, when its links closed lately */
  private reshapeWanted = false
  private reshapedAt: number | undefined
  private flooding: R | undefined
  private closedAt: number[] = []
  readonly counters: TreeCounters = { fullSent: 0, fullReceived: 0, duplicates: 0, ihaveSent: 0, ihaveReceived: 0, grafts: 0, prunes: 0, skipped: 0, graftsIgnored: 0, overBudget: 0, reparented: 0, reshapes: 0, reshapesFollowed: 0 }

  constructor (private readonly settings: TreeSettings, private readonly view: TreeView<R>, private readonly random: Random, private readonly reshape?: ReshapeOptions) {
    const clock = (): number => this.now
    this.graftBudget = new TokenBuckets({ burst: settings.announceGraftAnswerBurst, perSecond: settings.announceGraftAnswersPerSecond, maxKeys: settings.maxConnections }, clock)
    this.pace = new TokenBuckets({ burst: settings.announceMessageBurst, perSecond: settings.announceMessagesPerSecond, maxKeys: settings.maxConnections }, clock)
  }

  handle (e: TreeEvent<R>, now: number): Array<TreeAction<R>> {
    this.now = now
    const out: Array<TreeAction<R>> = []
    switch (e.kind) {
      case 'up': this.peerUp(e.peer, now, out); break
      case 'down': this.linkClosed(e.peer, now, e.lost); this.forgetPeer(e.peer); this.rejoin(now, out); break
      case 'stored':
        this.inTree = true
        this.arrive(e.record, e.hops, e.except)
        this.broadcast(e.record, e.except, now, out, e.quiet === true, this.reshapeNow(e, now))
        break
      case 'known': this.remember(this.known, e.peer, e.record); break
      case 'full':
        this.counters.fullReceived++
        if (e.hops !== undefined) this.depthOf.set(e.from, e.hops - 1)
        if (e.arrival === 'new') this.unanswered.delete(e.from)
        if (e.arrival === 'new') this.lazy.delete(e.from) // the link brought something new: it is in the tree
        else if (e.arrival === 'duplicate') {
          this.counters.duplicates++
          this.duplicate(e.from, e.record, e.hops, now, out, e.reshape === true)
        }
        break
      case 'ihave':
        if (e.wantReshape === true && this.reshape?.spread === true && !(this.reshapedAt !== undefined && now - this.reshapedAt < this.reshape.interval)) this.wantSpread = this.reshapeWanted = true
        this.counters.ihaveReceived += e.notices.length
        for (const { notice, verdict } of e.notices) {
          if (notice.hops !== undefined) this.depthOf.set(e.from, notice.hops)
          if (verdict === 'missing') this.heardOf(e.from, notice, now)
          else if (verdict !== 'stale') this.remember(this.known, e.from, verdict.holds)
        }
        break
      case 'graft': this.receiveGraft(e.from, e.name, e.id, out); break
      case 'graft-link': this.lazy.delete(e.from); break
      case 'graft-answer': {
        this.answering.delete(`${e.peer}\n${e.name}`)
        if (e.record !== undefined && !this.isKnown(e.peer, e.record)) this.enqueue(e.peer, { kind: 'full', record: e.record, due: 0 }, now, out)
        break
      }
      case 'prune': this.lazy.add(e.from); break
      case 'sent': this.sent(e.peer, now, out); break
      case 'send-failed': this.sendFailed(e.peer, e.gone, now, out); break
      case 'tick': this.lastWake = undefined; break // the driver's timer is spent (maybe a little early): ask again
    }
    this.runDue(now, out)
    this.wake(now, out)
    return out
  }

  /**
   * Whether `peer` is within its budget of FULL and IHAVE messages (announceMessageBurst,
   * then announceMessagesPerSecond); takes one. Beyond it the driver reads a message and
   * drops it unjudged: no signature is checked nor anything queued for it (anti-entropy
   * brings what was real).
   */
  withinBudget (peer: string, now: number): boolean {
    this.now = now
    if (this.pace.tryTake(peer)) return true
    this.counters.overBudget++
    return false
  }

  /** Whether `peer` is known to hold `r` (or newer), or has it (or newer) queued as a full record: a GRAFT answer it needs not. */
  holdsOrQueued (peer: string, r: R): boolean {
    if (this.isKnown(peer, r)) return true
    const o = this.channels.get(peer)?.pending.get(this.view.name(r))
    return o !== undefined && o.kind === 'full' && this.view.compare(o.record, r) >= 0
  }

  isEager (peer: string): boolean { return !this.lazy.has(peer) }

  /** Eager and lazy peers among `connected` (tests, diagnostics). */
  links (connected: string[]): { eager: string[], lazy: string[] } {
    return { eager: connected.filter(p => !this.lazy.has(p)), lazy: connected.filter(p => this.lazy.has(p)) }
  }

  /** Versions being waited for (tests, diagnostics). */
  waiting (): number { return this.missing.size }

  /** Entries waiting in `peer`'s queue (tests, diagnostics). */
  queued (peer: string): number { return this.channels.get(peer)?.pending.size ?? 0 }

  // --- sending --------------------------------------------------------------------

  /** A link closed (ReshapeOptions): enough of them lately, the last one eager, and this node wants a reshape. */
  private linkClosed (peer: string, now: number, lost?: boolean): void {
    const o = this.reshape
    if (o === undefined || !this.up.has(peer)) return
    if (o.lostOnly === true && lost !== true) return
    this.closedAt = this.closedAt.filter(t => now - t < o.cutWindow)
    this.closedAt.push(now)
    if (this.inTree && !this.lazy.has(peer) && this.closedAt.length >= o.cuts) this.wantSpread = this.reshapeWanted = true
  }

  /**
   * Whether this version is flooded (ReshapeOptions): it came marked, or this node wants a
   * reshape and the version is near its origin; at most once per interval. Flooding makes
   * every link eager (the duplicates prune them back to the flood's tree).
   */
  private reshapeNow (e: Extract<TreeEvent<R>, { kind: 'stored' }>, now: number): boolean {
    const o = this.reshape
    if (o === undefined || e.quiet === true) return false
    if (e.hops !== undefined && e.hops > o.deepAt) this.reshapeWanted = true
    const limited = this.reshapedAt !== undefined && now - this.reshapedAt < o.interval
    if (e.reshape === true && (!limited || o.followAlways)) this.counters.reshapesFollowed++
    else if (limited) return false
    else if (this.reshapeWanted && e.hops !== undefined && e.hops <= o.nearOrigin) this.counters.reshapes++
    else return false
    this.reshapeWanted = false
    this.wantSpread = false
    this.reshapedAt = now
    this.flooding = e.record
    for (const p of this.up) this.lazy.delete(p)
    return true
  }

  /** the want came from cuts (here or told by a notice): it is passed on with this node's notices (ReshapeOptions.spread) */
  private wantSpread = false

  /**
   * Whether a copy of `r` goes marked: it is the version this node floods, and the flood
   * began less than an interval ago. Later copies of it (a GRAFT's answer) go unmarked: a
   * node that gets one then would flood it anew, beyond the flood it belonged to.
   */
  private isFlooding (r: R, now: number): boolean {
    return this.flooding !== undefined && this.reshapedAt !== undefined && this.reshape !== undefined && now - this.reshapedAt < this.reshape.interval &&
      this.view.name(this.flooding) === this.view.name(r) && this.view.compare(this.flooding, r) === 0
  }

  private broadcast (record: R, except: string | undefined, now: number, out: Array<TreeAction<R>>, quiet = false, flood = false): void {
    // One wait for all of this version's notices, jittered: of the two ends of a lazy link
    // that got the version at about the same time (in one process, or one hop apart on a
    // fast network), one then sends first and the other hears of it before its own goes.
    const due = now + jitterWith(this.random, this.settings.announceIhaveDelay, 0.5)
    for (const peer of this.up) {
      if (peer === except) continue
      if (this.isKnown(peer, record)) { this.counters.skipped++; continue }
      const kind = this.lazy.has(peer) && !flood ? 'ihave' : 'full'
      if (kind === 'ihave' && (quiet || this.atLeast(this.noticed, peer, record))) continue // (a record is broadcast again once stored)
      const hold = flood ? this.reshape?.hold ?? 0 : 0
      this.enqueue(peer, hold > 0 ? { kind, record, due: now + hold, hold: true } : { kind, record, due: kind === 'ihave' ? due : 0 }, now, out)
    }
  }

  /** The peer's channel, made when missing; undefined when the peer is not up (nothing is queued for it). */
  private channel (peer: string): Channel<R> | undefined {
    if (!this.up.has(peer)) return undefined
    let ch = this.channels.get(peer)
    if (ch === undefined) { ch = { pending: new Map(), grafts: new Map(), prune: false, graftLink: false }; this.channels.set(peer, ch) }
    return ch
  }

  private enqueue (peer: string, o: Outgoing<R>, now: number, out: Array<TreeAction<R>>): void {
    const ch = this.channel(peer)
    if (ch === undefined) return
    const name = this.view.name(o.record)
    const prev = ch.pending.get(name)
    if (prev !== undefined) {
      const order = this.view.compare(prev.record, o.record)
      // a queued newer version stays; the same version stays too unless it goes up from notice to full record
      if (order > 0 || (order === 0 && (prev.kind === 'full' || o.kind === 'ihave'))) return
    }
    ch.pending.delete(name) // re-insert at the end (Map keeps insertion order)
    ch.pending.set(name, o)
    if (ch.pending.size > this.settings.announceQueueMax) ch.pending.delete(ch.pending.keys().next().value!)
    if (ch.busy !== undefined) return // collected for the next send
    if ((o.kind === 'full' && o.hold !== true) || o.due <= now) this.pump(peer, ch, now, out)
    else if (ch.flushAt === undefined || o.due < ch.flushAt) this.arm(ch, 'flush', peer, o.due)
  }

  /**
   * Hands out the peer's next send when none is outstanding: the PRUNE, the GRAFTs, and
   * up to announceBatch full records and due notices, in the order they were queued;
   * otherwise arms the deadline of the first notice still waiting. True when it sent.
   */
  private pump (peer: string, ch: Channel<R>, now: number, out: Array<TreeAction<R>>): boolean {
    if (ch.busy !== undefined) return false
    const prune = ch.prune
    const graftLink = ch.graftLink
    const grafts = [...ch.grafts.values()]
    ch.prune = false
    ch.graftLink = false
    ch.grafts.clear()
    const full: R[] = []
    const ihave: R[] = []
    // one IHAVE message per send, of announceIhaveMax notices at most: the rest go in the next
    const ihaveMax = Math.max(1, this.settings.announceIhaveMax)
    for (const [name, o] of ch.pending) {
      if (o.kind === 'ihave' && (o.due > now || ihave.length >= ihaveMax)) continue // its time has not come, or the next send's
      if (o.hold === true && o.due > now) continue
      ch.pending.delete(name)
      // it may have sent us this version since it was queued
      if (o.force !== true && this.isKnown(peer, o.record)) { this.counters.skipped++; continue }
      ;(o.kind === 'full' ? full : ihave).push(o.record)
      if (full.length + ihave.length >= this.settings.announceBatch) break
    }
    let first: number | undefined
    for (const o of ch.pending.values()) if (first === undefined || o.due < first) first = o.due
    if (first !== undefined && first !== ch.flushAt) this.arm(ch, 'flush', peer, first)
    if (!prune && !graftLink && grafts.length === 0 && full.length === 0 && ihave.length === 0) return false
    ch.busy = { prune, grafts: grafts.length + (graftLink ? 1 : 0), full, ihave }
    ch.idleFrom = undefined
    out.push({ kind: 'send', peer, prune, graftLink, grafts, full, ihave, fullHops: full.map(r => this.hopsOf(r)), ihaveHops: ihave.map(r => this.hopsOf(r)), fullReshape: this.reshape === undefined ? undefined : full.map(r => this.isFlooding(r, now)), wantReshape: this.reshape?.spread === true && this.wantSpread && this.reshapeWanted ? true : undefined })
    return true
  }

  private sent (peer: string, now: number, out: Array<TreeAction<R>>): void {
    const ch = this.channels.get(peer)
    const b = ch?.busy
    if (ch === undefined || b === undefined) return
    ch.busy = undefined
    if (b.prune) this.counters.prunes++
    this.counters.grafts += b.grafts
    for (const r of b.full) { this.counters.fullSent++; this.remember(this.known, peer, r) }
    for (const r of b.ihave) { this.counters.ihaveSent++; this.remember(this.noticed, peer, r) }
    this.next(peer, ch, now, out)
  }

  /** What a failed send carried is dropped (anti-entropy repairs); a peer gone takes its queue with it. */
  private sendFailed (peer: string, gone: boolean, now: number, out: Array<TreeAction<R>>): void {
    const ch = this.channels.get(peer)
    if (ch === undefined || ch.busy === undefined) return
    ch.busy = undefined
    if (gone) { this.linkClosed(peer, now); this.up.delete(peer); this.channels.delete(peer); this.rejoin(now, out); return }
    this.next(peer, ch, now, out)
  }

  private next (peer: string, ch: Channel<R>, now: number, out: Array<TreeAction<R>>): void {
    if (this.pump(peer, ch, now, out)) return
    ch.idleFrom = now
    if (ch.idleAt === undefined) this.arm(ch, 'idle', peer, now + this.settings.announceIdleClose)
  }

  private arm (ch: Channel<R>, kind: 'flush' | 'idle', peer: string, at: number): void {
    if (kind === 'flush') ch.flushAt = at
    else ch.idleAt = at
    this.deadlines.push({ at, kind, key: peer })
  }

  // --- receiving ------------------------------------------------------------------

  /**
   * The link becomes eager, and the peer gets the version unless it is known to hold it or
   * has it queued (the driver asks `holdsOrQueued` before it reads the content). One
   * answer at a time per peer and name, within the peer's GRAFT budget: a peer repeating
   * GRAFTs causes no more disk reads than it gets answers (review 11-R7).
   */
  private receiveGraft (peer: string, name: string, id: Uint8Array, out: Array<TreeAction<R>>): void {
    this.lazy.delete(peer)
    const key = `${peer}\n${name}`
    if (this.answering.has(key) || !this.graftBudget.tryTake(peer)) { this.counters.graftsIgnored++; return }
    this.answering.add(key)
    out.push({ kind: 'answer-graft', peer, name, id })
  }

  /**
   * A new link joins the tree only where this node has no eager link yet (it just joined,
   * or lost them): elsewhere it starts lazy, so that the overlay's changes (exploration
   * adds a link a minute per node) do not keep replacing tree links, each replacement
   * making the tree more like a random spanning tree, and deeper (tests/sim/README.md,
   * Findings 1). A node with no eager link asks the new peer to make the link eager on its
   * side too (a bare GRAFT), so a joiner is in the tree before the next version comes.
   */
  private peerUp (peer: string, now: number, out: Array<TreeAction<R>>): void {
    if (this.up.has(peer)) return
    const orphan = this.inTree && this.eagerCount() === 0
    this.up.add(peer)
    if (!this.inTree) return
    if (!orphan) { this.lazy.add(peer); return }
    this.graftLinkTo(peer, now, out)
  }

  /** Makes the link to `peer` eager on both sides: here at once, there with a bare GRAFT. */
  private graftLinkTo (peer: string, now: number, out: Array<TreeAction<R>>): void {
    this.lazy.delete(peer)
    const ch = this.channel(peer)
    if (ch !== undefined) { ch.graftLink = true; this.pump(peer, ch, now, out) }
  }

  /** The last eager link went: a node in the tree grafts one of its lazy peers at once instead of waiting for the next version's notices. */
  private rejoin (now: number, out: Array<TreeAction<R>>): void {
    if (!this.inTree || this.eagerCount() > 0 || this.up.size === 0) return
    // the peer that last told of the shortest path (a rough sign of how deep it is in the tree), random among equals
    let best: string | undefined
    let bestHops = Infinity
    let ties = 0
    for (const p of this.up) {
      const h = this.unanswered.has(p) ? 255 : this.depthOf.get(p) ?? 255
      if (h < bestHops) { best = p; bestHops = h; ties = 1 } else if (h === bestHops && this.random() * ++ties < 1) best = p
    }
    if (best !== undefined) this.graftLinkTo(best, now, out)
  }

  private eagerCount (): number {
    let n = 0
    for (const p of this.up) if (!this.lazy.has(p)) n++
    return n
  }

  /**
   * A duplicate FULL from `peer` closes a cycle of eager links: one link of it goes lazy.
   * Plumtree prunes the link the duplicate came by; with hop counts known, the shorter path
   * is kept instead, so the tree a flood leaves behind is its breadth-first tree (shallow
   * from its origin, at most twice as deep from any other) and not its first-arrival tree
   * (which follows whichever sends went first, tests/sim/README.md Findings 1):
   * - the duplicate's path is shorter than the one the version came by: the link it came
   *   by is pruned and this one kept;
   * - this node's path plus the hop to `peer` is shorter than `peer`'s own: the link is
   *   kept, and `peer`, which got (or gets) this node's copy, prunes its own longer one;
   * - otherwise (neither end gains) the duplicate's link is pruned, as Plumtree does.
   * Only a duplicate moves a link, and a tree has none: once pruned to a tree it stays.
   */
  /** `marked`: it came marked as a reshape flood (its sender floods, and learns of a shorter path only from a copy) */
  private duplicate (peer: string, record: R, hops: number | undefined, now: number, out: Array<TreeAction<R>>, marked = false): void {
    const a = this.arrived.get(this.view.name(record))
    const known = a !== undefined && a.hops !== undefined && hops !== undefined && this.view.compare(a.record, record) === 0
    if (known && hops < a.hops! && a.from !== undefined && a.from !== peer && !this.lazy.has(a.from) && this.up.has(a.from)) {
      this.counters.reparented++
      this.lazy.delete(peer)
      this.pruneLink(a.from, now, out)
      a.hops = hops
      a.from = peer
      return
    }
    if (known && a.hops! + 1 < hops - 1) {
      this.lazy.delete(peer)
      // a reshape flood's sender (its count may be stale: it sent before it found a shorter path) learns of ours only from a copy;
      // once per peer and version: a member repeating marked duplicates gets no more copies than that (docs/SECURITY.md)
      if (marked && !this.atLeast(this.answeredMarked, peer, record)) {
        this.remember(this.answeredMarked, peer, record)
        this.enqueue(peer, { kind: 'full', record, due: 0, force: true }, now, out)
      }
      return
    }
    this.pruneLink(peer, now, out)
  }

  private pruneLink (peer: string, now: number, out: Array<TreeAction<R>>): void {
    this.lazy.add(peer)
    const ch = this.channel(peer)
    if (ch !== undefined) { ch.prune = true; this.pump(peer, ch, now, out) }
  }

  /**
   * Remembers the hop count and the sender of a version stored: a newer version replaces
   * the entry; the same version again only lowers a known hop count (a later broadcast of
   * it, e.g. once its content was fetched, knows none).
   */
  private arrive (record: R, hops: number | undefined, from: string | undefined): void {
    const name = this.view.name(record)
    const a = this.arrived.get(name)
    if (a !== undefined) {
      const order = this.view.compare(record, a.record)
      if (order < 0) return
      if (order === 0) {
        if (hops !== undefined && (a.hops === undefined || hops < a.hops)) { a.hops = hops; a.from = from }
        return
      }
      this.arrived.delete(name)
    }
    this.arrived.set(name, { record, hops, from })
    if (this.arrived.size > this.settings.announceQueueMax) this.arrived.delete(this.arrived.keys().next().value!)
  }

  /** This node's hop count for `record`'s version; undefined when unknown. */
  private hopsOf (record: R): number | undefined {
    const a = this.arrived.get(this.view.name(record))
    return a !== undefined && this.view.compare(a.record, record) === 0 ? a.hops : undefined
  }

  /** `peer` says it has a version this node lacks: wait for the tree, then ask `peer`. */
  private heardOf (peer: string, notice: Notice, now: number): void {
    const key = noticeKey(notice.name, notice.id)
    const m = this.missing.get(key)
    if (m !== undefined) {
      if (!m.peers.includes(peer) && m.peers.length < this.settings.announceGraftMaxPeers) { m.peers.push(peer); m.hops.push(notice.hops ?? Infinity) }
      return
    }
    const own = this.byNotifier.get(peer) ?? new Set<string>()
    if (own.size >= this.settings.announceMissingPerPeer) this.forgetMissing(own.values().next().value!)
    if (this.missing.size >= this.settings.announceMissingMax) this.forgetMissing(this.missing.keys().next().value!)
    const at = now + this.settings.announceGraftTimeout
    this.missing.set(key, { notice, peers: [peer], hops: [notice.hops ?? Infinity], by: peer, at })
    this.byNotifier.set(peer, own.add(key))
    this.deadlines.push({ at, kind: 'graft', key })
  }

  /** A missing version's time has come: ask the next notifier still up (its link turns eager), or give up. */
  private graftDue (key: string, m: Missing, now: number, out: Array<TreeAction<R>>): void {
    if (!this.view.stillMissing(m.notice)) { this.forgetMissing(key); return }
    if (m.asked !== undefined) this.unanswered.add(m.asked) // asked, and it did not bring it
    for (let peer = this.nextNotifier(m); peer !== undefined; peer = this.nextNotifier(m)) {
      const ch = this.channel(peer)
      if (ch === undefined) continue // gone: the next one, at once
      ch.grafts.set(m.notice.name, m.notice)
      this.lazy.delete(peer)
      m.asked = peer
      m.at = now + this.settings.announceGraftRetry
      this.deadlines.push({ at: m.at, kind: 'graft', key })
      this.pump(peer, ch, now, out)
      return
    }
    this.forgetMissing(key) // nobody left to ask: anti-entropy repairs
  }

  /**
   * Takes the notifier to ask next: the one with the shortest path to the version's origin
   * (so that a repaired link joins the tree near the top), the first to tell us among
   * equals; a peer that let a GRAFT go unanswered is believed no path at all (a member
   * that claims to be next to every origin and serves nothing is asked last).
   */
  private nextNotifier (m: Missing): string | undefined {
    let best = -1
    let bestHops = Infinity
    for (let i = 0; i < m.peers.length; i++) {
      const h = this.unanswered.has(m.peers[i]) ? Infinity : m.hops[i]
      if (best < 0 || h < bestHops) { best = i; bestHops = h }
    }
    if (best < 0) return undefined
    const peer = m.peers[best]
    m.peers.splice(best, 1)
    m.hops.splice(best, 1)
    return peer
  }

  private forgetMissing (key: string): void {
    const m = this.missing.get(key)
    if (m === undefined) return
    this.missing.delete(key)
    const own = this.byNotifier.get(m.by)
    own?.delete(key)
    if (own?.size === 0) this.byNotifier.delete(m.by)
  }

  /** A disconnected peer: its queue, its link, its GRAFT budget, what it was known to hold, and it as a source of missing versions. */
  private forgetPeer (peer: string): void {
    this.up.delete(peer)
    this.lazy.delete(peer)
    this.depthOf.delete(peer)
    this.unanswered.delete(peer)
    this.channels.delete(peer)
    this.known.delete(peer)
    this.noticed.delete(peer)
    this.answeredMarked.delete(peer)
    this.graftBudget.delete(peer)
    for (const m of this.missing.values()) {
      const i = m.peers.indexOf(peer)
      if (i >= 0) { m.peers.splice(i, 1); m.hops.splice(i, 1) }
    }
  }

  // --- time -----------------------------------------------------------------------

  private runDue (now: number, out: Array<TreeAction<R>>): void {
    for (let d = this.deadlines.peek(); d !== undefined && d.at <= now; d = this.deadlines.peek()) {
      this.deadlines.pop()
      if (d.kind === 'graft') {
        const m = this.missing.get(d.key)
        if (m !== undefined && m.at === d.at) this.graftDue(d.key, m, now, out)
        continue
      }
      const ch = this.channels.get(d.key)
      if (ch === undefined) continue
      if (d.kind === 'flush' && ch.flushAt === d.at) {
        ch.flushAt = undefined
        this.pump(d.key, ch, now, out)
      } else if (d.kind === 'idle' && ch.idleAt === d.at) {
        ch.idleAt = undefined
        // in use or with work queued: armed again when its next send ends
        if (ch.idleFrom === undefined || ch.busy !== undefined || ch.prune || ch.graftLink || ch.grafts.size > 0 || ch.pending.size > 0) continue
        const at = ch.idleFrom + this.settings.announceIdleClose
        if (at > now) { this.arm(ch, 'idle', d.key, at); continue }
        this.channels.delete(d.key)
        out.push({ kind: 'close', peer: d.key })
      }
    }
  }

  /** Asks to be woken at the next deadline, when that changed. */
  private wake (now: number, out: Array<TreeAction<R>>): void {
    if (this.lastWake !== undefined && this.lastWake <= now) this.lastWake = undefined
    const next = this.deadlines.peek()
    if (next === undefined || next.at === this.lastWake) return
    this.lastWake = next.at
    out.push({ kind: 'wake', at: next.at })
  }

  // --- what peers hold ------------------------------------------------------------

  /** Records in `map` that `peer` holds `record`'s version or a newer one (bounded by peers × names). */
  private remember (map: Map<string, Map<string, R>>, peer: string, record: R): void {
    let m = map.get(peer)
    if (m === undefined) { m = new Map(); map.set(peer, m) }
    const name = this.view.name(record)
    const prev = m.get(name)
    if (prev === undefined || this.view.compare(record, prev) > 0) m.set(name, record)
  }

  private atLeast (map: Map<string, Map<string, R>>, peer: string, record: R): boolean {
    const prev = map.get(peer)?.get(this.view.name(record))
    return prev !== undefined && this.view.compare(prev, record) >= 0
  }

  private isKnown (peer: string, record: R): boolean { return this.atLeast(this.known, peer, record) }
}

/** A binary min-heap of deadlines by time. */
class DeadlineHeap {
  private readonly a: Deadline[] = []

  peek (): Deadline | undefined { return this.a[0] }

  push (d: Deadline): void {
    const a = this.a
    a.push(d)
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1
      if (a[p].at <= a[i].at) break
      ;[a[p], a[i]] = [a[i], a[p]]
      i = p
    }
  }

  pop (): Deadline | undefined {
    const a = this.a
    const top = a[0]
    const last = a.pop()
    if (a.length === 0 || last === undefined) return top
    a[0] = last
    for (let i = 0; ;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < a.length && a[l].at < a[m].at) m = l
      if (r < a.length && a[r].at < a[m].at) m = r
      if (m === i) break
      ;[a[m], a[i]] = [a[i], a[m]]
      i = m
    }
    return top
  }
}
