// Fair sharing of one kind of work (storing records, fetching content, asking for record
// certificates) among the peers that cause it. A plain semaphore serves first come first
// served: one member announcing hundreds of versions it never serves fills every slot and
// the queue in front of them, and an admin's update waits minutes behind it (issue 18).
// Here instead:
//  - every peer has its own queue, and the slots are handed out round-robin across peers;
//  - a peer holds at most `perPeerSlots` slots at once and queues at most `perPeerQueue`
//    jobs (both scaled down by its standing, standing.ts); past that its own oldest
//    queued job is dropped (sync brings back whatever was real);
//  - a queued job with the same key (a name) from the same peer is replaced by the newer
//    one: only the newest version of a name waits;
//  - two lanes: configured files go before namespace files, and namespace files never
//    take more than `namespaceSlots`, so a configured file always finds a slot free;
//  - a job may wait in several peers' queues at once (every peer that sent the same
//    record): the first turn runs it, holding that peer's slot, and it leaves the other
//    queues. So a copy from an honest peer never waits behind a stalled sender.
// A job whose every ticket was dropped rejects with QueueDropped (it never ran). No
// timers, no IO.
import type { Policy } from '../../rule/which-version-wins.js'

export type Lane = 'configured' | 'namespace'

export interface Ticket {
  /** who caused the work (the peer that sent the record, or announced it) */
  peer: string
  lane: Lane
  /** a newer job with the same key from the same peer replaces this one while it waits */
  key?: string
}

export interface FairShape {
  /** jobs running at once, at most */
  slots: number
  /** of those, namespace-lane jobs at most (the rest stay free for configured files) */
  namespaceSlots: number
  /** jobs of one peer running at once, at most */
  perPeerSlots: number
  /** jobs of one peer waiting, at most (its oldest is dropped beyond) */
  perPeerQueue: number
}

/** A peer's share, given its standing: a fraction in (0, 1] of perPeerSlots and perPeerQueue. */
export type Share = (peer: string) => number

/** The job was not run: superseded by a newer one, pushed out of its peer's full queue, or its peer left. */
export class QueueDropped extends Error {
  override name = 'QueueDropped'
  constructor (readonly why: 'superseded' | 'overflow' | 'peer-gone' | 'stopped') { super(`work dropped before it ran (${why})`) }
}

/** A job queued in one or more peers' queues (see FairLimiter.job). */
export interface Queued<T> {
  /** the job's result; QueueDropped when every ticket was dropped before a turn came */
  readonly result: Promise<T>
  /** Queues the job for `ticket`'s turn too; false once it started or was dropped (nothing queued). */
  add: (ticket: Ticket) => boolean
}

interface JobState {
  /** its tickets still waiting (one Waiting per peer's queue) */
  waiting: Set<Waiting>
  started: boolean
  settled: boolean
  run: (ticket: Ticket) => void
  reject: (err: Error) => void
}

interface Waiting {
  ticket: Ticket
  job: JobState
}

interface PeerState {
  /** waiting jobs per lane, oldest first */
  configured: Waiting[]
  namespace: Waiting[]
  running: number
  /** when this peer's job last started (a serial number; 0 = never): the least recent goes next */
  turn: number
}

export interface FairStats {
  running: number
  waiting: number
  /** waiting jobs per peer (only peers with any) */
  depth: Record<string, number>
}

export class FairLimiter {
  private readonly peers = new Map<string, PeerState>()
  private running = 0
  private runningNamespace = 0
  private stopped = false
  private turns = 0

  constructor (private readonly shape: FairShape, private readonly share: Share = () => 1) {}

  /** Runs `fn` once the ticket's turn comes; rejects with QueueDropped if it never does. */
  async run<T> (ticket: Ticket, fn: () => Promise<T>): Promise<T> {
    const q = this.job(async () => await fn())
    q.add(ticket)
    return await q.result
  }

  /**
   * A job that runs `fn` (with the ticket whose turn came) once, in the first turn of any
   * of the tickets added to it; add() queues it in another peer's queue too.
   */
  job<T> (fn: (ticket: Ticket) => Promise<T>): Queued<T> {
    let resolve!: (v: T) => void
    let reject!: (err: Error) => void
    const result = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    const state: JobState = {
      waiting: new Set(),
      started: false,
      settled: false,
      run: (ticket) => {
        void fn(ticket).then(resolve, reject).finally(() => this.finish(ticket))
      },
      reject: (err) => { state.settled = true; reject(err) }
    }
    return {
      result,
      add: (ticket) => {
        if (state.started || state.settled) return false
        if (this.stopped) { if (state.waiting.size === 0) state.reject(new QueueDropped('stopped')); return false }
        const w: Waiting = { ticket, job: state }
        state.waiting.add(w)
        this.enqueue(w)
        return true
      }
    }
  }

