// Peers we were told about but have not reached yet (issue 11: F10). Any connected
// peer may answer peer exchange (or announce listen addresses through identify) with
// whatever ids and host:port it likes; dialing all of them at once would make this node
// a tool for connecting to attacker-chosen addresses, and remembering them would let
// throw-away ids crowd genuine peers out of the known-peer table. So a learnt peer is
//  - kept here, in a small bounded set (the oldest is evicted first), not in the
//    known-peer table nor in libp2p's peer store;
//  - dialed at its learnt addresses only at a bounded rate (a token bucket counted in
//    addresses, each address being one connection attempt);
//  - moved to the known-peer table once a connection to it completed identify
//    (overlay.ts), and dropped after one failed dial.
// Generic over how a peer and an address are spelt: the overlay core uses strings, the
// clock is injected (src/mesh/learned-peers.ts gives the daemon's).
import { TokenBucket } from './token-bucket.js'

export interface Candidate<P = string, A = string> { peerId: P, addrs: A[] }

export interface LearnedPeersSettings {
  maxCandidatePeers: number
  learnedDialsPerMinute: number
  learnedDialBurst: number
  learnedAddrsPerDial: number
}

export class LearnedPeers<P extends { toString: () => string } = string, A = string> {
  private readonly pending = new Map<string, Candidate<P, A>>()
  /** one token per learnt address dialed */
  private readonly dials: TokenBucket

  constructor (private readonly settings: LearnedPeersSettings, clock: () => number) {
    this.dials = new TokenBucket({ burst: settings.learnedDialBurst, perSecond: settings.learnedDialsPerMinute / 60 }, clock)
  }

  get size (): number { return this.pending.size }

  has (id: string): boolean { return this.pending.has(id) }

  /** Adds (or refreshes the addresses of) a candidate; beyond maxCandidatePeers the oldest goes. */
  add (peerId: P, addrs: A[]): void {
    const id = peerId.toString()
    this.pending.delete(id) // re-inserted as the newest
    while (this.pending.size >= this.settings.maxCandidatePeers) {
      const oldest = this.pending.keys().next().value
      if (oldest === undefined) break
      this.pending.delete(oldest)
    }
    this.pending.set(id, { peerId, addrs: addrs.slice(0, this.settings.learnedAddrsPerDial) })
  }

  remove (id: string): void { this.pending.delete(id) }

  /** Candidates in the order they were learnt (oldest first). */
  list (): Array<Candidate<P, A>> { return [...this.pending.values()] }

  /**
   * Takes tokens for dialing up to `want` addresses; returns how many may be dialed now
   * (0 when the bucket is empty). Tokens come back at learnedDialsPerMinute.
   */
  take (want: number): number { return this.dials.take(want) }
}
