// The figures of a run (issue 23 item 3), from the metrics: delivery by the tree alone and
// after anti-entropy, relative message redundancy, notices per lazy link, hops, times to
// the last delivery, peers, and the cost per node and update.
import type { Totals } from './metrics.js'
import type { World } from './world.js'
import { VIA_TREE } from './announce-driver.js'
import { timerWaiting } from './sync-driver.js'

export interface RunInfo {
  scenario: string
  seed: number
  nodes: number
  profile: string
  sharedCores?: number
  updates: number
  windowMs: number
  totals: Totals
  cpuMs: number
  lazyLinks: number
  convergedAfterMs: number
  wallMs: number
}

export interface Figures {
  scenario: string
  nodes: number
  seed: number
  profile: string
  sharedCores: number | null
  updates: number
  /** live honest nodes at the end */
  live: number
  /** of (update, live honest node) pairs: delivered by the tree (full record or graft), and in all at the end */
  deliveryTree: number
  deliveryFinal: number
  missed: number
  /** full copies received per node reached by the tree, minus 1 (mean over updates, and the worst) */
  rmr: number
  rmrMax: number
  /** notices sent per lazy link per update */
  noticesPerLazyLink: number
  lazyLinks: number
  /** the largest hop count of a tree delivery (all updates), and the median of each update's largest */
  lastHopMax: number
  lastHopP50: number
  /** per update, ms from publishing to the last live honest node having it: p50, p99 (all deliveries), and by the tree alone */
  lastDeliveryP50: number
  lastDeliveryP99: number
  lastTreeDeliveryP50: number
  lastTreeDeliveryP99: number
  /** every (update, node) delivery's latency, p50 and p99 */
  deliveryP50: number
  deliveryP99: number
  /** ms after the last update until every live honest node held every update (NaN: not within the drain) */
  convergedAfterMs: number
  peersMean: number
  peersMin: number
  peersMax: number
  /** node 0 (a bootstrap node in every scenario): peers at the end, and the most it held */
  bootstrapPeers: number
  bootstrapPeersMax: number
  /** per live node and update, over the update window: announce messages and bytes (protocol; wire adds framing), full copies, notices */
  messagesPerNodeUpdate: number
  bytesPerNodeUpdate: number
  wireBytesPerNodeUpdate: number
  fullCopiesPerNodeUpdate: number
  noticesPerNodeUpdate: number
  /** CPU (ms, the model's) per node per update over the window, everything included */
  cpuMsPerNodeUpdate: number
  /** anti-entropy and peer exchange, per node per second over the window */
  syncBytesPerNodeS: number
  syncRoundsStarted: number
  /** rounds failed: the peer silent or stalled past its deadline, or the link down */
  syncRoundsFailed: number
  /** how long an initiator waited on a failed round before it failed (ms, simulated): mean and longest */
  syncFailedWaitMean: number
  syncFailedWaitMax: number
  /**
   * failed rounds the timer started, and per live honest node the time its timer waited on
   * them, or at the end of the run still waits on one (ms, simulated)
   */
  syncTimerRoundsFailed: number
  syncTimerWaitPerNode: number
  /** rounds the timer started at once after a failed one */
  syncRoundsRetried: number
  /** new versions that waited for their signer's turn, over the run and all nodes (turns-driver.ts); of them dropped from a full queue */
  waitedVersions: number
  waitDropped: number
  /** (node, signer) pairs a node judged flooding (proto/flood-judge.ts): honest signers (a false judgement), hostile ones; a judged signer's versions dropped before their check, and taken (not passed on) */
  judgedHonest: number
  /** quick supersedes of honest signers seen (each suspects its signer at that node for a minute: quiet, no link moves) */
  quickHonest: number
  judgedHostile: number
  floodDropped: number
  floodKept: number
  pxBytesPerNodeS: number
  dials: number
  dialsRefused: number
  events: number
  wallMs: number
}

export function quantile (xs: number[], q: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] // nearest rank
}

