// Every timing and limit of the mesh, in one place, grouped by concern (one interface
// per group; MeshSettings is all of them, with flat keys). docs/PROTOCOLS.md lists the
// same numbers; change both together. The config file sets only what an operator tunes
// (port, interfaces, bootstrap nodes, sync_interval, admission, and the profile: a named
// set of these values, profiles.ts); everything here is a protocol constant or an
// engineering bound. startMesh() accepts overrides (tests use short penalties and intervals).
import { MAX_RECORD_BYTES } from '../crypto/record.js'
import { jitterWith } from './proto/random.js'
import type { OverlaySettings } from './proto/overlay.js'
import type { ReshapeSettings, TreeSettings } from './proto/tree.js'
import type { SignerTurnsSettings } from './proto/signer-turns.js'
import type { FloodJudgeSettings } from './proto/flood-judge.js'

/**
 * Which peers a node holds connections to (docs/PROTOCOLS.md §9): the peer target and
 * maximum, trimming, joining, exploration, redial backoff, known and learnt peers. The
 * overlay core (proto/overlay.ts) reads exactly these; its adapter is membership.ts.
 */
export type PeerSelectionSettings = OverlaySettings

/**
 * What connections, and handshakes in progress, this node accepts at most (issue 18, F5,
 * F6): libp2p's own caps and connection-limits.ts's per-IP and stranger budgets.
 */
export interface ConnectionLimitSettings {
  /**
   * libp2p's hard cap; it prunes beyond this on its own, and refuses every inbound
   * socket while at it. Well above maxStrangerConnections, so that strangers never
   * reach it: the rest is the members' (issue 18)
   */
  maxConnections: number
  /** inbound connections accepted per second from one IP (libp2p default 5; many nodes share a host in tests and benches) */
  inboundConnectionThreshold: number
  /** libp2p's cap on inbound connections in the middle of their handshake (all IPs together); above maxPendingHandshakes, so that it is never the limit (issue 18) */
  maxIncomingPendingConnections: number
  /**
   * inbound handshakes in progress, at most (all IPs together): past it a new one cuts
   * the oldest handshake of the IP holding the most, if that IP holds more than the
   * newcomer's (connection-limits.ts)
   */
  maxPendingHandshakes: number
  /** inbound handshakes in progress from one IP (an IPv6 /64), at most: past it the IP's oldest is cut (an idle socket is always the oldest) (F5) */
  maxPendingPerIp: number
  /** inbound connections of strangers (peers not known as members, known-members.ts) in total, at most; members are not counted (issue 18) */
  maxStrangerConnections: number
  /** an inbound connection must finish its handshake (Noise + Yamux, or QUIC's) within this, or it is closed (libp2p's inboundUpgradeTimeout) */
  handshakeTimeout: number
  /** a handshake slot (maxPendingPerIp) is given back at the latest this long after handshakeTimeout, should neither open nor close be seen */
  handshakeSlotGrace: number
  /** inbound connections of strangers from one IP (an IPv6 /64), at most; above the nodes that share one host in tests and benches (F6); members are not counted */
  maxInboundPerIp: number
  /** connections with one peer id, both directions, at most (two nodes dialing each other at once make 2) (F6) */
  maxConnectionsPerPeer: number
}

/** How a connection is made and kept alive (libp2p's dialer and connection monitor, QUIC): node.ts. */
export interface TransportSettings {
  /** a dial (all addresses of one peer) gives up after this */
  dialTimeout: number
  /**
   * A TCP connection nothing has arrived on for this long is pinged, and closed if the
   * ping fails (liveness.ts); busy connections are not pinged. So a dead TCP peer (host
   * gone, no reset) is found within about 1.25 × this plus pingTimeout; a dead QUIC peer
   * within quicMaxIdleTimeout, by QUIC's own keep-alive. (libp2p's connection monitor,
   * which pinged every connection from both ends, is off: at 30 s with 14 peers its pings
   * were half of a node's idle CPU, docs/DECISIONS.md.)
   */
  pingInterval: number
  /** a ping not answered within this closes the connection */
  pingTimeout: number
  /**
   * A QUIC connection with no packets for this long is dead. Also bounds how long
   * stopping takes: the QUIC listener waits this long for a connection that was
   * refused mid-handshake (libp2p-quic 2.1 behaviour; its default is 10 s).
   */
  quicMaxIdleTimeout: number
  /** QUIC keep-alive packets this often (must be well below quicMaxIdleTimeout) */
  quicKeepAliveInterval: number
  /**
   * Yamux pings each TCP connection this often from each side, the first when the
   * connection opens: that one gives Yamux the round-trip time it grows a stream's
   * receive window by (a large file over a WAN). It is not liveness: the library only logs
   * a failed ping, and pingInterval finds a dead peer. At the library's 30 s, with ~10
   * peers, they were a quarter of an idle node's CPU (docs/DECISIONS.md, "Yamux
   * keep-alives every 10 minutes").
   */
  yamuxKeepAliveInterval: number
}

