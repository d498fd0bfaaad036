// The mesh: wires the libp2p node, membership, peer exchange, the broadcast tree (announce),
// content fetch and anti-entropy (sync) to the replica. It never writes files: every
// record a peer sends is offered to replica.submit(), which decides through the rule.
import type { Connection, PeerId, StreamHandler } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import type { NetworkIdentity } from '../config/network.js'
import type { SignedRecord } from '../crypto/record.js'
import { compareVersions, triage, verifyContent } from '../rule/which-version-wins.js'
import type { Change, Replica, SubmitResult } from '../store/replica.js'
import { Admission } from './admission.js'
import { parseBootstrap } from './addresses.js'
import { Announcer, type AnnounceCounters, type Arrival } from './announce.js'
import { CertificateGate } from './cert-admission.js'
import { RecordCertificates } from './record-cert.js'
import type { CertificateBook } from '../store/certificate-book.js'
import { Fetcher, Limiter, shuffle, type FetchCounters } from './fetch.js'
import { loadIdentity, type NodeIdentity } from './identity.js'
import { answerGraft, judgeNotice } from './local-versions.js'
import { Membership } from './membership.js'
import { createNode, type MeshLibp2p } from './node.js'
import { PeerExchange } from './peer-exchange.js'
import { DEFAULT_MESH_SETTINGS, PROTOCOLS, jitter, type MeshSettings } from './settings.js'
import { Syncer } from './sync.js'

export { DEFAULT_MESH_SETTINGS, PROTOCOLS, type MeshSettings } from './settings.js'
export { readIdentity, loadIdentity, loadOrCreateIdentity, identityPath, type NodeIdentity } from './identity.js'
export { snapshot as indexSnapshot } from './sync.js'

export interface MeshOptions {
  config: Config
  replica: Replica
  log: Logger
  /** overrides of the protocol timings and limits (tests) */
  settings?: Partial<MeshSettings>
  /** the node identity; default: loaded (or created) from the config */
  identity?: NodeIdentity
  /** the network identity (src/config/network.ts); undefined = no admission by certificate */
  network?: NetworkIdentity
  /** with a network: the certificates that travel with namespace records */
  certificates?: CertificateBook
}

/** A connected peer: one whose connection completed identify (a refused handshake is not a peer). */
export interface PeerStatus {
  peerId: string
  /** remote address of the (oldest) connection */
  address: string
  /** when that connection opened, unix ms */
  since: number
  /** round trip of the last ping (one runs on connect, then every pingInterval); 0 until the first completes */
  latencyMs: number
}

export interface MeshStatus {
  peerId: string
  /** the identity public key, standard base64 (what allowed_nodes takes) */
  publicKey: string
  /** listen addresses, each ending in /p2p/<peerId> */
  addresses: string[]
  peers: PeerStatus[]
}

export interface MeshStats {
  fetch: FetchCounters
  announce: AnnounceCounters
  sync: { rounds: number, equal: number, exchanged: number, recordsReceived: number, recordsSent: number, failed: number }
  peers: { known: number, candidates: number, dials: number, dialFailures: number, learnedDials: number, trimmed: number, penalized: number }
  offers: { accepted: number, held: number, ignored: number, refused: number, failed: number }
  /** admission by certificate (absent without a network) */
  certificates?: { verified: number, refusedInbound: number, refusedOutbound: number, expired: number }
}

