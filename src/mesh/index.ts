// The mesh: wires the libp2p node, membership, peer exchange, the broadcast tree
// (announce), content fetch and anti-entropy (sync) to the replica, and does nothing
// else. The receive path (what happens to a record a peer sent) is receive.ts; every
// component gets the one shared context (context.ts) and the replica through its port
// (replica-port.ts). The mesh never writes files.
import type { Connection, PeerId, StreamHandler } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import type { NetworkIdentity } from '../config/network.js'
import type { CertificateBook } from '../store/certificate-book.js'
import type { Change } from '../store/replica.js'
import { Admission, allowedPeerIds } from './admission.js'
import { parseBootstrap } from './addresses.js'
import type { ConnectionLimits } from './connection-limits.js'
import { Announcer, announceProtocols, type AnnounceCounters } from './announce.js'
import { CertificateGate } from './cert-admission.js'
import type { MeshContext } from './context.js'
import { Fetcher, type FetchCounters } from './fetch.js'
import { loadIdentity, type NodeIdentity } from './identity.js'
import { KnownMembers } from './known-members.js'
import { answerGraft, judgeNotice } from './local-versions.js'
import { Membership } from './membership.js'
import { connectedPeers, connectionLimitCounters, createNode, type MeshLibp2p } from './node.js'
import { Liveness } from './liveness.js'
import { rttMeasuredAtOpen } from './open-rtt.js'
import { PeerExchange } from './peer-exchange.js'
import { PeerTracker, type PeerStatus } from './peer-status.js'
import { LinkEnds } from './link-ends.js'
import { Receiver, type OfferCounters } from './receive.js'
import { RecordCertificates } from './record-cert.js'
import type { ReplicaPort } from './replica-port.js'
import { PROTOCOLS, type MeshSettings } from './settings.js'
import { changedSettings, meshSettingsFor } from './profiles.js'
import { standingFor } from './proto/standing.js'
import { Syncer, type SyncCounters } from './sync.js'
import type { FairStats } from './proto/fair-limiter.js'

export { DEFAULT_MESH_SETTINGS, PROTOCOLS, type MeshSettings } from './settings.js'
export { MESH_PROFILES, meshSettingsFor, type MeshProfile } from './profiles.js'
export { readIdentity, loadIdentity, loadOrCreateIdentity, identityPath, type NodeIdentity } from './identity.js'
export { snapshot as indexSnapshot } from './sync.js'
export type { PeerStatus } from './peer-status.js'
export type { ReplicaPort } from './replica-port.js'

export interface MeshOptions {
  config: Config
  /** the node's replica (src/store/replica.ts fits the port) */
  replica: ReplicaPort
  log: Logger
  /** overrides of the protocol timings and limits (tests), on top of config.cluster.profile's */
  settings?: Partial<MeshSettings>
  /** the node identity; default: loaded (or created) from the config */
  identity?: NodeIdentity
  /** the network identity (src/config/network.ts); undefined = no admission by certificate */
  network?: NetworkIdentity
  /** with a network: the certificates that travel with namespace records */
  certificates?: CertificateBook
  /** with a network: identity keys (base64) on the network's revocation list, refused from the first connection */
  revoked?: ReadonlySet<string>
  /**
   * the announce protocol ids this node handles and offers (default: all, announce/3.2.0,
   * 3.1.0 and 3.0.0); fewer stand for an older release in a mixed fleet (tests). Not a
   * setting of the config: the daemon speaks every version it has.
   */
  announceProtocols?: readonly string[]
}

/** A connected peer, with the certificate it proved (with a network; 0 and "" otherwise). */
export interface MeshPeer extends PeerStatus {
  certificateNotAfter: number
  certificateName: string
}

export interface MeshStatus {
  peerId: string
  /** the identity public key, standard base64 (what allowed_nodes takes) */
  publicKey: string
  /** listen addresses, each ending in /p2p/<peerId> */
  addresses: string[]
  /** the verified peers: admitted and identified (with a network, certificate checked) */
  peers: MeshPeer[]
  /** connected and not (yet) verified: proving a certificate, or about to be closed (status) */
  unverified: MeshPeer[]
}