/** The peers protocol (docs/PROTOCOLS.md §8): peer-exchange.ts. */
export interface PeerExchangeSettings {
  /** ask a random peer for its peers this often (jittered), besides on every outbound connection */
  peerExchangeInterval: number
  /** ... doubling with each answer that teaches this node no peer it needs, up to this many times it, while it holds targetPeers peers (proto/exchange-schedule.ts) */
  peerExchangeBackoffMax: number
  /** peers in one answer, at most */
  peerExchangeMaxPeers: number
  /** addresses per peer in one answer, at most */
  peerExchangeMaxAddrs: number
  /** an answer frame is at most this many bytes */
  peerExchangeMaxBytes: number
  /** the whole exchange must finish within this */
  peerExchangeTimeout: number
}

/**
 * The broadcast tree (docs/PROTOCOLS.md §5): full records on eager links, notices on lazy
 * ones. The tree core (proto/tree.ts) reads TreeSettings, a part of this (with
 * maxConnections and the message budget, documented with their groups); announce.ts,
 * its adapter, the stream and framing bounds besides.
 */
export interface AnnounceSettings extends TreeSettings, ReshapeSettings {
  /** records written per turn of a peer's sender (then the queue is looked at again) */
  announceBatch: number
  /** a message is written in chunks of about this many bytes (one muxer frame each) */
  announceWriteChunk: number
  /** a receiver buffers at least this much of a burst (or room for 4 whole messages, if more) */
  announceReadBuffer: number
  /** a receiver closes its side of a stream whose sender finished within this */
  announceCloseTimeout: number
  /** opening an announce stream, writing one batch, or receiving the rest of a started message: each within this */
  announceTimeout: number
  /** content up to this size travels inside the announcement (no fetch round trip); larger content is fetched */
  announceInlineMax: number
  /** the sender closes its stream to a peer after this long with nothing to send */
  announceIdleClose: number
  /** the receiver drops a stream that brought no message for this long (well above announceIdleClose) */
  announceIdleTimeout: number
  /** records waiting for one peer, at most; beyond, the oldest are dropped (anti-entropy repairs) */
  announceQueueMax: number
  /**
   * A notice waits this long (±50%, one draw per version) after its version was stored
   * before it goes to a lazy peer.
   * By then the tree has usually brought the version to that peer too, and a peer that
   * had it first has said so with its own notice: such a peer is known to hold it and is
   * not told. So a lazy link carries about one notice per version instead of one each way
   * (9.4 → 5.3 notices sent per node per update at N = 25, docs/DECISIONS.md), and a burst
   * of updates shares one message per peer. Only notices wait: a full record, a GRAFT or
   * a PRUNE goes at once. The jitter breaks ties: two ends that got the version at the
   * same moment would otherwise both notify each other. Repair of a broken tree link
   * takes this (up to 1.5×) plus announceGraftTimeout.
   */
  announceIhaveDelay: number
  /** notices in one IHAVE message, at most (more go in the next message); above 256 (IHAVE_MAX, what a receiver takes) messages still split at 256 */
  announceIhaveMax: number
  /**
   * After the first notice of a version this node lacks, it waits this long for the full
   * record to come down the tree before it asks the notifier for it (GRAFT). Well above
   * one hop on a LAN or a loaded host (a notice itself waits announceIhaveDelay), well
   * below the sync interval that would repair it anyway.
   */
  announceGraftTimeout: number
  /** when a GRAFT brought nothing, the next notifier is asked after this long */
  announceGraftRetry: number
  /** notifiers remembered per missing version (each is asked in turn), at most */
  announceGraftMaxPeers: number
  /**
   * GRAFTs answered per peer: a burst of this many, then this many per second
   * (token bucket); the rest are not answered (the link still becomes eager; anti-entropy
   * repairs what a dropped GRAFT would have brought). Bounds the disk reads a peer causes.
   */
  announceGraftAnswerBurst: number
  announceGraftAnswersPerSecond: number
  /** missing versions waited for at once, at most; beyond, the oldest are forgotten (anti-entropy repairs) */
  announceMissingMax: number
  /** of those, at most this many first heard of from one notifier; beyond, its own oldest is forgotten */
  announceMissingPerPeer: number
  /**
   * The reshape flood (proto/tree.ts; docs/DECISIONS.md, "A reshape flood after cuts"):
   * a node that lost announceReshapeCuts links within announceReshapeCutWindow, the last
   * of them eager, wants its tree rebuilt and says so on its notices (announce/3.2.0); the
   * next version's origin, or a node within announceReshapeNearOrigin hops of it, that
   * wants one floods that version over every link, marked, and a node that stores a
   * marked new version floods it on. Each node floods at most once per
   * announceReshapeInterval (0: never), holding its copies announceReshapeHold ms.
   */
  announceReshapeInterval: number
  announceReshapeCuts: number
  announceReshapeCutWindow: number
  announceReshapeHold: number
  announceReshapeNearOrigin: number
}

