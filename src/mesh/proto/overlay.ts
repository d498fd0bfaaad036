// The overlay's core (issue 23, item 1: peer selection): which peers this node dials,
// keeps, lets go of and forgets. A state machine with no IO: the adapter
// (src/mesh/membership.ts) turns libp2p's connection events and dial results into
// OverlayEvents and carries out the OverlayActions; the simulator (tests/sim) drives the
// same class on simulated time. Peers are plain strings (PeerId.toString()), addresses
// opaque strings (multiaddrs in the daemon).
//
//   core.handle(event, now) → OverlayAction[]
//
// The driver calls handle({ kind: 'tick' }, now) at (or after) the latest `wake` it was
// given; a later `wake` replaces an earlier one.
import type { Random } from './random.js'

/** What the core dials: a bootstrap entry (by its config text), a known peer, or a learnt candidate at (some of) its learnt addresses. */
export type DialTarget =
  | { bootstrap: string }
  | { peer: string }
  | { candidate: string, addrs: string[] }

export type OverlayEvent =
  /** the first connection to a peer opened (libp2p peer:connect); `connections`: its open connections now, `newestOpenedAt`: the newest one's open time */
  | { kind: 'connected', peer: string, outbound: boolean, connections: number, newestOpenedAt: number }
  /** a connected peer's set of connections changed (one more or one fewer, the peer stays connected) */
  | { kind: 'connections', peer: string, connections: number, newestOpenedAt: number }
  /**
   * identify completed on a connection: the connection really works. `hasAddresses`: it
   * announced listen addresses; `dialedByUs`: this node holds an open connection to it that
   * it opened itself
   */
  | { kind: 'identified', peer: string, hasAddresses: boolean, dialedByUs: boolean }
  /** the last connection to a peer closed (libp2p peer:disconnect) */
  | { kind: 'disconnected', peer: string }
  /**
   * a dial the core asked for ended. `answeredBy`: the peer that answered (bootstrap
   * entries); `self`: the entry turned out to be this node itself (the adapter knows it
   * structurally, not from an error message)
   */
  | { kind: 'dial-done', target: DialTarget, ok: boolean, answeredBy?: string, self?: boolean }
  /** peers a peer that vouches for them told about (peer exchange), addresses already filtered to what this node can dial */
  | { kind: 'learned', from: string, peers: Array<{ peer: string, addrs: string[] }> }
  /** the time asked for by the latest `wake` has come */
  | { kind: 'tick' }

export type OverlayAction =
  | { kind: 'dial', target: DialTarget }
  /** close every connection to the peer */
  | { kind: 'hang-up', peer: string }
  /** close up to `count` second (third…) connections to a peer, newest first, past trimGrace (the oldest connection to each peer stays) */
  | { kind: 'trim-extra-connections', count: number }
  /** the peer is no longer remembered: drop what the transport keeps about it (libp2p's peer store) */
  | { kind: 'forget', peer: string }
  /** the peer counts as a member of the cluster from now on (known-members.ts) */
  | { kind: 'member', peer: string }
  /** call handle({ kind: 'tick' }) at `at` */
  | { kind: 'wake', at: number }

/** What the core asks of the node's own state, synchronously. */
export interface OverlayView {
  /** allowed_nodes and the penalty box: whether this node may connect to the peer at all */
  mayConnect: (peer: string) => boolean
  /** a known member (known-members.ts) */
  isMember: (peer: string) => boolean
}

/** A bootstrap entry: its config text, and the peer id it names (if it names one). */
export interface BootstrapEntry { entry: string, peerId?: string }

/** The settings the overlay reads (a part of MeshSettings). */
export interface OverlaySettings {
  targetPeers: number
  maxPeers: number
  trimGrace: number
  joinGrace: number
  maxParallelDials: number
  maintainInterval: number
  exploreInterval: number
  backoffBase: number
  backoffMax: number
  maxKnownPeers: number
  forgetAfter: number
  maxCandidatePeers: number
  learnedDialsPerMinute: number
  learnedDialBurst: number
  learnedAddrsPerDial: number
}

export interface OverlayCounters {
  dials: number
  dialFailures: number
  trimmed: number
  learnedDials: number
  /** newcomers let go after joinGrace because they arrived while this node was full */
  guestsReleased: number
}

// The class (implementation follows in the next commit; this is its shape):
//
//   new Overlay({ settings: OverlaySettings, self: string, bootstrap: BootstrapEntry[],
//                 view: OverlayView, random: Random, now: number })
//   overlay.start(now): OverlayAction[]            // the first wake (and dials, if any)
//   overlay.handle(event: OverlayEvent, now): OverlayAction[]
//   overlay.knownPeers(): number                   // remembered peers
//   overlay.candidatePeers(): number               // learnt, not reached yet
//   overlay.isKnown(peer): boolean
//   overlay.connected(): string[]                  // peers with an open connection, as the core sees them
//   overlay.counters: OverlayCounters
export type { Random }