export function figures (w: World, info: RunInfo): Figures {
  const m = w.metrics
  const live = w.nodes.filter(n => n.alive && !n.hostile)
  const U = info.updates
  let tree = 0; let all = 0; let missed = 0
  const rmrs: number[] = []; const lastHops: number[] = []; const lastAll: number[] = []; const lastTree: number[] = []; const lat: number[] = []
  let hopMax = 0
  for (let u = 0; u < U; u++) {
    const r = m.records[u]
    if (r === undefined) continue
    let reachedByTree = 0; let hop = 0; let lastA = 0; let lastT = 0
    for (const n of live) {
      const k = u * m.cap + n.index
      const at = m.deliveredAt[k]
      if (Number.isNaN(at)) { missed++; continue }
      all++
      lat.push(at - r.publishedAt)
      lastA = Math.max(lastA, at - r.publishedAt)
      if (n.index === r.origin) continue
      if (m.via[k] === VIA_TREE) {
        tree++
        reachedByTree++
        hop = Math.max(hop, m.hop[k])
        lastT = Math.max(lastT, at - r.publishedAt)
      }
    }
    tree++ // the origin had it "by the tree" trivially
    if (reachedByTree > 0) rmrs.push(m.fullRecv[u] / reachedByTree - 1)
    lastHops.push(hop)
    hopMax = Math.max(hopMax, hop)
    lastAll.push(lastA)
    lastTree.push(lastT)
  }
  const pairs = live.length * U
  const peers = live.map(n => n.links.size)
  const nodeUpdates = live.length * U
  const t = info.totals
  const seconds = info.windowMs / 1000
  let fullRecv = 0; let notices = 0
  for (let u = 0; u < U; u++) { fullRecv += m.fullRecv[u]; notices += m.noticesSent[u] }
  return {
    scenario: info.scenario,
    nodes: info.nodes,
    seed: info.seed,
    profile: info.profile,
    sharedCores: info.sharedCores ?? null,
    updates: U,
    live: live.length,
    deliveryTree: tree / pairs,
    deliveryFinal: all / pairs,
    missed,
    rmr: mean(rmrs),
    rmrMax: Math.max(...rmrs),
    noticesPerLazyLink: info.lazyLinks === 0 ? 0 : notices / U / info.lazyLinks,
    lazyLinks: info.lazyLinks,
    lastHopMax: hopMax,
    lastHopP50: quantile(lastHops, 0.5),
    lastDeliveryP50: quantile(lastAll, 0.5),
    lastDeliveryP99: quantile(lastAll, 0.99),
    lastTreeDeliveryP50: quantile(lastTree, 0.5),
    lastTreeDeliveryP99: quantile(lastTree, 0.99),
    deliveryP50: quantile(lat, 0.5),
    deliveryP99: quantile(lat, 0.99),
    convergedAfterMs: info.convergedAfterMs,
    peersMean: mean(peers),
    peersMin: Math.min(...peers),
    peersMax: Math.max(...peers),
    bootstrapPeers: w.nodes[0].alive ? w.nodes[0].links.size : 0,
    bootstrapPeersMax: m.maxPeers[0],
    messagesPerNodeUpdate: t.treeMessages / nodeUpdates,
    bytesPerNodeUpdate: t.treeBytes / nodeUpdates,
    wireBytesPerNodeUpdate: t.treeWireBytes / nodeUpdates,
    fullCopiesPerNodeUpdate: fullRecv / nodeUpdates,
    noticesPerNodeUpdate: notices / nodeUpdates,
    cpuMsPerNodeUpdate: info.cpuMs / nodeUpdates,
    syncBytesPerNodeS: t.syncWireBytes / live.length / seconds,
    syncRoundsStarted: m.syncRounds,
    syncRoundsFailed: m.syncFailed,
    syncFailedWaitMean: m.syncFailed === 0 ? 0 : m.syncFailedWaitMs / m.syncFailed,
    syncFailedWaitMax: m.syncFailedWaitMax,
    syncTimerRoundsFailed: m.syncTimerFailed,
    syncTimerWaitPerNode: (m.syncTimerWaitMs + live.reduce((a, n) => a + timerWaiting(n, w.now), 0)) / live.length,
    syncRoundsRetried: m.syncRetried,
    waitedVersions: m.waited,
    waitDropped: m.turnDropped,
    judgedHonest: m.judgedHonest,
    quickHonest: m.quickHonest,
    judgedHostile: m.judgedHostile,
    floodDropped: m.floodDropped,
    floodKept: m.floodKept,
    pxBytesPerNodeS: t.pxBytes / live.length / seconds,
    dials: m.dials,
    dialsRefused: m.refused,
    events: w.events,
    wallMs: Math.round(info.wallMs)
  }
}