/** Content fetches, asked and served (docs/PROTOCOLS.md §6): fetch.ts. */
export interface FetchSettings {
  /** the request frame is read, and the response header arrives, within this */
  fetchHeaderTimeout: number
  /** content must arrive at least this fast (bytes per second) ... */
  fetchMinRate: number
  /** ... plus this much slack: deadline = fetchHeaderTimeout + fetchSlack + size / fetchMinRate */
  fetchSlack: number
  /** peers tried for one content, at most (the announcer first) */
  fetchMaxAttempts: number
  /** content fetches in flight on this node, at most */
  fetchConcurrency: number
  /** versions whose other sources (peers that offered them) are remembered, at most */
  fetchHintsMax: number
  /** content is written in chunks of this many bytes */
  fetchChunk: number
  /** of the fetch slots, at most this many for namespace files (the rest stay free for configured files) */
  fetchNamespaceSlots: number
  /** fetches for versions one peer announced, running at once, at most (its share shrinks with its standing) */
  fetchPerPeerSlots: number
  /** ... and waiting, at most (its own oldest is dropped beyond) */
  fetchPerPeerQueue: number
  /**
   * a source that has sent nothing this long after it was asked is hedged: the same
   * version is asked of the next source in parallel, and the first to deliver wins
   */
  fetchHedgeDelay: number
  /** ... as is one that, after fetchHedgeDelay, delivers less than this many bytes per second since then (checked every 250 ms) */
  fetchHedgeRate: number
  /** fetch requests one peer may make: burst (more are answered "busy" until tokens come back) ... */
  fetchRequestBurst: number
  /** ... refilled at this many per second */
  fetchRequestsPerSecond: number
  /** fetches served at once to one peer, at most (more are answered "busy") */
  fetchServeMaxPerPeer: number
  /** fetches served at once in total, at most (more are answered "busy") */
  fetchServeMaxTotal: number
  /** a peer that takes none of the content for this long while it is served loses its slot (the stream is reset) */
  fetchServeStallTimeout: number
}

