// The mesh's metrics: read from mesh.stats(), mesh.status() and mesh.links() at scrape
// time. One table, so the names (Prometheus conventions: data_mesher_ prefix, _total for
// counters, units in names) can be read in one place; README "Metrics" lists them.
import type { Registry } from 'prom-client'
import type { Mesh, MeshStats } from '../mesh/index.js'
import { family, type FamilySpec, type Labels, type Reading } from './family.js'

function by (label: string, values: Record<string, number | undefined>): Reading {
  const out: Array<[Labels, number]> = []
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out.push([{ [label]: k }, v])
  return out
}

export function meshFamilies (mesh: Mesh): FamilySpec[] {
  // one stats() per scrape: every family below reads the same snapshot
  let cached: { at: number, stats: MeshStats } | undefined
  const stats = (): MeshStats => {
    const now = Date.now()
    if (cached === undefined || now - cached.at > 500) cached = { at: now, stats: mesh.stats() }
    return cached.stats
  }
  const counter = (name: string, help: string, read: () => Reading, labelNames?: string[]): FamilySpec => ({ name, help, type: 'counter', read, labelNames })
  const gauge = (name: string, help: string, read: () => Reading, labelNames?: string[]): FamilySpec => ({ name, help, type: 'gauge', read, labelNames })
  return [
    // peers
    gauge('data_mesher_peers', 'Peers by state: connected (any open connection), verified (admitted and identified: with a network, its certificate checked), unverified (connected, not yet or never verified), known (addresses this node may dial), penalized (refused for a while after misbehaving)', () => {
      const s = stats()
      const { peers, unverified } = mesh.status()
      return by('state', { connected: peers.length + unverified.length, verified: peers.length, unverified: unverified.length, known: s.peers.known, penalized: s.peers.penalized })
    }, ['state']),
    counter('data_mesher_peer_dials_total', 'Dials to peers, by result (attempted, failed)', () => by('result', { attempted: stats().peers.dials, failed: stats().peers.dialFailures }), ['result']),
    counter('data_mesher_peer_connections_trimmed_total', 'Connections closed to stay under the connection target', () => stats().peers.trimmed),
    counter('data_mesher_peer_exchange_total', 'Peer exchange: lists asked of peers, lists given to peers, addresses learned', () => by('event', { asked: stats().peerExchange.asked, answered: stats().peerExchange.answered, learned: stats().peerExchange.learned }), ['event']),
    counter('data_mesher_pings_total', 'Pings of TCP connections nothing arrived on for the ping interval; failed ones closed their connection', () => by('event', { sent: stats().liveness.pings, failed: stats().liveness.pingFailures }), ['event']),
    counter('data_mesher_connections_refused_total', 'Inbound connections refused by a connection limit (strangers per IP, strangers in all, per peer id)', () => {
      const c = stats().connections
      return by('limit', { per_ip: c.refusedPerIp, strangers: c.refusedStrangers, per_peer: c.refusedPerPeer })
    }, ['limit']),
    counter('data_mesher_connections_closed_total', 'Connections closed because a connection limit was exceeded (handshakes cut to make room, strangers per IP, strangers in all, per peer id)', () => {
      const c = stats().connections
      return by('limit', { handshake_cut: c.cutPending, per_ip: c.closedPerIp, strangers: c.closedStrangers, per_peer: c.closedPerPeer })
    }, ['limit']),
    counter('data_mesher_punishments_total', 'Peers disconnected and refused for a while for misbehaving, by kind of misbehaviour', () => by('kind', stats().punishments), ['kind']),
    counter('data_mesher_peer_certificates_total', 'Admission by certificate (with a network): peers verified, refused inbound or outbound, certificates expired, unverified connections closed, peers refused as revoked', () => {
      const c = stats().certificates
      return c === undefined ? undefined : by('result', { verified: c.verified, refused_inbound: c.refusedInbound, refused_outbound: c.refusedOutbound, expired: c.expired, unverified_closed: c.unverifiedClosed, revoked: c.revoked })
    }, ['result']),
    counter('data_mesher_certificate_renewals_sent_total', 'This node\'s renewed certificate sent to connected peers (with a network), by result (sent, failed)', () => {
      const c = stats().certificates
      return c === undefined ? undefined : by('result', { sent: c.renewalsSent, failed: c.renewalsFailed })
    }, ['result']),
    counter('data_mesher_record_certificates_total', 'Certificates of namespace records (with a network): fetched from senders, missing at the sender, served to peers, unusable', () => {
      const c = stats().recordCerts
      return c === undefined ? undefined : by('event', { fetched: c.fetched, missing: c.missing, served: c.served, unusable: c.unusable })
    }, ['event']),

    // the broadcast tree (announce)
    gauge('data_mesher_broadcast_links', 'This node\'s links in the broadcast tree, by kind (eager: full copies, lazy: notices)', () => {
      const l = mesh.links()
      return by('kind', { eager: l.eager.length, lazy: l.lazy.length })
    }, ['kind']),
    counter('data_mesher_broadcast_full_records_total', 'Full copies (record and inline content) sent and received on the broadcast tree', () => by('direction', { sent: stats().announce.fullSent, received: stats().announce.fullReceived }), ['direction']),
    counter('data_mesher_broadcast_duplicates_total', 'Full copies received of a version already here (each prunes a link of the cycle it closes)', () => stats().announce.duplicates),
    counter('data_mesher_broadcast_reparented_total', 'Duplicates that came by a shorter path than the version first did (that first link pruned, the shorter kept)', () => stats().announce.reparented),
    counter('data_mesher_broadcast_notices_total', 'Notices (IHAVE) sent and received', () => by('direction', { sent: stats().announce.ihaveSent, received: stats().announce.ihaveReceived }), ['direction']),
    counter('data_mesher_broadcast_notice_bytes_total', 'Bytes of the notices (IHAVE) sent', () => stats().announce.ihaveBytes),
    counter('data_mesher_broadcast_grafts_total', 'GRAFTs sent (a lazy link made eager to get a missing version)', () => stats().announce.grafts),
    counter('data_mesher_broadcast_grafts_ignored_total', 'GRAFTs received and not answered (one already under way, or over the peer\'s budget)', () => stats().announce.graftsIgnored),
    counter('data_mesher_broadcast_prunes_total', 'PRUNEs sent (an eager link made lazy after a duplicate)', () => stats().announce.prunes),
    counter('data_mesher_broadcast_skipped_total', 'Versions not sent to a peer known to hold them', () => stats().announce.skipped),
    counter('data_mesher_broadcast_reshapes_total', 'Reshape floods this node started (it wanted one: links lost, or a peer\'s want) and marked ones it flooded on (at most one of either per announceReshapeInterval)', () => by('kind', { started: stats().announce.reshapes, followed: stats().announce.reshapesFollowed }), ['kind']),
    counter('data_mesher_broadcast_links_ended_total', 'Broadcast tree peers gone, their link lost (failed: reset, timed out, the peer died; counts towards a reshape) or hung up (closed on purpose by either end)', () => by('how', { lost: stats().announce.linksLost, hung_up: stats().announce.linksHungUp }), ['how']),
    counter('data_mesher_broadcast_over_budget_total', 'Broadcast messages from a peer dropped unjudged: over its budget', () => stats().announce.overBudget),

    // offers (the receive path) and the fair queues
    counter('data_mesher_offers_total', 'Records offered by peers (broadcast and sync), by outcome (accepted, held, ignored, refused, failed)', () => {
      const o = stats().offers
      return by('outcome', { accepted: o.accepted, held: o.held, ignored: o.ignored, refused: o.refused, failed: o.failed })
    }, ['outcome']),
    counter('data_mesher_offers_shed_total', 'Records offered by peers and dropped from a full queue of that peer', () => stats().offers.shed),
    counter('data_mesher_offers_waited_total', 'New versions from the broadcast tree that waited for their signer\'s turn (proto/signer-turns.ts: the node-wide rate was spent)', () => stats().offers.waited),
    counter('data_mesher_offers_flood_total', 'New versions of signers judged flooding (proto/flood-judge.ts), by outcome (dropped before their check, kept: stored, not passed on)', () => {
      const o = stats().offers
      return by('outcome', { dropped: o.floodDropped, kept: o.floodKept })
    }, ['outcome']),
    counter('data_mesher_offers_flood_stable_total', 'Of the kept versions of signers judged flooding, those anti-entropy brought once the signer\'s burst was seen to be over (none by the tree for the quick-supersede gap, or the same version offered again that long after; a burst\'s last version; proto/flood-judge.ts)', () => stats().offers.floodStable),
    gauge('data_mesher_queue_records', 'Records in the fair queues (fair-limiter.ts), by queue (storing, fetch) and state (running, waiting)', () => {
      const q = stats().queues
      return [
        [{ queue: 'storing', state: 'running' }, q.storingRunning], [{ queue: 'storing', state: 'waiting' }, q.storingWaiting],
        [{ queue: 'fetch', state: 'running' }, q.fetchRunning], [{ queue: 'fetch', state: 'waiting' }, q.fetchWaiting]
      ]
    }, ['queue', 'state']),
    gauge('data_mesher_peer_queue_longest_records', 'The longest queue of one peer: records waiting to be fetched or stored in its turn', () => stats().queues.longestPeerQueue),

    // fetch
    counter('data_mesher_fetches_total', 'Content fetches from peers, by result (fetched: verified and kept, missed: failed or found nothing)', () => by('result', { fetched: stats().fetch.fetched, missed: stats().fetch.misses }), ['result']),
    counter('data_mesher_fetched_bytes_total', 'Bytes of content fetched from peers and verified', () => stats().fetch.fetchedBytes),
    counter('data_mesher_fetch_served_total', 'Content fetches served to peers (complete responses)', () => stats().fetch.served),
    counter('data_mesher_fetch_served_bytes_total', 'Bytes of content served to peers', () => stats().fetch.servedBytes),
    counter('data_mesher_fetch_busy_total', 'Fetch requests from peers answered "busy" (serve slots taken)', () => stats().fetch.busy),
    counter('data_mesher_fetch_hedged_total', 'Fetches asked of a second source while the first was slow', () => stats().fetch.hedged),
    counter('data_mesher_fetch_shed_total', 'Fetches dropped from a full queue of a peer', () => stats().fetch.shed),
    counter('data_mesher_fetch_strikes_total', 'Strikes against peers that announced a version and did not serve it', () => stats().fetch.strikes),

    // anti-entropy
    counter('data_mesher_sync_rounds_total', 'Anti-entropy rounds, by role (initiated by this node, answered for a peer)', () => by('role', { initiated: stats().sync.rounds, answered: stats().sync.answered }), ['role']),
    counter('data_mesher_sync_round_failures_total', 'Anti-entropy rounds this node initiated that failed', () => stats().sync.failed),
    counter('data_mesher_sync_rounds_skipped_total', 'Timer ticks on which this node did not initiate a round, having just answered one', () => stats().sync.skipped),
    counter('data_mesher_sync_round_results_total', 'Anti-entropy rounds by result (equal: nothing to exchange, exchanged: records sent or asked for)', () => by('result', { equal: stats().sync.equal, exchanged: stats().sync.exchanged }), ['result']),
    counter('data_mesher_sync_records_total', 'Records sent and received in anti-entropy rounds', () => by('direction', { sent: stats().sync.recordsSent, received: stats().sync.recordsReceived }), ['direction']),
    counter('data_mesher_sync_streams_total', 'Sync streams this node opened as initiator, and rounds it ran on a sync/5.0.0 stream kept from an earlier one', () => by('stream', { opened: stats().sync.streamsOpened, reused: stats().sync.streamsReused }), ['stream']),
    counter('data_mesher_sync_paced_total', 'Anti-entropy requests from a peer over its pace: closed unanswered (sync/4.0.0) or answered "not now" (5.0.0)', () => stats().sync.paced)
  ]
}

export function registerMesh (register: Registry, mesh: Mesh): void {
  for (const spec of meshFamilies(mesh)) family(register, spec)
}