  /** `w` leaves its queue without running (the caller removed it); its job fails once it has no ticket left. */
  private drop (w: Waiting, why: QueueDropped['why']): void {
    const job = w.job
    job.waiting.delete(w)
    if (job.started || job.settled || job.waiting.size > 0) return
    job.reject(new QueueDropped(why))
  }

  /** Drops every job `peer` has waiting (it disconnected, or was punished). */
  dropPeer (peer: string): void {
    const st = this.peers.get(peer)
    if (st === undefined) return
    for (const w of st.configured.splice(0).concat(st.namespace.splice(0))) this.drop(w, 'peer-gone')
    if (st.running === 0) this.peers.delete(peer)
  }

  /** Drops everything waiting; running jobs finish. */
  stop (): void {
    this.stopped = true
    for (const peer of [...this.peers.keys()]) this.dropPeer(peer)
  }

  stats (): FairStats {
    const depth: Record<string, number> = {}
    let waiting = 0
    for (const [peer, st] of this.peers) {
      const n = st.configured.length + st.namespace.length
      if (n > 0) depth[peer] = n
      waiting += n
    }
    return { running: this.running, waiting, depth }
  }

  private state (peer: string): PeerState {
    let st = this.peers.get(peer)
    if (st === undefined) { st = { configured: [], namespace: [], running: 0, turn: 0 }; this.peers.set(peer, st) }
    return st
  }

  private limits (peer: string): { slots: number, queue: number } {
    const f = Math.min(1, Math.max(0, this.share(peer)))
    return { slots: Math.max(1, Math.floor(this.shape.perPeerSlots * f)), queue: Math.max(1, Math.floor(this.shape.perPeerQueue * f)) }
  }

  private enqueue (w: Waiting): void {
    const { peer, lane, key } = w.ticket
    const st = this.state(peer)
    const q = st[lane]
    if (key !== undefined) {
      const i = q.findIndex(o => o.ticket.key === key && o.job !== w.job)
      if (i >= 0) this.drop(q.splice(i, 1)[0], 'superseded')
    }
    q.push(w)
    const queue = this.limits(peer).queue
    while (st.configured.length + st.namespace.length > queue) {
      // the peer's own oldest goes: its namespace files before its configured files
      const from = st.namespace.length > 0 ? st.namespace : st.configured
      this.drop(from.shift()!, 'overflow')
    }
    this.pump()
  }

  private finish (ticket: Ticket): void {
    this.running--
    if (ticket.lane === 'namespace') this.runningNamespace--
    const st = this.peers.get(ticket.peer)
    if (st !== undefined) {
      st.running--
      if (st.running === 0 && st.configured.length === 0 && st.namespace.length === 0) this.peers.delete(ticket.peer)
    }
    this.pump()
  }

  /** Starts waiting jobs while slots are free: configured lane first, peers in turn. */
  private pump (): void {
    while (this.running < this.shape.slots) {
      const next = this.pick('configured') ?? (this.runningNamespace < this.shape.namespaceSlots ? this.pick('namespace') : undefined)
      if (next === undefined) return
      this.running++
      if (next.ticket.lane === 'namespace') this.runningNamespace++
      // its other tickets leave their queues: this turn runs it
      const job = next.job
      job.started = true
      job.waiting.delete(next)
      for (const other of job.waiting) this.unqueue(other)
      job.waiting.clear()
      job.run(next.ticket)
    }
  }

  /** Takes `w` out of its peer's queue (its job started elsewhere). */
  private unqueue (w: Waiting): void {
    const st = this.peers.get(w.ticket.peer)
    if (st === undefined) return
    const q = st[w.ticket.lane]
    const i = q.indexOf(w)
    if (i >= 0) q.splice(i, 1)
    if (st.running === 0 && st.configured.length === 0 && st.namespace.length === 0) this.peers.delete(w.ticket.peer)
  }

  /**
   * The oldest waiting job in `lane` of the peer below its slot cap whose last turn is
   * the longest ago (a peer that never had one first): round-robin across peers.
   */
  private pick (lane: Lane): Waiting | undefined {
    let best: PeerState | undefined
    for (const [peer, st] of this.peers) {
      if (st[lane].length === 0 || st.running >= this.limits(peer).slots) continue
      if (best === undefined || st.turn < best.turn) best = st
    }
    if (best === undefined) return undefined
    best.running++
    best.turn = ++this.turns
    return best[lane].shift()!
  }
}

/** Configured files take the first lane; namespace files (and anything else) the second. */
export function laneOf (policy: Pick<Policy, 'files'>, name: string): Lane {
  return policy.files.has(name) ? 'configured' : 'namespace'
}