/** Anti-entropy (docs/PROTOCOLS.md §7): sync.ts. */
export interface SyncSettings {
  /** one sync exchange must finish within this (its whole budget: a large catch-up that keeps progressing may take it all) */
  syncTimeout: number
  /**
   * a sync peer that makes no progress for this long fails the round: it sends nothing
   * while this node waits for it (its first answer included), or reads nothing while this
   * node writes to it. The initiator's timer then starts a round with another peer at once.
   */
  syncStallTimeout: number
  /** a peer whose round (as initiator) failed is not picked by the sync timer for this long (a preference: no strike, no ban) ... */
  syncBackoff: number
  /** ... doubled per failure in a row, at most this long; forgotten once a round with it succeeds */
  syncBackoffMax: number
  /** records in one sync answer, at most */
  syncMaxRecords: number
  /** sync rounds one peer may ask this node to answer: burst (beyond, its request is closed unanswered) ... */
  syncAnswerBurst: number
  /** ... refilled one per this many ms */
  syncAnswerInterval: number
  /**
   * sync/5.0.0: the initiator keeps its stream to a peer open between rounds and closes it
   * after this long without one (the next round opens a new stream)
   */
  syncIdleClose: number
  /** sync/5.0.0: a responder drops a stream that has started no round for this long (longer than any initiator's syncIdleClose) */
  syncIdleTimeout: number
}

/**
 * Fair shares of the trust work (proto/fair-limiter.ts: per-peer queues served in turn,
 * configured files first): storing offered records, asking for their certificates, the
 * announce message budget; and a peer's standing (proto/standing.ts: announcing versions
 * and not serving them), which shrinks its shares; the turns of new versions per signer
 * (proto/signer-turns.ts: past a node-wide rate, signers in turn, the newest version per
 * name: a member flooding its own files gets only what is left).
 */
export interface FairnessSettings extends SignerTurnsSettings, FloodJudgeSettings {
  /** records from peers being stored at once, at most (the rest wait their turn, per peer) */
  offerConcurrency: number
  /** of those, namespace files at most (the rest stay free for configured files) */
  offerNamespaceSlots: number
  /** records from one peer being stored at once, at most (its share shrinks with its standing) */
  offerPerPeerSlots: number
  /** records from one peer waiting, at most; only the newest version of a name waits; beyond, its own oldest is dropped */
  offerPerPeerQueue: number
  /** certificates of namespace records being asked for at once (with a network), at most */
  certFetchConcurrency: number
  /** ... of them for records one peer sent, at most */
  certFetchPerPeerSlots: number
  /** ... and waiting, at most */
  certFetchPerPeerQueue: number
  /** FULL and IHAVE messages from one peer taken at once (burst) ... */
  announceMessageBurst: number
  /** ... and then this many per second; beyond, they are dropped unjudged (anti-entropy repairs) */
  announceMessagesPerSecond: number
  /**
   * New versions the broadcast tree brings, passed on and stored at once once verified,
   * node-wide (a full bucket; a node that keeps up passes everything as it comes) ...
   */
  newVersionBurst: number
  /**
   * ... and then this many per second; beyond, each waits for its signer's turn: one
   * version per token, the signer whose last turn is the longest ago first, only the
   * newest version of a name waiting (proto/signer-turns.ts). A member flooding its own
   * files gets what other signers leave; an honest update waits one token at most.
   */
  newVersionsPerSecond: number
  /** versions waiting for their signer's turn, at most (past it the oldest of the longest queue is dropped; anti-entropy brings its name back) */
  newVersionQueueMax: number
  /** names of one signer waiting for its turn, at most (past it, its own oldest is dropped) */
  newVersionPerSigner: number
  /** strikes (a version the peer announced and did not serve: not here, silent, too slow) at which its shares are halved, quartered at twice this */
  standingReduceAt: number
  /** strikes at which it is punished (penaltyDuration) */
  standingMaxStrikes: number
  /** one strike is forgiven per this long (and one per version it did serve) */
  standingForgiveAfter: number
}

/** Punishment (the penalty box, admission.ts) and admission by certificate (cert-admission.ts, record-cert.ts). */
export interface AdmissionSettings {
  /** a misbehaving peer is disconnected and refused (both directions) for this long */
  penaltyDuration: number
  /** penalties remembered, at most: above this, those that ran out are dropped */
  penaltyBoxMax: number
  /** a new connection must complete the certificate exchange within this, or it is closed */
  certTimeout: number
  /**
   * an inbound connection whose dialer has not proved a certificate this long after the
   * handshake is closed (the dialer sends it at once: a member needs one round trip)
   */
  certHandshakeTimeout: number
  /** inbound connections not yet verified, in total: past it the oldest one is closed (a member's exchange takes a round trip) */
  maxUnverified: number
  /** inbound connections not yet verified, per IP (IPv6: per /64): past it the IP's oldest one is closed */
  maxUnverifiedPerIp: number
  /** inbound streams per connection of the network-identity protocols (apart from maxInboundStreams: those run only with a network) */
  maxInboundCertStreams: { cert: number, recordCert: number }
}