function mean (xs: number[]): number { return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length }

const ROWS: Array<[string, (f: Figures) => string]> = [
  ['live honest nodes', f => String(f.live)],
  ['delivery by the tree alone', f => pct(f.deliveryTree)],
  ['delivery after anti-entropy', f => pct(f.deliveryFinal)],
  ['missed (update, node) pairs', f => String(f.missed)],
  ['converged after the last update', f => Number.isNaN(f.convergedAfterMs) ? 'no' : `${(f.convergedAfterMs / 1000).toFixed(1)} s`],
  ['RMR (full copies per node − 1): mean / worst', f => `${f.rmr.toFixed(3)} / ${f.rmrMax.toFixed(3)}`],
  ['notices per lazy link per update', f => f.noticesPerLazyLink.toFixed(2)],
  ['last delivery hop: max / p50 of updates', f => `${f.lastHopMax} / ${f.lastHopP50}`],
  ['time to last delivery p50 / p99 (ms)', f => `${ms(f.lastDeliveryP50)} / ${ms(f.lastDeliveryP99)}`],
  ['… by the tree alone p50 / p99 (ms)', f => `${ms(f.lastTreeDeliveryP50)} / ${ms(f.lastTreeDeliveryP99)}`],
  ['any delivery p50 / p99 (ms)', f => `${ms(f.deliveryP50)} / ${ms(f.deliveryP99)}`],
  ['peers per node: mean / min / max', f => `${f.peersMean.toFixed(1)} / ${f.peersMin} / ${f.peersMax}`],
  ['bootstrap node 0: peers at end / most held', f => `${f.bootstrapPeers} / ${f.bootstrapPeersMax}`],
  ['announce messages per node per update', f => f.messagesPerNodeUpdate.toFixed(2)],
  ['bytes per node per update (protocol / wire)', f => `${Math.round(f.bytesPerNodeUpdate)} / ${Math.round(f.wireBytesPerNodeUpdate)}`],
  ['full copies / notices per node per update', f => `${f.fullCopiesPerNodeUpdate.toFixed(2)} / ${f.noticesPerNodeUpdate.toFixed(2)}`],
  ['CPU per node per update (model, ms)', f => f.cpuMsPerNodeUpdate.toFixed(1)],
  ['anti-entropy bytes per node per s', f => Math.round(f.syncBytesPerNodeS).toString()],
  ['sync rounds by honest nodes: started / failed (timer\'s) / retried', f => `${f.syncRoundsStarted} / ${f.syncRoundsFailed} (${f.syncTimerRoundsFailed}) / ${f.syncRoundsRetried}`],
  ['… wait on a failed round: mean / max; timer, per node (s)', f => `${(f.syncFailedWaitMean / 1000).toFixed(1)} / ${(f.syncFailedWaitMax / 1000).toFixed(1)}; ${(f.syncTimerWaitPerNode / 1000).toFixed(2)}`],
  ['versions that waited their signer\'s turn per node / dropped', f => `${(f.waitedVersions / f.live).toFixed(1)} / ${f.waitDropped}`],
  ['signers judged flooding (node, signer): honest / hostile', f => `${f.judgedHonest} / ${f.judgedHostile}`],
  ['quick supersedes of honest signers seen', f => String(f.quickHonest)],
  ['… their versions per node: dropped unchecked / taken', f => `${(f.floodDropped / f.live).toFixed(1)} / ${(f.floodKept / f.live).toFixed(1)}`],
  ['dials / refused', f => `${f.dials} / ${f.dialsRefused}`],
  ['events / wall time', f => `${f.events} / ${(f.wallMs / 1000).toFixed(1)} s`]
]

function pct (x: number): string { return `${(100 * x).toFixed(2)}%` }
function ms (x: number): string { return Number.isNaN(x) ? '–' : x.toFixed(0) }

/** A table: one row per figure, one column per run. */
export function table (runs: Figures[]): string {
  const head = ['', ...runs.map(f => `${f.scenario} N=${f.nodes} seed=${f.seed}${f.profile !== 'lan' ? ` ${f.profile}` : ''}`)]
  const rows = [head, ...ROWS.map(([label, get]) => [label, ...runs.map(get)])]
  const widths = head.map((_, c) => Math.max(...rows.map(r => r[c].length)))
  return rows.map(r => r.map((cell, c) => c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join('  ')).join('\n')
}
