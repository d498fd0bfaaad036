// When a node next asks a peer for its peers (docs/PROTOCOLS.md §8). An exchange is a new
// stream asked and answered at both ends; on a settled overlay it teaches nothing, and was
// ~15% of an idle daemon's CPU at 16 nodes (docs/DECISIONS.md, "The peer exchange backs
// off"). So the interval doubles with each answer that teaches this node nothing it needs,
// up to peerExchangeBackoffMax times, and is back at peerExchangeInterval after one that
// does, or whenever the node holds fewer peers than its target.
import { jitterWith, type Random } from './random.js'

export interface ExchangeScheduleSettings {
  peerExchangeInterval: number
  peerExchangeBackoffMax: number
}

export class ExchangeSchedule {
  private factor = 1

  constructor (private readonly s: ExchangeScheduleSettings, private readonly random: Random) {}

  /** An answer came: `useful` when it named a peer this node needs (Overlay.teaches). */
  answered (useful: boolean): void {
    this.factor = useful ? 1 : Math.min(this.factor * 2, Math.max(1, this.s.peerExchangeBackoffMax))
  }

  /** The wait before the next exchange; `short`: the node holds fewer peers than its target, and asks at the base interval. */
  delay (short: boolean): number {
    if (short) this.factor = 1
    return jitterWith(this.random, this.s.peerExchangeInterval * this.factor, 0.2)
  }

  /** how many base intervals the next wait is (1: not backed off) */
  get backoff (): number { return this.factor }
}