export interface MeshStats {
  fetch: FetchCounters
  announce: AnnounceCounters
  sync: SyncCounters
  peers: { known: number, candidates: number, members: number, dials: number, dialFailures: number, learnedDials: number, strangerListsIgnored: number, trimmed: number, guestsReleased: number, guestsServed: number, penalized: number }
  offers: OfferCounters
  /** connections refused or closed by the per-IP and per-peer limits (connection-limits.ts) */
  connections: ConnectionLimits['counters']
  /** peer exchange (peer-exchange.ts): lists asked for, asked for by peers and answered, addresses learned; the timer's backoff (1: at peerExchangeInterval) */
  peerExchange: { asked: number, answered: number, learned: number, backoff: number }
  /** pings of silent TCP connections (liveness.ts), and of those the ones that failed and closed their connection */
  liveness: Liveness['counters']
  /** certificates of namespace records (record-cert.ts; absent without a network) */
  recordCerts?: { fetched: number, missing: number, served: number, unusable: number }
  /** peers punished (disconnected and refused a while), by the kind of misbehaviour: the reason up to its first ':' as a key */
  punishments: Record<string, number>
  /** the fair shares (fair-limiter.ts): records being stored and fetches, running and waiting; the longest queue of one peer */
  queues: { storingRunning: number, storingWaiting: number, fetchRunning: number, fetchWaiting: number, longestPeerQueue: number }
  /** admission by certificate (absent without a network) */
  certificates?: { verified: number, refusedInbound: number, refusedOutbound: number, expired: number, unverifiedClosed: number, renewalsSent: number, renewalsFailed: number, revoked: number }
}

const snake = (s: string): string => s.replace(/[A-Z]/g, c => '_' + c.toLowerCase())

/** MeshStats as flat counters for the API: { "announce.full_sent": 3, "fetch.fetched_bytes": 1024, ... }. */
export function flattenStats (stats: MeshStats): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [group, values] of Object.entries(stats)) {
    for (const [k, v] of Object.entries(values as Record<string, number>)) {
      out[`${snake(group)}.${snake(k)}`] = v
    }
  }
  return out
}

export interface Mesh {
  readonly peerId: string
  status: () => MeshStatus
  stats: () => MeshStats
  /** This node's eager and lazy links in the broadcast tree (tests, diagnostics). */
  links: () => { eager: string[], lazy: string[] }
  /** Runs one anti-entropy round with every connected peer now (tests, and after a config reload). */
  syncNow: () => Promise<void>
  /** this node's certificate or the accepted networks changed (issue 19): admission follows, peers are shown the renewed certificate */
  renewNetwork: (next: NetworkIdentity) => void
  /** the network's revocation list changed (issue 19): these identity keys (base64) are refused and disconnected */
  setRevoked: (keys: ReadonlySet<string>) => void
  /** The libp2p node (tests and diagnostics). */
  readonly libp2p: MeshLibp2p
  stop: () => Promise<void>
}

/** Peers with an open connection that are not among `verified`, each with its oldest connection. */
function unverifiedPeers (libp2p: MeshLibp2p, verified: Set<string>): MeshPeer[] {
  const oldest = new Map<string, Connection>()
  for (const c of libp2p.getConnections()) {
    const id = c.remotePeer.toString()
    if (verified.has(id)) continue
    const o = oldest.get(id)
    if (o === undefined || c.timeline.open < o.timeline.open) oldest.set(id, c)
  }
  return [...oldest.entries()].sort(([a], [b]) => a < b ? -1 : 1).map(([peerId, c]) => ({
    peerId, address: c.remoteAddr.toString(), since: c.timeline.open, latencyMs: 0, certificateNotAfter: 0, certificateName: ''
  }))
}

