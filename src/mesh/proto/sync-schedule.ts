// When and with whom this node starts an anti-entropy round (adapter: ../sync.ts; the
// simulator's tests/sim/sync-driver.ts drives the same class). No timers, no clock: time
// is passed in, randomness is injected.
//
// Skipping: when the sync timer fires, a node that has just answered a round (as
// responder) has been reconciled with one peer during this interval already; initiating
// as well would make every node take part in ~2 rounds per interval. Skipping halves the
// idle rounds without slowing repair much: a round is a round, whichever side started it.
// Never twice in a row, so a peer that keeps syncing with us cannot stop us from picking a
// random peer ourselves: at most every other tick is skipped (DECISIONS.md, "Fewer sync
// rounds at idle").
//
// Failed rounds (DECISIONS.md, "A silent sync peer costs seconds, not a round"): a peer
// that answers nothing, stalls, closes or breaks the protocol fails the round; the
// adapter gives up on a peer that makes no progress for syncStallTimeout, not only at the
// round's whole budget (syncTimeout). A failed round the timer started is followed at
// once by a round with another peer, and the peer is backed off: not picked by the timer
// for syncBackoff, doubled per failure in a row up to syncBackoffMax, forgotten once a
// round with it succeeds. Backoff is a preference, not a penalty: the peer stays
// connected, its rounds are answered, no strike is counted against it (an honest peer
// that is slow or has just crashed must not be banned), and when every peer is backed off
// the timer still picks one of them.

import { jitterWith, type Random } from './random.js'

export interface TickState {
  /** this node completed a round as responder since the timer was armed */
  answeredSinceArmed: boolean
  /** the previous tick was skipped */
  skippedLast: boolean
}

export function shouldSkip (s: TickState): boolean {
  return s.answeredSinceArmed && !s.skippedLast
}

export interface SyncScheduleShape {
  /** the cluster's sync_interval: the timer fires every interval ±20% */
  interval: number
  /** a peer whose round failed is not picked by the timer for this long (ms) ... */
  backoff: number
  /** ... doubled per failure in a row, at most this long */
  backoffMax: number
  /** peers whose failures are remembered, at most (the least recently failed goes first) */
  maxPeers: number
}

/** How a round this node initiated ended ('busy': not started, a round with that peer was under way). */
export type RoundOutcome = 'equal' | 'exchanged' | 'failed' | 'busy'

/** What to do when the timer fires: skip this tick, start a round with `peer`, or nothing (no peer to sync with). */
export type TickDecision = { kind: 'skip' } | { kind: 'round', peer: string } | { kind: 'none' }

interface Failures { count: number, until: number }

export class SyncSchedule {
  private answeredSinceArmed = false
  private skippedLast = false
  private readonly failing = new Map<string, Failures>()

  constructor (private readonly shape: SyncScheduleShape, private readonly random: Random) {}

  /** The timer is (re)armed: the delay until it fires. */
  arm (): number {
    this.answeredSinceArmed = false
    return jitterWith(this.random, this.shape.interval, 0.2)
  }

  /** This node completed a round as responder. */
  answered (): void { this.answeredSinceArmed = true }

  /**
   * The timer fired. `peers`: those this node may sync with now (connected, admitted, no
   * round with them under way). A peer not backed off if there is one, else any.
   */
  tick (peers: readonly string[], now: number): TickDecision {
    if (shouldSkip({ answeredSinceArmed: this.answeredSinceArmed, skippedLast: this.skippedLast })) {
      this.skippedLast = true
      return { kind: 'skip' }
    }
    this.skippedLast = false
    const fresh = peers.filter(p => !this.backedOff(p, now))
    const from = fresh.length > 0 ? fresh : peers
    if (from.length === 0) return { kind: 'none' }
    return { kind: 'round', peer: from[Math.floor(this.random() * from.length)] }
  }

  /**
   * A round this node initiated with `peer` ended (the timer's, or any other). Returns,
   * for a failed round the timer started (`byTimer`), the peer to start the next round
   * with at once: one of `peers` not backed off; undefined: arm the timer. The retries a
   * tick can lead to are bounded by the peers: each failure backs its peer off.
   */
  ended (peer: string, outcome: RoundOutcome, now: number, byTimer: boolean, peers: readonly string[]): string | undefined {
    if (outcome === 'busy') return undefined
    if (outcome !== 'failed') { this.failing.delete(peer); return undefined }
    this.failed(peer, now)
    if (!byTimer) return undefined
    const fresh = peers.filter(p => p !== peer && !this.backedOff(p, now))
    return fresh.length === 0 ? undefined : fresh[Math.floor(this.random() * fresh.length)]
  }

  /** Whether the timer avoids `peer` now (a round with it failed lately). */
  backedOff (peer: string, now: number): boolean {
    const f = this.failing.get(peer)
    return f !== undefined && now < f.until
  }

  /** Peers backed off now (for stats). */
  backedOffCount (now: number): number {
    let n = 0
    for (const f of this.failing.values()) if (now < f.until) n++
    return n
  }

  private failed (peer: string, now: number): void {
    const prev = this.failing.get(peer)
    // failures "in a row": one long after the last backoff ended starts over
    const count = prev !== undefined && now < prev.until + this.shape.backoffMax ? prev.count + 1 : 1
    this.failing.delete(peer) // most recently failed last
    while (this.failing.size >= this.shape.maxPeers) this.failing.delete(this.failing.keys().next().value!)
    const wait = Math.min(this.shape.backoffMax, this.shape.backoff * 2 ** Math.min(count - 1, 30))
    this.failing.set(peer, { count, until: now + wait })
  }
}