/** Inbound streams per connection, per protocol (libp2p's handle() limits, index.ts). */
export interface StreamLimitSettings {
  maxInboundStreams: { announce: number, fetch: number, sync: number, peers: number }
}

/**
 * Every timing and limit of the mesh: the groups above together. Each component takes
 * the group(s) it reads; the keys are flat, so an override names a key alone
 * (`{ maintainInterval: 300 }`), as the tests, the simulator and docs/PROTOCOLS.md §11 do.
 */
export type MeshSettings = PeerSelectionSettings & ConnectionLimitSettings & TransportSettings &
  PeerExchangeSettings & AnnounceSettings & FetchSettings & SyncSettings & FairnessSettings &
  AdmissionSettings & StreamLimitSettings

export const DEFAULT_MESH_SETTINGS: MeshSettings = {
  targetPeers: 8,
  maxPeers: 16,
  trimGrace: 30_000,
  joinGrace: 10_000,
  joinLinger: 250,
  joinRetryMax: 4_000,
  maxConnections: 128,
  inboundConnectionThreshold: 1000,
  maxIncomingPendingConnections: 256,
  maxPendingHandshakes: 128,
  maxPendingPerIp: 32,
  maxStrangerConnections: 32,
  handshakeTimeout: 5_000,
  handshakeSlotGrace: 1_000,
  maxInboundPerIp: 24,
  maxConnectionsPerPeer: 3,
  dialTimeout: 10_000,
  maxParallelDials: 4,
  maintainInterval: 2_000,
  exploreInterval: 60_000,
  backoffBase: 1_000,
  backoffMax: 60_000,
  maxKnownPeers: 1_000,
  forgetAfter: 24 * 3_600_000,
  maxCandidatePeers: 64,
  learnedDialsPerMinute: 30,
  learnedDialBurst: 8,
  learnedAddrsPerDial: 4,
  pingInterval: 120_000,
  pingTimeout: 10_000,
  quicMaxIdleTimeout: 5_000,
  quicKeepAliveInterval: 1_500,
  yamuxKeepAliveInterval: 600_000,

  peerExchangeInterval: 30_000,
  peerExchangeBackoffMax: 8,
  peerExchangeMaxPeers: 32,
  peerExchangeMaxAddrs: 8,
  peerExchangeMaxBytes: 64 * 1024,
  peerExchangeTimeout: 10_000,

  announceBatch: 256,
  announceWriteChunk: 64 * 1024,
  announceReadBuffer: 1024 * 1024,
  announceCloseTimeout: 1_000,
  announceTimeout: 10_000,
  announceInlineMax: 64 * 1024,
  announceIdleClose: 60_000,
  announceIdleTimeout: 180_000,
  announceQueueMax: 4_096,
  announceIhaveDelay: 250,
  announceIhaveMax: 256,
  announceGraftTimeout: 250,
  announceGraftRetry: 150,
  announceGraftMaxPeers: 4,
  announceGraftAnswerBurst: 256,
  announceGraftAnswersPerSecond: 64,
  announceMissingMax: 4_096,
  announceMissingPerPeer: 256,
  announceReshapeInterval: 3_000,
  announceReshapeCuts: 2,
  announceReshapeCutWindow: 5_000,
  announceReshapeHold: 30,
  announceReshapeNearOrigin: 1,

  fetchHeaderTimeout: 10_000,
  fetchMinRate: 256 * 1024,
  fetchSlack: 10_000,
  fetchMaxAttempts: 8,
  fetchConcurrency: 8,
  fetchHintsMax: 4_096,
  fetchChunk: 64 * 1024,
  fetchNamespaceSlots: 4,
  fetchPerPeerSlots: 2,
  fetchPerPeerQueue: 4_096,
  fetchHedgeDelay: 1_000,
  fetchHedgeRate: 512 * 1024,
  fetchRequestBurst: 64,
  fetchRequestsPerSecond: 32,
  fetchServeMaxPerPeer: 2,
  fetchServeMaxTotal: 32,
  fetchServeStallTimeout: 10_000,

  syncTimeout: 30_000,
  syncStallTimeout: 5_000,
  syncBackoff: 30_000,
  syncBackoffMax: 480_000,
  syncMaxRecords: 65_536,
  syncAnswerBurst: 4,
  syncAnswerInterval: 2_000,
  syncIdleClose: 120_000,
  syncIdleTimeout: 360_000,

  offerConcurrency: 16,
  offerNamespaceSlots: 8,
  offerPerPeerSlots: 4,
  offerPerPeerQueue: 4_096,
  certFetchConcurrency: 4,
  certFetchPerPeerSlots: 1,
  certFetchPerPeerQueue: 256,
  announceMessageBurst: 512,
  announceMessagesPerSecond: 64,
  newVersionBurst: 128,
  newVersionsPerSecond: 5,
  newVersionQueueMax: 1_024,
  newVersionPerSigner: 64,
  // the judgement of flooders by their own rate (0: no version is a quick supersede, the
  // judgement is off: FLOOD_JUDGE_OFF below); docs/DECISIONS.md "Flooders judged by their
  // own rate", "The judgement of flooders: a suspect's notices go on; members only" and
  // "The judgement of flooders on: a burst's last version is stable"
  floodQuickGap: 1_500,
  floodBurst: 3,
  floodQuickEvery: 2_000,
  floodSustain: 5_000,
  floodJudgeAfter: 15_000,
  floodKeptEvery: 15_000,

  standingReduceAt: 2,
  standingMaxStrikes: 6,
  standingForgiveAfter: 30_000,

  penaltyDuration: 5 * 60_000,
  penaltyBoxMax: 10_000,

  certTimeout: 10_000,
  certHandshakeTimeout: 2_000,
  maxUnverified: 16,
  maxUnverifiedPerIp: 4,
  maxInboundCertStreams: { cert: 2, recordCert: 4 },

  maxInboundStreams: { announce: 4, fetch: 8, sync: 2, peers: 2 }
}