/** A punishment's reason as a bounded key: the text before its first ':' or '(' (the details after it vary), in snake case. */
export function punishmentKind (reason: string): string {
  return reason.split(/[:(]/)[0].trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'other'
}

function queueStats (storing: FairStats, fetching: FairStats): MeshStats['queues'] {
  return {
    storingRunning: storing.running,
    storingWaiting: storing.waiting,
    fetchRunning: fetching.running,
    fetchWaiting: fetching.waiting,
    longestPeerQueue: Math.max(0, ...Object.values(storing.depth), ...Object.values(fetching.depth))
  }
}

export async function startMesh (opts: MeshOptions): Promise<Mesh> {
  const { config, replica } = opts
  const profile = config.cluster.profile ?? 'default'
  const settings: MeshSettings = meshSettingsFor(profile, opts.settings)
  const announceIds = announceProtocols(opts.announceProtocols)
  const log = opts.log.child({ component: 'mesh' })
  const identity = opts.identity ?? await loadIdentity(config)
  const self = identity.peerId.toString()
  const admission = new Admission(config.cluster.allowedNodes, self, Date.now, settings.penaltyBoxMax)
  const bootstrap = config.cluster.bootstrapNodes.map(b => parseBootstrap(b, config.cluster.transports))
  // members keep their slots, and only their addresses are dialed (known-members.ts)
  const allowed = config.cluster.allowedNodes.length > 0 ? allowedPeerIds(config.cluster.allowedNodes) : undefined
  const members = new KnownMembers(allowed, bootstrap.map(b => b.peerId), settings.maxKnownPeers)
  // the start's phases at debug level: a start that once hung after "store opened" (under
  // load, tests/crash) is to say where it stopped
  log.debug({ transports: config.cluster.transports }, 'creating the libp2p node')
  const libp2p = await createNode(config, identity, admission, settings, p => members.has(p))
  log.debug('libp2p node created')
  const punishments: Record<string, number> = {}
  const ctx: MeshContext = {
    libp2p,
    settings,
    log,
    admits: p => admission.admits(p),
    punish: (peer, reason) => {
      if (admission.isPenalized(peer)) return
      admission.penalize(peer, settings.penaltyDuration)
      const kind = punishmentKind(reason)
      punishments[kind] = (punishments[kind] ?? 0) + 1
      log.warn({ peer: peer.toString(), reason, forMs: settings.penaltyDuration }, 'peer misbehaved: disconnected and refused for a while')
      libp2p.hangUp(peer).catch(() => {})
    }
  }
  // admission by certificate: installed before any handler, so none runs for an unverified peer
  const gate = opts.network !== undefined ? new CertificateGate(ctx, opts.network, Date.now, members) : undefined
  if (gate !== undefined) {
    gate.install()
    if (opts.revoked !== undefined) gate.setRevoked(opts.revoked)
    admission.requireCertificate(p => gate.isVerified(p))
  }
  const guard = (h: StreamHandler): StreamHandler => gate?.guard(h) ?? h

  // whether peers serve what they announce: shrinks their fair shares, and punishes at the end (standing.ts)
  const standing = standingFor(settings, Date.now)
  const fetcher = new Fetcher(ctx, replica, standing)
  const receiver = new Receiver(ctx, replica, fetcher, standing)
  // a namespace record under a network is judged with its certificate: fetched from the sender first
  const recordCerts = opts.network !== undefined && opts.certificates !== undefined ? new RecordCertificates(ctx, opts.certificates, standing) : undefined
  const offer = recordCerts?.beforeOffer(receiver.offer, replica) ?? receiver.offer
  const announcer = new Announcer(ctx, {
    onRecord: offer,
    judgeNotice: judgeNotice(replica, name => receiver.incoming(name), name => receiver.waiting(name), r => receiver.floods(r)),
    forGraft: answerGraft(replica, settings.announceInlineMax)
  }, announceIds)
  receiver.forwardTo(announcer)
  const syncer = new Syncer(ctx, replica, config.cluster.syncInterval, (records, from) => { for (const r of records) offer(r, from, undefined, 'sync') })
  const peerExchange = new PeerExchange(ctx)
  const liveness = new Liveness(ctx)
  // whether a peer's link was lost or hung up: only lost ones count towards a reshape flood (link-ends.ts)
  const linkEnds = new LinkEnds(libp2p)
  const tracker = new PeerTracker(ctx, peer => {
    announcer.dropPeer(peer, linkEnds.lost(peer))
    const id = peer.toString()
    receiver.dropPeer(id)
    fetcher.dropPeer(id)
    recordCerts?.dropPeer(id)
  }, peer => announcer.addPeer(peer))
  let stopped = false

  const onConnected = (peer: PeerId, conn: Connection): void => {
    if (membership.vouches(peer)) void peerExchange.ask(peer) // a stranger's peer list would not be used
    // the latency status shows: Yamux measured it as the connection opened (open-rtt.ts); QUIC has no Yamux
    if (!rttMeasuredAtOpen(conn)) libp2p.services.ping.ping(peer, { signal: AbortSignal.timeout(settings.peerExchangeTimeout) }).then(ms => { conn.rtt = ms }, () => {})
    if (conn.direction === 'outbound') void syncer.syncWith(peer)
  }
  // membership dials and remembers peers it may connect to; what follows a new connection waits for its certificate
  const membership = new Membership(ctx, {
    bootstrap,
    members,
    mayConnect: p => admission.mayConnect(p),
    onConnected: (peer: PeerId, conn: Connection) => {
      if (gate !== undefined && !gate.isVerified(peer)) {
        void gate.waitVerified(peer).then(ok => { if (ok && !stopped) onConnected(peer, conn) })
        return
      }
      onConnected(peer, conn)
    }
  })

  const onChange = (c: Change): void => {
    if (c.kind === 'revoked' || c.origin === 'timer') return // every node does these on its own
    const from = c.origin.startsWith('peer:') ? c.origin.slice(5) : undefined
    fetcher.forget(c.record)
    if (from !== undefined && !receiver.passOn(c.record)) return // a judged flooder's version (receive.ts): anti-entropy spreads it
    // made here: hop 0; a flooding signer's version (receive.ts): no notices
    announcer.broadcast(c.record, c.content, from, c.origin === 'api' ? 0 : undefined, from !== undefined && receiver.quiet(c.record))
  }

  const s = settings.maxInboundStreams
  await libp2p.handle([...announcer.protocols], guard(announcer.handle), { maxInboundStreams: s.announce })
  await libp2p.handle(PROTOCOLS.fetch, guard(fetcher.handle), { maxInboundStreams: s.fetch })
  await libp2p.handle([PROTOCOLS.syncStream, PROTOCOLS.sync], guard(syncer.handle), { maxInboundStreams: s.sync })
  await libp2p.handle(PROTOCOLS.peers, guard(peerExchange.handle), { maxInboundStreams: s.peers })
  if (gate !== undefined) await libp2p.handle(PROTOCOLS.cert, gate.handle, { maxInboundStreams: settings.maxInboundCertStreams.cert })
  if (recordCerts !== undefined) await libp2p.handle(PROTOCOLS.recordCert, guard(recordCerts.handle), { maxInboundStreams: settings.maxInboundCertStreams.recordCert })
  linkEnds.start()
  tracker.start()
  peerExchange.start((peers, from) => membership.learn(peers, from), p => membership.vouches(p), p => membership.served(p), () => membership.short())

  log.debug('starting libp2p (listening)')
  await libp2p.start()
  log.debug({ listening: libp2p.getMultiaddrs().map(String) }, 'libp2p started')
  const unsubscribe = replica.onChange(onChange)
  membership.start()
  syncer.start()
  liveness.start()

  log.info({ peerId: self, addresses: libp2p.getMultiaddrs().map(String), bootstrap: config.cluster.bootstrapNodes, admission: admission.restricted, profile, changed: changedSettings(settings) }, 'mesh started')

  return {
    peerId: self,
    libp2p,
    links: () => announcer.links(),
    status: (): MeshStatus => {
      const peers = tracker.peers().map(p => {
        const cert = gate?.certificateOf(p.peerId)
        return { ...p, certificateNotAfter: cert?.notAfter ?? 0, certificateName: cert?.name ?? '' }
      })
      return { peerId: self, publicKey: identity.publicKey, addresses: libp2p.getMultiaddrs().map(String), peers, unverified: unverifiedPeers(libp2p, new Set(peers.map(p => p.peerId))) }
    },
    stats: (): MeshStats => ({
      fetch: { ...fetcher.counters },
      announce: { ...announcer.counters },
      sync: { ...syncer.counters },
      peers: { known: membership.knownPeers(), candidates: membership.candidatePeers(), members: members.learntCount, ...membership.counters, penalized: admission.penalized().length },
      offers: { ...receiver.counters },
      connections: { ...connectionLimitCounters(libp2p) },
      punishments: { ...punishments },
      peerExchange: { ...peerExchange.counters, backoff: peerExchange.backoff },
      liveness: { ...liveness.counters },
      ...(recordCerts !== undefined ? { recordCerts: { ...recordCerts.counters } } : {}),
      queues: queueStats(receiver.queue(), fetcher.queue()),
      ...(gate !== undefined ? { certificates: { ...gate.counters } } : {})
    }),
    renewNetwork (next: NetworkIdentity): void { gate?.renew(next) },
    setRevoked (keys: ReadonlySet<string>): void { gate?.setRevoked(keys) },
    async syncNow (): Promise<void> {
      await Promise.all(connectedPeers(libp2p).filter(ctx.admits).map(async p => await syncer.syncWith(p)))
    },
    async stop (): Promise<void> {
      if (stopped) return
      stopped = true
      const draining = receiver.stop() // offers nothing more from now; the records being stored finish
      unsubscribe()
      peerExchange.stop()
      liveness.stop()
      membership.stop()
      syncer.stop()
      recordCerts?.stop()
      announcer.stop()
      gate?.stop()
      tracker.stop()
      linkEnds.stop()
      await libp2p.stop()
      await draining
      log.info('mesh stopped')
    }
  }
}
