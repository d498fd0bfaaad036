// The scenarios of issue 23 and how a run unfolds:
//
//   0 … joinSpread          nodes start, each bootstrapping from two random earlier nodes
//                           (or, "bootstrap-one"/"-two", all from node 0 / nodes 0 and 1)
//   … warm − 5 s            warm-up updates (a fresh tree floods, then prunes itself)
//   warm … warm + U·gap     the measured updates, one every `gap` ms from random honest
//                           live origins; churn, partitions happen in this window
//   then                    the run goes on until every live honest node holds every
//                           update (anti-entropy repairs what the tree missed), or `drain`
import type { MeshSettings } from '../../src/mesh/settings.js'
import type { ReshapeOptions } from '../../src/mesh/proto/tree.js'
import { PROFILES } from './network.js'
import { costsFrom, DEFAULT_FIT, type CpuCosts } from './cpu.js'
import { World } from './world.js'
import { flood as hostileFlood } from './hostile.js'
import type { Totals } from './metrics.js'
import { figures, type Figures } from './figures.js'

export interface RunOptions {
  scenario: string
  nodes: number
  seed: number
  /** measured updates */
  updates?: number
  /** ms between measured updates */
  gap?: number
  profile?: string
  /** all nodes share one host of this many cores (the bench) */
  sharedCores?: number
  costs?: CpuCosts
  settings?: Partial<MeshSettings>
  syncInterval?: number
  /** content bytes of an update (inline up to announceInlineMax) */
  size?: number
  /** ms the nodes' starts are spread over */
  joinSpread?: number
  /** ms from the last node's start to the first measured update */
  settle?: number
  /** the tree's reshape flood (proto/tree.ts ReshapeOptions, `--reshape`): the settings' (announceReshape*, on by default) unless given */
  reshape?: ReshapeOptions
}

export interface ScenarioSpec {
  name: string
  what: string
  /** nodes that leave, and as many that join, during the updates (fraction of N) */
  churn?: number
  partition?: boolean
  /** ms before the first measured update the partition begins (default 500): a long one lets each side fill its peers from its own half */
  partitionLead?: number
  hostile?: number
  /** versions per second each hostile member floods its own namespace file with */
  flood?: number
  /** the names each hostile member spreads its flood over, in turn: its one name in each of that many namespaces (default 1) */
  floodNames?: number
  /** ms before the first measured update the flood starts (default 2 s): the updates are measured once the flood spent every node's burst */
  floodLead?: number
  /**
   * a busy honest fleet: every honest node publishes its own facts file (`facts/<i>`, a
   * new version each time) every `factsEvery` ms, or so that the fleet publishes
   * `factsPerSecond` in all (1,000 machines once a minute: ~17), and `pointers` honest
   * signers update one shared file (`shared/pointer`) every 10–20 s each, all from `lead`
   * ms before the first measured update
   */
  busy?: { factsPerSecond?: number, factsEvery?: number, pointers: number, lead: number }
  slow?: { fraction: number, factor: number }
  /** each node's clock is off by up to ± this (ms) */
  clockOffset?: number
  /** every node bootstraps from these nodes */
  bootstrapFrom?: number[]
  /** every node lists every other in allowed_nodes: no strangers (the stranger slots do not apply) */
  allowedNodes?: boolean
  /** ms to wait after the last update at most */
  drain?: number
}

