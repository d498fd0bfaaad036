// Who counts as a member of this node's cluster (issue 18, items 6 and 7): the peers
// that get connection and handshake slots strangers cannot take (connection-limits.ts,
// cert-admission.ts), and the only peers whose addresses this node dials on its own
// (membership.ts: identify addresses, peer-exchange answers). A peer id is proved by the
// secure channel, so a stranger cannot pass for a member; an address can, which is why
// nothing here is by IP. A member is:
//  - a peer on cluster.allowed_nodes (when the list is set);
//  - a peer id named by a bootstrap entry (/p2p/<id>), or the peer that answered at a
//    bootstrap address;
//  - with a network: a peer whose certificate this node verified before (cert-admission.ts);
//  - a peer this node dialed itself whose connection completed identify (with a network,
//    identify runs only once the certificate is verified, so this adds nobody new there).
// Without a network and without allowed_nodes anyone may join, so "member" there means
// only "chosen by this node's configuration or by its own dials", never "dialed us".
// Remembered in memory (not across restarts: the configured entries come back from the
// config, and members reconnect through them), at most maxKnownPeers, the least recently
// confirmed forgotten first.
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'

/** A peer id as PeerId.toString() spells it (a bootstrap entry may use another spelling). */
function normal (id: string): string | undefined {
  try { return peerIdFromString(id).toString() } catch { return undefined }
}

export class KnownMembers {
  private readonly configured = new Set<string>()
  /** peer id → last confirmed (insertion order = least recently confirmed first) */
  private readonly learnt = new Map<string, true>()

  constructor (private readonly allowed: Set<string> | undefined, bootstrapIds: Array<string | undefined>, private readonly max: number) {
    for (const id of bootstrapIds) {
      const n = id === undefined ? undefined : normal(id)
      if (n !== undefined) this.configured.add(n)
    }
  }

  has (peer: PeerId | string): boolean {
    const id = peer.toString()
    return this.allowed?.has(id) === true || this.configured.has(id) || this.learnt.has(id)
  }

  /** Remembers (or refreshes) a member; beyond `max` the least recently confirmed one is forgotten. */
  add (peer: PeerId | string): void {
    const id = peer.toString()
    if (this.configured.has(id) || this.allowed?.has(id) === true) return
    this.learnt.delete(id)
    this.learnt.set(id, true)
    while (this.learnt.size > this.max) {
      const oldest = this.learnt.keys().next().value
      if (oldest === undefined) break
      this.learnt.delete(oldest)
    }
  }

  /** Members learnt at run time (not counting the configured ones). */
  get learntCount (): number { return this.learnt.size }
}
