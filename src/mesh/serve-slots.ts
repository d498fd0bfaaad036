// How many fetches this node serves at once: at most `perPeer` for one peer and `total`
// over all peers (DESIGN.md §7: fetches being served are bounded per peer and in total).
// A request beyond either cap is answered "busy" at once, and the requester asks another
// peer; nothing waits, so a peer that never reads holds at most `perPeer` slots.
export class ServeSlots {
  private readonly byPeer = new Map<string, number>()
  private active = 0

  constructor (private readonly perPeer: number, private readonly total: number) {}

  /** Takes a slot for `peer`; false when a cap is reached (then nothing was taken). */
  take (peer: string): boolean {
    const mine = this.byPeer.get(peer) ?? 0
    if (this.active >= this.total || mine >= this.perPeer) return false
    this.byPeer.set(peer, mine + 1)
    this.active++
    return true
  }

  release (peer: string): void {
    const mine = this.byPeer.get(peer) ?? 0
    if (mine <= 1) this.byPeer.delete(peer)
    else this.byPeer.set(peer, mine - 1)
    this.active = Math.max(0, this.active - 1)
  }
}