export const SCENARIOS: Record<string, ScenarioSpec> = {
  stable: { name: 'stable', what: 'a stable overlay: no failures' },
  churn: { name: 'churn', what: '20% of the nodes leave and as many new ones join while the updates flow', churn: 0.2 },
  partition: { name: 'partition', what: 'split into random halves before the updates (both sides get updates), healed after the last', partition: true, drain: 300_000 },
  'partition-long': { name: 'partition-long', what: 'the same, split 10 minutes before the updates: each half fills its peers from its own side, and only exploration finds the other after the heal', partition: true, partitionLead: 600_000, drain: 900_000 },
  hostile: { name: 'hostile', what: '5% hostile members: prune every link, announce without serving, answer no sync', hostile: 0.05 },
  'hostile-flood': { name: 'hostile-flood', what: 'the same, and each floods its namespace file with 2 new versions per second, from 25 s before the updates on', hostile: 0.05, flood: 2, floodLead: 25_000 },
  'hostile-flood-names': { name: 'hostile-flood-names', what: 'hostile-flood spread over each member\'s names in 3 namespaces in turn: each superseded every 1.5 s, none quickly (SECURITY.md, Known gaps)', hostile: 0.05, flood: 2, floodNames: 3, floodLead: 25_000 },
  'busy-fleet': { name: 'busy-fleet', what: 'an honest busy fleet: each node publishes its facts file once a minute, and two signers a shared pointer every 10–20 s, from 60 s before the updates on (or once all started)', busy: { factsEvery: 60_000, pointers: 2, lead: 60_000 } },
  'busy-fleet-17': { name: 'busy-fleet-17', what: 'the same at the rate of 1,000 machines whatever N: 17 facts files a second in all', busy: { factsPerSecond: 17, pointers: 2, lead: 60_000 } },
  slow: { name: 'slow', what: '10% of the nodes have 5× slower CPUs', slow: { fraction: 0.1, factor: 5 } },
  clocks: { name: 'clocks', what: "every node's clock off by up to ±60 s (within max_clock_skew)", clockOffset: 60_000 },
  'bootstrap-one': { name: 'bootstrap-one', what: 'every node bootstraps from node 0', bootstrapFrom: [0] },
  'bootstrap-two': { name: 'bootstrap-two', what: 'every node bootstraps from nodes 0 and 1', bootstrapFrom: [0, 1] },
  'bootstrap-one-allowed': { name: 'bootstrap-one-allowed', what: 'every node bootstraps from node 0, and every node is in allowed_nodes (members, not strangers)', bootstrapFrom: [0], allowedNodes: true }
}

export interface RunResult {
  figures: Figures
  world: World
}

/** Runs a scenario to its end at once (the CLI, short runs). */
export function runScenario (o: RunOptions): RunResult {
  const steps = scenarioSteps(o)
  for (;;) {
    const step = steps.next()
    if (step.done === true) return step.value
  }
}

/**
 * Runs a scenario as runScenario does (the same events, the same figures), giving the
 * event loop a turn after each simulated second. For the vitest workers: a run of
 * minutes on a loaded host, in one piece, blocks the worker past its RPC timeout (60 s)
 * while a report is pending, and vitest fails the run though every test passed.
 */
export async function runScenarioAsync (o: RunOptions): Promise<RunResult> {
  const steps = scenarioSteps(o)
  for (;;) {
    const step = steps.next()
    if (step.done === true) return step.value
    await new Promise(resolve => setImmediate(resolve))
  }
}

/** Runs `w` to `until` a simulated second at a time, yielding after each. */
function * runTo (w: World, until: number): Generator<void, void> {
  while (w.now < until) {
    w.run(Math.min(until, w.now + 1_000))
    yield
  }
}

