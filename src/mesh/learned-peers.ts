// The learnt candidates (proto/learned-peers.ts) with libp2p's peer ids and multiaddrs and
// the wall clock by default. The overlay core keeps its own, with strings; this one is
// kept for callers that hold libp2p objects (tests/mesh/limits.units.test.ts).
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { LearnedPeers as Core, type Candidate as CoreCandidate, type LearnedPeersSettings } from './proto/learned-peers.js'

export type Candidate = CoreCandidate<PeerId, Multiaddr>

export class LearnedPeers extends Core<PeerId, Multiaddr> {
  constructor (settings: LearnedPeersSettings, clock: () => number = Date.now) {
    super(settings, clock)
  }
}
