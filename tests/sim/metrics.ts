// What a run records: per measured update and node, when the node had it, how (the tree
// or anti-entropy) and at which hop; per update, the full copies received and the notices
// sent; message and byte totals by protocol; peers per node.
import type { SimRecord } from './records.js'
import { MSG, type Msg, type World } from './world.js'

export interface Totals {
  treeMessages: number
  treeBytes: number
  treeWireBytes: number
  syncMessages: number
  syncBytes: number
  syncWireBytes: number
  pxMessages: number
  pxBytes: number
}

const zero = (): Totals => ({ treeMessages: 0, treeBytes: 0, treeWireBytes: 0, syncMessages: 0, syncBytes: 0, syncWireBytes: 0, pxMessages: 0, pxBytes: 0 })

export class Metrics {
  readonly records: Array<SimRecord | undefined>
  /** [update * cap + node]: simulated time it was delivered (stored), NaN: not (yet) */
  readonly deliveredAt: Float64Array
  readonly via: Uint8Array
  readonly hop: Uint8Array
  readonly fullRecv: Float64Array
  readonly fullSent: Float64Array
  readonly noticesSent: Float64Array
  readonly startedAt: Float64Array
  readonly stoppedAt: Float64Array
  readonly maxPeers: Int32Array
  totals: Totals = zero()
  dials = 0
  refused = 0
  /** rounds honest nodes initiated (failed, retried and the waits below: theirs too; a hostile node's own rounds never end) */
  syncRounds = 0
  syncSkipped = 0
  syncEqual = 0
  /** rounds that failed: the peer silent or stalled past its deadline, or the link down */
  syncFailed = 0
  /** time from the start of a failed round to its failure, summed and the longest (simulated ms) */
  syncFailedWaitMs = 0
  syncFailedWaitMax = 0
  /** of those, the rounds the timer started (the node's next timer round waited for them), and their waits summed */
  syncTimerFailed = 0
  syncTimerWaitMs = 0
  /** rounds closed unanswered (the peer's answer budget) */
  syncPaced = 0
  /** rounds the timer started at once after a failed one */
  syncRetried = 0
  syncRecords = 0
  /** new versions that waited for their signer's turn (turns-driver.ts), and of them dropped from a full queue */
  waited = 0
  turnDropped = 0
  /** (node, signer) pairs judged flooding (judge-driver.ts, proto/flood-judge.ts): honest signers, hostile ones; versions of judged signers dropped unchecked, and taken (not passed on) */
  judgedHonest = 0
  /** quick supersedes (proto/flood-judge.ts) of honest signers seen, over all nodes: each one suspects its signer at that node */
  quickHonest = 0
  judgedHostile = 0
  floodDropped = 0
  floodKept = 0

  constructor (readonly updates: number, readonly cap: number) {
    this.records = new Array<SimRecord | undefined>(updates).fill(undefined)
    this.deliveredAt = new Float64Array(updates * cap).fill(NaN)
    this.via = new Uint8Array(updates * cap)
    this.hop = new Uint8Array(updates * cap)
    this.fullRecv = new Float64Array(updates)
    this.fullSent = new Float64Array(updates)
    this.noticesSent = new Float64Array(updates)
    this.startedAt = new Float64Array(cap).fill(NaN)
    this.stoppedAt = new Float64Array(cap).fill(NaN)
    this.maxPeers = new Int32Array(cap)
  }

  /** A round an honest node initiated failed after `waited` ms (`byTimer`: its timer's round). */
  syncRoundFailed (waited: number, byTimer: boolean): void {
    this.syncFailed++
    this.syncFailedWaitMs += waited
    if (waited > this.syncFailedWaitMax) this.syncFailedWaitMax = waited
    if (byTimer) { this.syncTimerFailed++; this.syncTimerWaitMs += waited }
  }

  snapshot (): Totals { return { ...this.totals } }

  published (r: SimRecord, _t: number): void { this.records[r.update] = r }

  delivered (r: SimRecord, node: number, t: number, hop: number, via: number): void {
    const k = r.update * this.cap + node
    if (!Number.isNaN(this.deliveredAt[k])) return
    this.deliveredAt[k] = t
    this.via[k] = via
    this.hop[k] = Math.min(255, hop)
  }

  hopOf (update: number, node: number): number { return this.hop[update * this.cap + node] }

  fullReceived (r: SimRecord): void { if (r.update >= 0) this.fullRecv[r.update]++ }

  message (m: Msg, overhead: number): void {
    const t = this.totals
    if (m.kind === MSG.TREE) {
      let count = (m.prune ? 1 : 0) + (m.grafts?.length ?? 0) + (m.full?.length ?? 0) + (m.ihave !== undefined ? Math.ceil(m.ihave.length / 256) : 0)
      if (count === 0) count = 1
      t.treeMessages += count
      t.treeBytes += m.bytes
      t.treeWireBytes += m.bytes + count * overhead
      if (m.full !== undefined) for (const r of m.full) if (r.update >= 0) this.fullSent[r.update]++
      if (m.ihave !== undefined) for (const r of m.ihave) if (r.update >= 0) this.noticesSent[r.update]++
    } else if (m.kind === MSG.PX_REQ || m.kind === MSG.PX_RESP) {
      t.pxMessages++
      t.pxBytes += m.bytes + overhead
    } else {
      t.syncMessages++
      t.syncBytes += m.bytes
      t.syncWireBytes += m.bytes + overhead
    }
  }

  started (i: number, t: number): void { this.startedAt[i] = t }
  stopped (i: number, t: number): void { this.stoppedAt[i] = t }

  peersChanged (w: World, i: number): void {
    const p = w.nodes[i].links.size
    if (p > this.maxPeers[i]) this.maxPeers[i] = p
  }

  /** (update, node) pairs not delivered among live honest nodes, for the updates published so far. */
  missing (w: World): number {
    let missing = 0
    for (let u = 0; u < this.updates; u++) {
      if (this.records[u] === undefined) continue
      for (const n of w.nodes) {
        if (!n.alive || n.hostile) continue
        if (Number.isNaN(this.deliveredAt[u * this.cap + n.index])) missing++
      }
    }
    return missing
  }
}
