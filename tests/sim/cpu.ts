// The CPU model: what a message costs a node, and the node's CPU as a queue (a busy node
// delays its messages). Costs come from the bench's measured figures (bench/results,
// docs/SCALING-MODEL.md §3): the CPU per update per node fits c(p) = a + b·p over the
// bench's cluster sizes, where p is the number of peers. Each of a node's p links carries
// about one announce message per update (a full record on an eager link, a notice on a
// lazy one; the bench's counters: 1.1 full copies received and sent, 6.5 notices sent
// and received per node at N = 25, p = 15), so b is the cost of one message sent or
// received, and a the cost of taking a new version (triage, signature check, five fsyncs,
// watchers). Three cluster sizes cannot tell a full record's cost from a notice's
// (their counts grow together with p), so both take b; the split of `a` between the
// checks before a version is passed on and the store after it is an estimate (half each).
import { readFileSync } from 'node:fs'

export interface CpuCosts {
  /** ms of CPU per announce message sent or received, by kind */
  full: number
  ihave: number
  graft: number
  prune: number
  /** triage and signature check of a new version, before it is passed on (ms) */
  verify: number
  /** storing it (fsyncs, rename, watchers), after it is passed on (ms) */
  store: number
  /**
   * an anti-entropy message sent or received: on sync/5.0.0's long-lived stream, what an
   * announce message costs (4.0.0 opened a stream per round: twice that was taken). The
   * stream opened again after syncIdleClose is not modelled.
   */
  syncMessage: number
  /** a peer exchange message sent or received */
  peersMessage: number
  /** a connection's handshake (Noise, identify), each end */
  handshake: number
}

/** c(p) = fixed + perPeer · p, least squares over the sizes of a bench results file. */
export interface CostFit { fixed: number, perPeer: number, points: Array<{ n: number, peers: number, cpuMs: number }>, source: string }

export function fitFromBench (path: string): CostFit {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { results: Record<string, { datamesher?: { small_update_cpu_ms_per_node?: number, peers_mean?: number } }> }
  const points: CostFit['points'] = []
  for (const [n, r] of Object.entries(doc.results)) {
    const dm = r.datamesher
    if (dm?.small_update_cpu_ms_per_node === undefined || dm.peers_mean === undefined) continue
    points.push({ n: Number(n), peers: dm.peers_mean, cpuMs: dm.small_update_cpu_ms_per_node })
  }
  if (points.length < 2) throw new Error(`${path}: needs the CPU per update and the peers of at least two cluster sizes`)
  const mx = points.reduce((s, p) => s + p.peers, 0) / points.length
  const my = points.reduce((s, p) => s + p.cpuMs, 0) / points.length
  const sxy = points.reduce((s, p) => s + (p.peers - mx) * (p.cpuMs - my), 0)
  const sxx = points.reduce((s, p) => s + (p.peers - mx) ** 2, 0)
  const perPeer = sxy / sxx
  return { fixed: my - perPeer * mx, perPeer, points, source: path }
}

/** The default: the fit of the full bench run of 2026-11-30 (SCALING-MODEL.md §3: 4.1 ms + 0.73 ms × p). */
export const DEFAULT_FIT = { fixed: 4.1, perPeer: 0.73 }

export function costsFrom (fit: { fixed: number, perPeer: number }): CpuCosts {
  const m = fit.perPeer
  return {
    full: m,
    ihave: m,
    graft: m,
    prune: m,
    verify: fit.fixed / 2,
    store: fit.fixed / 2,
    syncMessage: m,
    peersMessage: 2 * m,
    handshake: 5
  }
}

/**
 * Each node's CPU is a queue: work starts when the node is free (a Node.js daemon runs
 * one thing at a time) and, on a shared host, when one of the host's cores is free.
 * `speed` scales a node's costs (a slow node: 5).
 */
export class Cpu {
  private nodeFree: Float64Array
  private speed: Float64Array
  /** ms of CPU each node used */
  used: Float64Array
  /** a shared host: when each of its cores is free; undefined: every node has its own CPU */
  private readonly cores?: Float64Array

  constructor (nodes: number, sharedCores?: number) {
    this.nodeFree = new Float64Array(nodes)
    this.speed = new Float64Array(nodes).fill(1)
    this.used = new Float64Array(nodes)
    if (sharedCores !== undefined) this.cores = new Float64Array(sharedCores)
  }

  grow (nodes: number): void {
    if (nodes <= this.nodeFree.length) return
    const f = new Float64Array(nodes); f.set(this.nodeFree); this.nodeFree = f
    const s = new Float64Array(nodes).fill(1); s.set(this.speed); this.speed = s
    const u = new Float64Array(nodes); u.set(this.used); this.used = u
  }

  setSpeed (node: number, factor: number): void { this.speed[node] = factor }

  /** Runs `cost` ms of work for `node`, ready at `at`; returns when it is done. */
  run (node: number, at: number, cost: number): number {
    const c = cost * this.speed[node]
    this.used[node] += c
    let start = at > this.nodeFree[node] ? at : this.nodeFree[node]
    const cores = this.cores
    if (cores !== undefined) {
      let k = 0
      for (let i = 1; i < cores.length; i++) if (cores[i] < cores[k]) k = i
      if (cores[k] > start) start = cores[k]
      cores[k] = start + c
    }
    const done = start + c
    this.nodeFree[node] = done
    return done
  }

  /** When the node's CPU is free again. */
  freeAt (node: number): number { return this.nodeFree[node] }
}