/**
 * The judgement of flooders by their own rate (proto/flood-judge.ts) turned off, as the
 * simulator's flood test runs it to show what the judgement is worth (the CPU per node
 * per update more than twice as high without it).
 */
export const FLOOD_JUDGE_OFF: Pick<MeshSettings, 'floodQuickGap'> = { floodQuickGap: 0 }

/** Protocol ids (docs/PROTOCOLS.md). */
export const PROTOCOLS = {
  /** with hop counts and the reshape flood's mark and want (proto/tree.ts); offered first, then 3.1.0, then 3.0.0 for older peers */
  announceReshape: '/data-mesher/announce/3.2.0',
  /** with hop counts (the tree's shape, proto/tree.ts) */
  announceHops: '/data-mesher/announce/3.1.0',
  announce: '/data-mesher/announce/3.0.0',
  fetch: '/data-mesher/fetch/2.0.0',
  /** rounds in sequence on one long-lived stream per peer and direction; asked for first, sync/4.0.0 for older peers */
  syncStream: '/data-mesher/sync/5.0.0',
  /** one round per stream */
  sync: '/data-mesher/sync/4.0.0',
  peers: '/data-mesher/peers/1.0.0',
  /** the certificate exchange of admission by certificate (src/mesh/cert-admission.ts) */
  cert: '/data-mesher/cert/1.0.0',
  /** the certificate that came with a namespace record (src/mesh/record-cert.ts) */
  recordCert: '/data-mesher/record-cert/1.0.0'
} as const

/** A frame that carries one record is at most this long. */
export const MAX_RECORD_FRAME = MAX_RECORD_BYTES

/** ±fraction jitter: jitter(1000, 0.2) is uniform in [800, 1200]. */
export function jitter (ms: number, fraction: number): number {
  return jitterWith(Math.random, ms, fraction)
}
