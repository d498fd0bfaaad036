// A peer's standing: whether the versions it announces can be fetched from it. Announcing
// a version and then not serving it (answering "not here", staying silent, trickling the
// bytes) costs the receiver a storing slot and a fetch slot for up to a fetch deadline;
// a member can do it without ever sending a malformed byte, so the penalty box alone
// never catches it (issue 18). Each such failure is a strike; strikes are forgiven one per
// `forgiveAfter` and one per version the peer did serve. A peer with strikes gets a
// smaller share of the fair limiters (fair-limiter.ts): half at `reduceAt`, a quarter at
// twice that; at `maxStrikes` it is disconnected and refused for a while (punished). An
// honest peer that is slow once, or replaced a version while we asked for it, collects a
// strike that is soon forgiven. No timers: time is passed in.
import type { MeshSettings } from '../settings.js'

export interface StandingShape {
  /** strikes at which a peer's share of storing and fetch slots is halved (quartered at twice this) */
  reduceAt: number
  /** strikes at which the peer is punished */
  maxStrikes: number
  /** one strike is forgiven per this many ms */
  forgiveAfter: number
  /** peers tracked, at most (the one with the oldest change goes first) */
  maxPeers: number
}

interface Strikes { strikes: number, since: number }

export type StrikeOutcome = 'noted' | 'punish'

export class Standing {
  private readonly peers = new Map<string, Strikes>()

  constructor (private readonly shape: StandingShape, private readonly clock: () => number) {}

  private current (peer: string): Strikes | undefined {
    const r = this.peers.get(peer)
    if (r === undefined) return undefined
    const now = this.clock()
    const forgiven = Math.floor((now - r.since) / this.shape.forgiveAfter)
    if (forgiven > 0) {
      r.strikes = Math.max(0, r.strikes - forgiven)
      r.since += forgiven * this.shape.forgiveAfter
    }
    if (r.strikes === 0) { this.peers.delete(peer); return undefined }
    return r
  }

  strikes (peer: string): number { return this.current(peer)?.strikes ?? 0 }

  /** The peer failed to serve a version it announced. 'punish' once it reached maxStrikes (its strikes are then cleared). */
  strike (peer: string): StrikeOutcome {
    let r = this.current(peer)
    if (r === undefined) {
      while (this.peers.size >= this.shape.maxPeers) this.peers.delete(this.peers.keys().next().value!)
      r = { strikes: 0, since: this.clock() }
    }
    this.peers.delete(peer) // most recently changed last
    this.peers.set(peer, r)
    r.strikes++
    if (r.strikes < this.shape.maxStrikes) return 'noted'
    this.peers.delete(peer)
    return 'punish'
  }

  /** The peer served a version: one strike forgiven. */
  served (peer: string): void {
    const r = this.current(peer)
    if (r === undefined) return
    r.strikes--
    if (r.strikes <= 0) this.peers.delete(peer)
  }

  /** The peer's share of the fair limiters: 1, ½ or ¼. */
  share (peer: string): number {
    const s = this.strikes(peer)
    return s >= 2 * this.shape.reduceAt ? 0.25 : s >= this.shape.reduceAt ? 0.5 : 1
  }

}

/** A node's standing book, shaped by its settings (the mesh shares one among its components). */
export function standingFor (s: Pick<MeshSettings, 'standingReduceAt' | 'standingMaxStrikes' | 'standingForgiveAfter' | 'maxKnownPeers'>, clock: () => number): Standing {
  return new Standing({ reduceAt: s.standingReduceAt, maxStrikes: s.standingMaxStrikes, forgiveAfter: s.standingForgiveAfter, maxPeers: s.maxKnownPeers }, clock)
}