function * scenarioSteps (o: RunOptions): Generator<void, RunResult> {
  const spec = SCENARIOS[o.scenario]
  if (spec === undefined) throw new Error(`unknown scenario "${o.scenario}" (one of: ${Object.keys(SCENARIOS).join(', ')})`)
  if (!Number.isInteger(o.nodes) || o.nodes < 3) throw new Error(`--nodes must be an integer ≥ 3, not ${o.nodes}`)
  if (o.updates !== undefined && (!Number.isInteger(o.updates) || o.updates < 1)) throw new Error(`--updates must be an integer ≥ 1, not ${o.updates}`)
  if (o.gap !== undefined && !(o.gap > 0)) throw new Error(`--gap must be > 0 ms, not ${o.gap}`)
  if (o.sharedCores !== undefined && (!Number.isInteger(o.sharedCores) || o.sharedCores < 1)) throw new Error(`--shared-cores must be an integer ≥ 1, not ${o.sharedCores}`)
  const wallStart = performance.now()
  const N = o.nodes
  const U = o.updates ?? 20
  const gap = o.gap ?? 1000
  const joiners = Math.round((spec.churn ?? 0) * N)
  const profile = PROFILES[o.profile ?? 'lan']
  if (profile === undefined) throw new Error(`unknown network profile "${o.profile}" (one of: ${Object.keys(PROFILES).join(', ')})`)
  const w = new World({
    seed: o.seed,
    nodes: N,
    capacity: N + joiners,
    settings: o.settings,
    syncInterval: o.syncInterval ?? 5_000,
    profile,
    costs: o.costs ?? costsFrom(DEFAULT_FIT),
    sharedCores: o.sharedCores,
    updates: U,
    reshape: o.reshape
  })
  const rnd = w.random
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]

  // who is what
  const hostile = new Set<number>()
  const hostileCount = Math.round((spec.hostile ?? 0) * N)
  while (hostile.size < hostileCount) { const i = 2 + Math.floor(rnd() * (N - 2)); hostile.add(i) }
  for (const i of hostile) w.nodes[i].hostile = true
  if (spec.slow !== undefined) {
    for (let i = 0; i < N; i++) if (rnd() < spec.slow.fraction) w.cpu.setSpeed(i, spec.slow.factor)
  }
  if (spec.allowedNodes === true) for (const n of w.nodes) n.allMembers = true
  if (spec.clockOffset !== undefined) {
    for (let i = 0; i < N + joiners; i++) w.nodes[i].offset = Math.round((2 * rnd() - 1) * spec.clockOffset)
  }

  // start: node i at i/N of the spread, bootstrapping from earlier nodes
  const joinSpread = o.joinSpread ?? Math.min(20_000, Math.max(2_000, N * 2))
  for (let i = 0; i < N; i++) {
    const t = Math.floor(joinSpread * i / N)
    let boot: number[]
    if (spec.bootstrapFrom !== undefined) boot = spec.bootstrapFrom.filter(b => b !== i)
    else if (i === 0) boot = []
    else if (i === 1) boot = [0]
    else { const a = Math.floor(rnd() * i); let b = Math.floor(rnd() * i); if (b === a) b = (b + 1) % i; boot = [a, b] }
    w.startNode(i, t, boot)
  }

  // a long partition needs the nodes up before it begins
  const warm = joinSpread + Math.max(o.settle ?? 40_000, (spec.partitionLead ?? 0) + 30_000)
  const last = warm + (U - 1) * gap
  const honestLive = (): number[] => w.nodes.filter(n => n.alive && !n.hostile).map(n => n.index)

  // churn: who leaves is chosen now (never node 0 or 1, never an origin: the origins are picked among the rest)
  const leaving = new Set<number>()
  while (leaving.size < joiners) { const i = 2 + Math.floor(rnd() * (N - 2)); if (!hostile.has(i)) leaving.add(i) }
  for (const i of leaving) w.at(warm + rnd() * (last - warm + gap), t => w.stopNode(i, t))
  for (let k = 0; k < joiners; k++) {
    const i = N + k
    w.at(warm + rnd() * (last - warm + gap), t => {
      const live = honestLive()
      const a = pick(live); let b = pick(live)
      if (b === a && live.length > 1) b = live[(live.indexOf(a) + 1) % live.length]
      w.startNode(i, t, a === b ? [a] : [a, b])
    })
  }

  // warm-up updates, then the measured ones
  const origin = (): number => { for (;;) { const i = pick(honestLive()); if (!leaving.has(i)) return i } }
  const size = o.size ?? 1024
  for (let k = 0; k < 5; k++) w.at(warm - 5_000 + k * 1_000, t => { w.publish(origin(), t, `warm-${k}`, size, -1) })

  if (spec.flood !== undefined) {
    const every = 1000 / spec.flood
    const names = spec.floodNames ?? 1
    for (const i of hostile) {
      let k = 0
      for (let t = warm - (spec.floodLead ?? 2_000) + rnd() * every; t < last + gap; t += every) {
        const name = k++ % names
        w.at(t, at => hostileFlood(w, w.nodes[i], at, name))
      }
    }
  }

  if (spec.busy !== undefined) {
    const { factsPerSecond, factsEvery, pointers, lead } = spec.busy
    const from = Math.max(joinSpread, warm - lead)
    const honest = w.nodes.filter(n => !n.hostile).map(n => n.index)
    const every = factsEvery ?? 1000 * honest.length / factsPerSecond!
    const factsOf = (i: number, t: number): void => {
      if (t >= last + gap) return
      w.at(t, at => { if (w.nodes[i].alive) w.publish(i, at, `facts/${i}`, size, -1); factsOf(i, at + every * (0.9 + 0.2 * rnd())) })
    }
    for (const i of honest) factsOf(i, from + rnd() * every)
    const pointerOf = (i: number, t: number): void => {
      if (t >= last + gap) return
      w.at(t, at => { if (w.nodes[i].alive) w.publish(i, at, 'shared/pointer', size, -1); pointerOf(i, at + 10_000 + 10_000 * rnd()) })
    }
    for (let k = 0; k < pointers; k++) pointerOf(honest[k], from + rnd() * 10_000)
  }

  if (spec.partition === true) {
    w.at(warm - (spec.partitionLead ?? 500), t => { const half = new Uint8Array(N + joiners).map(() => rnd() < 0.5 ? 1 : 2); w.partition(t, i => half[i] as 1 | 2) })
    w.at(last + gap, () => w.heal())
  }

  let before: Totals | undefined
  let after: Totals | undefined
  let cpuBefore: Float64Array | undefined
  let cpuAfter: Float64Array | undefined
  let lazyLinks = 0
  w.at(warm - 1, () => { before = w.metrics.snapshot(); cpuBefore = w.cpu.used.slice() })
  for (let u = 0; u < U; u++) w.at(warm + u * gap, t => { w.publish(origin(), t, `file-${u}`, size, u) })
  const window = last + 3_000
  w.at(window, () => {
    after = w.metrics.snapshot()
    cpuAfter = w.cpu.used.slice()
    lazyLinks = countLazyLinks(w)
  })

  // anti-entropy repairs what the tree missed: run until every live honest node has every update
  yield * runTo(w, last)
  const drain = spec.drain ?? 120_000
  let convergedAt = NaN
  for (let t = last + 250; t <= last + drain; t += 250) {
    w.run(t)
    yield
    if (Number.isNaN(convergedAt) && w.converged()) convergedAt = t
    if (!Number.isNaN(convergedAt) && t >= window) break
  }
  const f = figures(w, {
    scenario: o.scenario,
    seed: o.seed,
    nodes: N,
    profile: profile.name,
    sharedCores: o.sharedCores,
    updates: U,
    windowMs: window - warm,
    totals: diff(after!, before!),
    cpuMs: sum(cpuAfter!) - sum(cpuBefore!),
    lazyLinks,
    convergedAfterMs: Number.isNaN(convergedAt) ? NaN : convergedAt - last,
    wallMs: performance.now() - wallStart
  })
  return { figures: f, world: w }
}

function diff (a: Totals, b: Totals): Totals {
  const out = { ...a }
  for (const k of Object.keys(out) as Array<keyof Totals>) out[k] = a[k] - b[k]
  return out
}

function sum (a: Float64Array): number { let s = 0; for (const x of a) s += x; return s }

/** Links (between live nodes) that at least one end holds lazy. */
function countLazyLinks (w: World): number {
  let n = 0
  for (const node of w.nodes) {
    if (!node.alive) continue
    for (const [peer, link] of node.links) {
      if (peer < node.index) continue
      const other = w.nodes[peer]
      const lazyHere = !node.hostile && !node.tree.isEager(String(peer))
      const lazyThere = !other.hostile && !other.tree.isEager(String(node.index))
      if (link.open && (lazyHere || lazyThere || node.hostile || other.hostile)) n++
    }
  }
  return n
}