/** MeshStats as flat counters for the API: { "announce.full_sent": 3, "fetch.fetched_bytes": 1024, ... }. */
export function flattenStats (stats: MeshStats): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [group, values] of Object.entries(stats)) {
    for (const [k, v] of Object.entries(values as Record<string, number>)) {
      out[`${group}.${k.replace(/[A-Z]/g, c => '_' + c.toLowerCase())}`] = v
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
  /** The libp2p node (tests and diagnostics). */
  readonly libp2p: MeshLibp2p
  stop: () => Promise<void>
}

/**
 * Refusals that mean the peer sent something no honest node would. Config skew during a
 * rollout ('not-configured', 'not-signer', 'too-large') is not one, and 'bad-content' is
 * punished by the fetcher, against the peer that served the bytes (not the announcer).
 */
const PUNISHABLE = new Set(['bad-signature'])

export async function startMesh (opts: MeshOptions): Promise<Mesh> {
  const { config, replica } = opts
  const settings: MeshSettings = { ...DEFAULT_MESH_SETTINGS, ...opts.settings }
  const log = opts.log.child({ component: 'mesh' })
  const identity = opts.identity ?? await loadIdentity(config)
  const self = identity.peerId.toString()
  const admission = new Admission(config.cluster.allowedNodes, self)
  const bootstrap = config.cluster.bootstrapNodes.map(b => parseBootstrap(b, config.cluster.transports))
  const libp2p = await createNode(config, identity, admission, settings)
  // admission by certificate: installed before any handler, so none runs for an unverified peer
  const gate = opts.network !== undefined ? new CertificateGate(libp2p, opts.network, settings, log) : undefined
  if (gate !== undefined) {
    gate.install()
    admission.requireCertificate(p => gate.isVerified(p))
  }
  const admits = (p: PeerId | string): boolean => admission.admits(p)
  const guard = (h: StreamHandler): StreamHandler => gate?.guard(h) ?? h

  const punish = (peer: PeerId, reason: string): void => {
    if (admission.isPenalized(peer)) return
    admission.penalize(peer, settings.penaltyDuration)
    log.warn({ peer: peer.toString(), reason, forMs: settings.penaltyDuration }, 'peer misbehaved: disconnected and refused for a while')
    libp2p.hangUp(peer).catch(() => {})
  }

  const offers = { accepted: 0, held: 0, ignored: 0, refused: 0, failed: 0 }
  /** records being stored, by name and signature; `provide` hands a waiting fetch content that arrived inline meanwhile */
  const offering = new Map<string, { record: SignedRecord, done: Promise<void>, provide: (content: Uint8Array) => void }>()
  let stopped = false

  const fetcher = new Fetcher(libp2p, replica, settings, log, punish, admits)
  const offerLimiter = new Limiter(settings.offerConcurrency)

  /**
   * Offers a record a peer sent to the replica. `content` is what came inline with an
   * announcement; otherwise content is fetched, and only once the record passed the rule.
   * Says whether the record was new here or a duplicate (for the broadcast tree).
   */
  const offer = (record: SignedRecord, from: PeerId, content?: Uint8Array): Arrival => {
    if (stopped || !admits(from)) return 'dropped' // e.g. the rest of a sync batch from a peer just punished
    // Judged here first, record only (signature included, ~50 µs), so that only records
    // that would be accepted or held wait for a turn: junk, config skew and replays are
    // dropped at once and cannot queue up ahead of honest updates. The replica judges the
    // same objects again under its lock, for ordering only: what was verified here is not
    // verified again.
    const current = replica.get(record.name)
    const policy = replica.getPolicy()
    const verdict = triage(record, current, replica.getHeld(record.name), replica.getFloor(record.name), policy, replica.clock())
    if (verdict.action === 'ignore') {
      if (verdict.why === 'below-floor') return 'dropped'
      // The sender holds that version (or a newer one), so it is not sent what it already
      // has. Only a current version counts: the announcer sends current versions, and a
      // held one must not stand for them.
      if (current !== undefined && compareVersions(record, current) <= 0) announcer.markKnown(from, record)
      return 'duplicate'
    }
    if (verdict.action === 'refuse') {
      offers.refused++
      if (PUNISHABLE.has(verdict.code)) punish(from, `sent a record that fails verification: ${verdict.reason}`)
      return 'dropped'
    }
    // verified and for a configured name
    if (verdict.action === 'accept') announcer.markKnown(from, record)
    const checked = content !== undefined ? verifyContent(record, content) : undefined
    if (checked !== undefined && 'problem' in checked) {
      punish(from, `sent inline content that does not match its record: ${checked.problem}`)
      return 'dropped'
    }
    if (content === undefined) fetcher.hint(record, from) // another source, should the first fail
    // Signature and content verified, and newer than ours: pass it on now, while it is
    // being written here (the store's fsyncs are not on the path to the next hop).
    const forward = content !== undefined && verdict.action === 'accept'
    const key = `${record.name}\0${Buffer.from(record.signature).toString('hex')}`
    const inFlight = offering.get(key)
    if (inFlight !== undefined) {
      // already on its way in; if it waits for a fetch (from a slow or lying announcer),
      // content that came inline from another peer ends the wait
      if (content !== undefined) inFlight.provide(content)
      if (forward) announcer.broadcast(record, content, from.toString())
      return 'duplicate'
    }
    if (forward) announcer.broadcast(record, content, from.toString())
    let provide: (c: Uint8Array) => void = () => {}
    const arrived = new Promise<Uint8Array>(resolve => { provide = resolve })
    const source = content ?? (async (r: SignedRecord) => await Promise.race([fetcher.fetch(r, from), arrived]))
    const p = offerLimiter.run(async () => stopped || !admits(from) ? undefined : await replica.submit(record, source, `peer:${from.toString()}`))
      .then((result: SubmitResult | undefined) => {
        if (result === undefined) return
        offers[result.outcome === 'accepted' ? 'accepted' : result.outcome]++
        if (result.outcome === 'refused') {
          if (PUNISHABLE.has(result.code)) punish(from, `sent a record that fails verification: ${result.reason}`)
          else log.debug({ peer: from.toString(), name: record.name, code: result.code }, 'record from peer refused (config skew?)')
        }
      }, (err: Error) => {
        offers.failed++
        log.debug({ peer: from.toString(), name: record.name, err: err.message }, 'could not take record from peer')
      })
      .finally(() => { offering.delete(key) })
    offering.set(key, { record, done: p, provide })
    return 'new'
  }

  // a namespace record under a network is judged with its certificate: fetched from the sender first
  const recordCerts = opts.network !== undefined && opts.certificates !== undefined ? new RecordCertificates(libp2p, opts.certificates, settings, log, punish) : undefined
  const offerWithCertificate = recordCerts?.beforeOffer(offer, replica) ?? offer

  const announcer = new Announcer(libp2p, settings, log, punish, admits, {
    onRecord: offerWithCertificate,
    judgeNotice: judgeNotice(replica, () => [...offering.values()].map(o => o.record)),
    forGraft: answerGraft(replica, settings.announceInlineMax)
  })
  const syncer = new Syncer(libp2p, replica, settings, config.cluster.syncInterval, log, punish, admits,
    (records, from) => { for (const r of records) offerWithCertificate(r, from) })
  // membership dials and remembers peers it may connect to; what follows a new connection waits for its certificate
  const membership = new Membership(libp2p, bootstrap, settings, log, p => admission.mayConnect(p), (peer: PeerId, conn: Connection) => {
    if (gate !== undefined && !gate.isVerified(peer)) {
      void gate.waitVerified(peer).then(ok => { if (ok && !stopped) onConnected(peer, conn) })
      return
    }
    onConnected(peer, conn)
  })
  const onConnected = (peer: PeerId, conn: Connection): void => {
    void peerExchange.ask(peer)
    libp2p.services.ping.ping(peer, { signal: AbortSignal.timeout(settings.peerExchangeTimeout) }).then(ms => { conn.rtt = ms }, () => {})
    if (conn.direction === 'outbound') void syncer.syncWith(peer)
  }
  const peerExchange = new PeerExchange(libp2p, settings, log, punish, admits, peers => membership.learn(peers))

  const onChange = (c: Change): void => {
    if (c.kind === 'revoked' || c.origin === 'timer') return // every node does these on its own
    const from = c.origin.startsWith('peer:') ? c.origin.slice(5) : undefined
    fetcher.forget(c.record)
    announcer.broadcast(c.record, c.content, from)
  }

  const s = settings.maxInboundStreams
  await libp2p.handle(PROTOCOLS.announce, guard(announcer.handle), { maxInboundStreams: s.announce })
  await libp2p.handle(PROTOCOLS.fetch, guard(fetcher.handle), { maxInboundStreams: s.fetch })
  await libp2p.handle(PROTOCOLS.sync, guard(syncer.handle), { maxInboundStreams: s.sync })
  await libp2p.handle(PROTOCOLS.peers, guard(peerExchange.handle), { maxInboundStreams: s.peers })
  if (gate !== undefined) await libp2p.handle(PROTOCOLS.cert, gate.handle, { maxInboundStreams: settings.maxInboundCertStreams.cert })
  if (recordCerts !== undefined) await libp2p.handle(PROTOCOLS.recordCert, guard(recordCerts.handle), { maxInboundStreams: settings.maxInboundCertStreams.recordCert })
  // A peer counts (in status) once identify ran on its connection: a node that refuses us
  // (allowed_nodes, penalty) closes the connection right after the handshake, before that.
  const identified = new Set<string>()
  const onIdentify = (evt: CustomEvent<{ peerId: PeerId }>): void => {
    if (libp2p.getConnections(evt.detail.peerId).length > 0) identified.add(evt.detail.peerId.toString())
  }
  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    identified.delete(evt.detail.toString())
    announcer.dropPeer(evt.detail)
  }
  libp2p.addEventListener('peer:identify', onIdentify)
  libp2p.addEventListener('peer:disconnect', onDisconnect)

  await libp2p.start()
  const unsubscribe = replica.onChange(onChange)
  membership.start()
  syncer.start()

  let pexTimer: NodeJS.Timeout | undefined
  const pexLoop = (): void => {
    pexTimer = setTimeout(() => {
      const peer = shuffle(libp2p.getPeers().filter(admits))[0]
      void (peer === undefined ? Promise.resolve() : peerExchange.ask(peer)).finally(() => { if (!stopped) pexLoop() })
    }, jitter(settings.peerExchangeInterval, 0.2))
    pexTimer.unref()
  }
  pexLoop()

  log.info({ peerId: self, addresses: libp2p.getMultiaddrs().map(String), bootstrap: config.cluster.bootstrapNodes, admission: admission.restricted }, 'mesh started')

  return {
    peerId: self,
    libp2p,
    links: () => announcer.links(),
    status (): MeshStatus {
      const peers: PeerStatus[] = []
      for (const p of libp2p.getPeers()) {
        if (!identified.has(p.toString()) || !admits(p)) continue
        // a copy: getConnections() returns libp2p's own list, which must not be reordered
        const conns = [...libp2p.getConnections(p)].sort((a, b) => a.timeline.open - b.timeline.open)
        const c = conns[0]
        if (c === undefined) continue
        peers.push({ peerId: p.toString(), address: c.remoteAddr.toString(), since: c.timeline.open, latencyMs: Math.round(c.rtt ?? 0) })
      }
      peers.sort((a, b) => a.peerId < b.peerId ? -1 : 1)
      return { peerId: self, publicKey: identity.publicKey, addresses: libp2p.getMultiaddrs().map(String), peers }
    },
    stats (): MeshStats {
      return {
        fetch: { ...fetcher.counters },
        announce: { ...announcer.counters },
        sync: { ...syncer.counters },
        peers: { known: membership.knownPeers(), candidates: membership.candidatePeers(), ...membership.counters, penalized: admission.penalized().length },
        offers: { ...offers },
        ...(gate !== undefined ? { certificates: { ...gate.counters } } : {})
      }
    },
    async syncNow (): Promise<void> {
      await Promise.all(libp2p.getPeers().filter(admits).map(async p => await syncer.syncWith(p)))
    },
    async stop (): Promise<void> {
      if (stopped) return
      stopped = true
      unsubscribe()
      clearTimeout(pexTimer)
      membership.stop()
      syncer.stop()
      announcer.stop()
      gate?.stop()
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      libp2p.removeEventListener('peer:identify', onIdentify)
      await libp2p.stop()
      await Promise.allSettled([...offering.values()].map(o => o.done))
      log.info('mesh stopped')
    }
  }
}
