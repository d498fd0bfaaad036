// The cross-check of the simulator against a bench run (docs/SCALING-MODEL.md §2,
// `npm run sim -- --crosscheck bench/results/FILE.json`): the sim is run with what that
// run's bench MEASURED on its host, and its times per round are set beside the bench's.
//
// What the bench measures and the sim must stand in for (bench/run.ts, dmSmallRound): the
// time from the UpdateFile call on the origin until every node's WatchFiles UPDATED event
// reached the bench process; N daemons and N serf agents on one host of `machine.cpus`
// cores; 30 rounds (quick: 20), the first right after the cluster formed, apart by the
// serf round, two quiesce waits and two short sleeps.
//
// Which measured figure of the file feeds which model input (`hostModel`; nothing is
// tuned to the answer):
//   CPU per message and per new version   the fit c(p) = a + b·p of small_update_cpu_ms_per_node
//                                         against peers_mean over the file's sizes (cpu.ts)
//   cores                                 machine.cpus, all nodes on them (--shared-cores)
//   the host's background load            noise.idle_window_machine_busy_pct at that N: the
//                                         cores the idle cluster, serf and everything else
//                                         kept busy, less what the simulated cluster does
//                                         itself when idle (anti-entropy, peer exchange);
//                                         the sim's costs are stretched by
//                                         cores / (cores − that) (processor sharing)
//   how young the overlay is              start_all_ms (the sim's joinSpread) and the time
//                                         from the last start to the first measured round
//   the time between updates              the time between data-mesher rounds
//   the path the sim has no model of      calibrated once, at the file's smallest size
//   (gRPC in at the origin, the watch     (N = 5, where the tree is one or two hops and the
//   event out of every node to the bench) host nearly idle): bench p50 − sim p50 there;
//                                         added to every round at the larger sizes, stretched
//                                         by their load as the costs are
// The last three come from the file when it records them (small_update_first_round_after_start_ms,
// small_update_round_gap_ms_p50, since this cross-check); for older files they are derived
// from its other figures and the bench's schedule (`derived` says which).
import { readFileSync } from 'node:fs'
import { linearFit, percentile } from '../../bench/lib/stats.js'
import { costsFrom, fitFromBench, type CostFit, type CpuCosts } from './cpu.js'
import { runScenario } from './scenarios.js'
import { VIA_TREE } from './announce-driver.js'
import type { Figures } from './figures.js'

/** What the cross-check reads from one size of a bench results file. */
export interface BenchSize {
  n: number
  p50: number
  /** every round's time; absent from a file that is the median of several runs */
  samples?: number[]
  rounds: number
  hop0: number
  perHop: number
  hopsMaxP50: number
  cpuMsPerNode: number
  peersMean: number
  fullCopiesPerNode?: number
  startAllMs: number
  /** null in a run where the cluster did not form in time: then only a recorded first round will do */
  formedMs?: number
  serfFormedMs?: number
  serfP50: number
  busyPct: number
  firstRoundAfterStartMs?: number
  roundGapMsP50?: number
}

export interface BenchFile { path: string, cores: number, sizes: Map<number, BenchSize> }

type Obj = Record<string, unknown>

export function readBench (path: string): BenchFile {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { machine?: Obj, results?: Record<string, { datamesher?: Obj, serf?: Obj, noise?: Obj }> }
  if (doc.results === undefined) throw new Error(`${path}: not a bench results file (no "results")`)
  const cores = doc.machine?.cpus
  if (typeof cores !== 'number' || !(cores >= 1)) throw new Error(`${path}: machine.cpus is missing`)
  const sizes = new Map<number, BenchSize>()
  for (const [key, r] of Object.entries(doc.results)) {
    const n = Number(key)
    const num = (o: Obj | undefined, field: string, what: string): number => {
      const v = o?.[field]
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${path}: N = ${n}: ${what}.${field} is missing or not a number`)
      return v
    }
    const opt = (o: Obj | undefined, field: string): number | undefined => typeof o?.[field] === 'number' ? o[field] as number : undefined
    const d = r.datamesher; const s = r.serf
    const samples = Array.isArray(d?.small_update_samples_ms) ? d.small_update_samples_ms as number[] : undefined
    sizes.set(n, {
      n,
      p50: num(d, 'small_update_p50_ms', 'datamesher'),
      samples,
      rounds: num(d, 'small_update_rounds', 'datamesher'),
      hop0: num(d, 'small_update_hop0_ms', 'datamesher'),
      perHop: num(d, 'small_update_per_hop_ms', 'datamesher'),
      hopsMaxP50: num(d, 'small_update_hops_max_p50', 'datamesher'),
      cpuMsPerNode: num(d, 'small_update_cpu_ms_per_node', 'datamesher'),
      peersMean: num(d, 'peers_mean', 'datamesher'),
      fullCopiesPerNode: opt(d, 'small_update_full_copies_per_node'),
      startAllMs: num(d, 'start_all_ms', 'datamesher'),
      formedMs: opt(d, 'formed_ms'),
      serfFormedMs: opt(s, 'formed_ms'),
      serfP50: num(s, 'small_update_p50_ms', 'serf'),
      busyPct: num(r.noise, 'idle_window_machine_busy_pct', 'noise'),
      firstRoundAfterStartMs: opt(d, 'small_update_first_round_after_start_ms'),
      roundGapMsP50: opt(d, 'small_update_round_gap_ms_p50')
    })
  }
  return { path, cores, sizes }
}

/**
 * The bench's schedule (bench/run.ts) where a file does not record it. Checked against the
 * one run that records it (2026-12-07T024303-quick.json, N = 5 and 50): the first round
 * derived 5,337 and 7,067 ms after the last start, recorded 5,357 and 7,122. The quiesce
 * wait is taken from it: its gaps between rounds (1,983 and 3,492 ms) less its two
 * systems' round times and sleeps leave 686 and 786 ms a wait (its host was saturated by
 * other work, so these may be long; ±400 ms of gap moves the cross-check's ratio at
 * N = 50 between 0.96× and 1.05×, +800 ms to 1.14×; SCALING-MODEL.md §2).
 */
export const SCHEDULE = {
  /** backgroundCores: 1 s, then 2 s of CPU sampled, after the cluster formed */
  baselineMs: 3_000,
  /** calibrateSerf: its binary search of event sizes (tens of ms), then 2 s for the events to pass */
  calibrateMs: 2_000,
  /** warm-up rounds before the measured ones */
  warmups: 2,
  /** per round and system: a sleep of 100–300 ms, and a quiesce wait in 200 ms samples
   *  until the system's CPU is back to its background (the recorded run: ~700 ms a wait) */
  sleepMs: 200,
  quiesceMs: 700
}

/** The sim's inputs for size n, each from a measured figure of the file (see the header). */
export interface HostModel {
  n: number
  cores: number
  /** cores the idle host was busy (the bench's measure) */
  busyCores: number
  /** of those, what the sim already runs itself when idle (anti-entropy, peer exchange; `simIdleCores`) */
  simIdleCores: number
  /** cores / (cores − (busyCores − simIdleCores)): every CPU cost is stretched by it */
  stretch: number
  joinSpread: number
  /** from the last start to the first measured round (the sim's `settle`) */
  settle: number
  gap: number
  /** which of settle and gap were derived from the schedule rather than recorded */
  derived: string[]
}

export function hostModel (b: BenchFile, n: number, fit: CostFit): HostModel {
  const s = b.sizes.get(n)
  if (s === undefined) throw new Error(`${b.path}: no N = ${n} in it (it has ${[...b.sizes.keys()].join(', ')})`)
  const busyCores = Math.max(0, s.busyPct) / 100
  if (busyCores >= b.cores) throw new Error(`${b.path}: N = ${n}: the idle host was ${s.busyPct}% busy (other work saturated it), no core left to model`)
  const derived: string[] = []
  let first = s.firstRoundAfterStartMs
  if (first === undefined) {
    derived.push('settle')
    if (s.formedMs === undefined || s.serfFormedMs === undefined) throw new Error(`${b.path}: N = ${n}: formed_ms of ${s.formedMs === undefined ? 'datamesher' : 'serf'} is missing (the cluster did not form in time) and the first round's time is not recorded`)
    // serf's formation is timed from its own start, just before the daemons' (bench/run.ts)
    first = Math.max(s.formedMs, s.serfFormedMs - s.startAllMs) + SCHEDULE.baselineMs + SCHEDULE.calibrateMs
  }
  const joinSpread = Math.max(1, Math.round(s.startAllMs))
  const model = (gap: number): HostModel => {
    const settle = Math.round(first! + SCHEDULE.warmups * gap)
    // the idle cluster's own work is in the bench's busy figure and in the sim: counted once
    const simIdle = simIdleCores(n, b.cores, fit, joinSpread, settle)
    const background = Math.max(0, busyCores - simIdle)
    return { n, cores: b.cores, busyCores, simIdleCores: simIdle, stretch: b.cores / (b.cores - background), joinSpread, settle, gap: Math.round(gap), derived }
  }
  if (s.roundGapMsP50 !== undefined) return model(s.roundGapMsP50)
  derived.push('gap')
  // the gap holds a data-mesher round, the very time being checked: the sim's own round
  // time stands in for it (a first pass without it, seed 1), never the bench's
  const rest = s.serfP50 + 2 * (SCHEDULE.sleepMs + SCHEDULE.quiesceMs)
  const own = percentile(simulate(model(rest), fit, [1], s.rounds).last, 50)
  return model(rest + own)
}

/** Cores the simulated cluster keeps busy when idle: its CPU over 60 s more of settling (seed 1; the runs are equal up to then). */
export function simIdleCores (n: number, cores: number, fit: CostFit, joinSpread: number, settle: number): number {
  const used = (extra: number): number => {
    const { world } = runScenario({ scenario: 'stable', nodes: n, seed: 1, updates: 1, profile: 'host', sharedCores: cores, costs: costsFrom(fit), joinSpread, settle: settle + extra })
    let total = 0
    for (const x of world.cpu.used) total += x
    return total
  }
  return (used(60_000) - used(0)) / 60_000
}

export function stretched (costs: CpuCosts, by: number): CpuCosts {
  const out = { ...costs }
  for (const k of Object.keys(out) as Array<keyof CpuCosts>) out[k] *= by
  return out
}

/** The sim's rounds at size n under the host model: per measured update, the time to its last delivery and the (hop, time) of every tree delivery. */
export interface SimRounds { n: number, seeds: number[], last: number[], pairs: Array<[number, number]>, maxHops: number[], figures: Figures[] }

export function simulate (model: HostModel, fit: CostFit, seeds: number[], updates: number): SimRounds {
  const costs = stretched(costsFrom(fit), model.stretch)
  const out: SimRounds = { n: model.n, seeds, last: [], pairs: [], maxHops: [], figures: [] }
  for (const seed of seeds) {
    const { figures, world } = runScenario({
      scenario: 'stable',
      nodes: model.n,
      seed,
      updates,
      gap: model.gap,
      profile: 'host',
      sharedCores: model.cores,
      costs,
      joinSpread: model.joinSpread,
      settle: model.settle
    })
    out.figures.push(figures)
    const m = world.metrics
    for (let u = 0; u < updates; u++) {
      const r = m.records[u]
      if (r === undefined) throw new Error(`update ${u} was not published`)
      let last = -Infinity; let maxHop = 0
      for (const node of world.nodes) {
        const k = u * m.cap + node.index
        const at = m.deliveredAt[k]
        if (Number.isNaN(at)) continue
        if (at - r.publishedAt > last) last = at - r.publishedAt
        // the bench's depth: hops along the senders of first arrivals (the origin 0; anti-entropy deliveries have none)
        if (node.index === r.origin || m.via[k] === VIA_TREE) {
          const hop = node.index === r.origin ? 0 : m.hop[k]
          out.pairs.push([hop, at - r.publishedAt])
          if (hop > maxHop) maxHop = hop
        }
      }
      out.last.push(last)
      out.maxHops.push(maxHop)
    }
  }
  return out
}

/** One size, side by side: the bench's figures, the sim's under the model, their ratio. */
export interface Comparison {
  n: number
  model: HostModel
  /** ms added to every simulated round: the calibrated path times this size's stretch */
  fixedPathMs: number
  bench: { p50: number, slowShare: number, fastP50: number, hop0: number, perHop: number, hopsMaxP50: number, cpuMsPerNode: number }
  sim: { p50: number, p50PerSeed: number[], slowShare: number, fastP50: number, hop0: number, perHop: number, hopsMaxP50: number, cpuMsPerNode: number, figures: Figures[] }
  /** sim p50 / bench p50 */
  ratio: number
  within: boolean
}

/** A round slower than this needed a tree repair (a notice waits 125–375 ms, then a GRAFT): the bench's N = 25 and 50 rounds split there. */
export const SLOW_MS = 300
/** the cross-check's bound: sim p50 within ±30% of the bench's */
export const TOLERANCE = 0.3

export function compare (b: BenchFile, n: number, rounds: SimRounds, model: HostModel, fixedPathMs: number): Comparison {
  const s = b.sizes.get(n)!
  const last = rounds.last.map(x => x + fixedPathMs)
  const pairs = rounds.pairs.map(([h, t]) => [h, t + fixedPathMs] as const)
  const fit = linearFit(pairs.map(p => p[0]), pairs.map(p => p[1]))
  const per = rounds.seeds.map((_, i) => percentile(last.slice(i * (last.length / rounds.seeds.length), (i + 1) * (last.length / rounds.seeds.length)), 50))
  const p50 = percentile(last, 50)
  const ratio = p50 / s.p50
  return {
    n,
    model,
    fixedPathMs,
    bench: { p50: s.p50, slowShare: s.samples === undefined ? NaN : share(s.samples), fastP50: s.samples === undefined ? NaN : fastP50(s.samples), hop0: s.hop0, perHop: s.perHop, hopsMaxP50: s.hopsMaxP50, cpuMsPerNode: s.cpuMsPerNode },
    sim: {
      p50,
      p50PerSeed: per,
      slowShare: share(last),
      fastP50: fastP50(last),
      hop0: fit.a,
      perHop: fit.b,
      hopsMaxP50: percentile(rounds.maxHops, 50),
      // the model's own CPU, without the host's stretch, and its idle work taken out as the bench takes it out
      cpuMsPerNode: mean(rounds.figures.map(f => f.cpuMsPerNodeUpdate)) / model.stretch - model.simIdleCores * model.gap / n,
      // every seed's figures (full copies, notices, peers, ...), as `npm run sim` reports them
      figures: rounds.figures
    },
    ratio,
    within: Math.abs(ratio - 1) <= TOLERANCE
  }
}

const share = (xs: number[]): number => xs.filter(x => x > SLOW_MS).length / xs.length
const fastP50 = (xs: number[]): number => percentile(xs.filter(x => x <= SLOW_MS), 50)
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

export interface CrossCheck {
  file: string
  fit: CostFit
  /** the size the unmodelled path is calibrated at, and what it came to there (ms, before stretching) */
  calibration: { n: number, benchP50: number, simP50: number, fixedPathMs: number, stretch: number }
  seeds: number[]
  updates: number
  sizes: Comparison[]
}

/** Runs the cross-check of `path` at `sizes` (default: every size of the file above the smallest). */
export function crossCheck (path: string, seeds: number[] = [1, 2, 3], sizes?: number[]): CrossCheck {
  const b = readBench(path)
  const fit = fitFromBench(path)
  const all = [...b.sizes.keys()].sort((x, y) => x - y)
  const n0 = all[0]
  const targets = sizes ?? all.slice(1)
  if (targets.length === 0) throw new Error(`${path}: needs a size above N = ${n0} to check (N = ${n0} calibrates)`)
  for (const n of targets) if (n <= n0) throw new Error(`N = ${n}: the cross-check calibrates at the file's smallest size (${n0}) and checks larger ones only`)
  const updatesOf = (n: number): number => b.sizes.get(n)!.rounds
  // calibration: what the sim leaves out of the bench's round at the smallest size
  const m0 = hostModel(b, n0, fit)
  const r0 = simulate(m0, fit, seeds, updatesOf(n0))
  const simP50 = percentile(r0.last, 50)
  const base = (b.sizes.get(n0)!.p50 - simP50) / m0.stretch
  const out: CrossCheck = {
    file: path,
    fit,
    calibration: { n: n0, benchP50: b.sizes.get(n0)!.p50, simP50, fixedPathMs: base, stretch: m0.stretch },
    seeds,
    updates: Math.max(...targets.map(updatesOf)),
    sizes: []
  }
  for (const n of targets) {
    const model = hostModel(b, n, fit)
    const rounds = simulate(model, fit, seeds, updatesOf(n))
    out.sizes.push(compare(b, n, rounds, model, base * model.stretch))
  }
  return out
}

/** A table of the cross-check, sim beside bench. */
export function crossCheckTable (c: CrossCheck): string {
  const f = (x: number, d = 1): string => Number.isFinite(x) ? x.toFixed(d) : '–'
  const pct = (x: number): string => Number.isFinite(x) ? `${Math.round(x * 100)}%` : '–'
  const lines: string[] = []
  lines.push(`cross-check of ${c.file}, seeds ${c.seeds.join(',')}`)
  lines.push(`costs: c(p) = ${f(c.fit.fixed, 2)} + ${f(c.fit.perPeer, 3)}·p ms; unmodelled path (API in, watch events out), calibrated at N = ${c.calibration.n}: bench p50 ${f(c.calibration.benchP50)} − sim ${f(c.calibration.simP50)} = ${f(c.calibration.fixedPathMs)} ms (÷ its stretch ${f(c.calibration.stretch, 2)})`)
  const head = ['', ...c.sizes.flatMap(s => [`N=${s.n} bench`, `N=${s.n} sim`])]
  const rows: string[][] = [head]
  const row = (label: string, b: (s: Comparison) => string, s: (s: Comparison) => string): void => { rows.push([label, ...c.sizes.flatMap(x => [b(x), s(x)])]) }
  row('host busy cores (sim idle); stretch', x => f(x.model.busyCores, 2), x => `(${f(x.model.simIdleCores, 2)}) ${f(x.model.stretch, 2)}`)
  row('join spread; settle; gap (ms)', x => `${x.model.joinSpread}; ${x.model.settle}; ${x.model.gap}`, x => x.model.derived.length > 0 ? `derived: ${x.model.derived.join(', ')}` : 'recorded')
  row('unmodelled path added (ms)', () => '', x => f(x.fixedPathMs))
  row('last delivery p50 (ms)', x => f(x.bench.p50), x => `${f(x.sim.p50)} (${x.sim.p50PerSeed.map(v => f(v, 0)).join('/')})`)
  row('sim / bench', () => '', x => `${f(x.ratio, 2)}× ${x.within ? 'within' : 'OUTSIDE'} ±${Math.round(TOLERANCE * 100)}%`)
  row(`rounds over ${SLOW_MS} ms (a repair)`, x => pct(x.bench.slowShare), x => pct(x.sim.slowShare))
  row(`p50 of the rounds under ${SLOW_MS} ms`, x => f(x.bench.fastP50), x => `${f(x.sim.fastP50)} (${f(x.sim.fastP50 / x.bench.fastP50, 2)}×)`)
  row('hop 0; ms per hop (fit)', x => `${f(x.bench.hop0)}; ${f(x.bench.perHop)}`, x => `${f(x.sim.hop0)}; ${f(x.sim.perHop)}`)
  row('hops to the last node (p50)', x => f(x.bench.hopsMaxP50, 0), x => f(x.sim.hopsMaxP50, 0))
  row('CPU per update per node (ms)', x => f(x.bench.cpuMsPerNode), x => f(x.sim.cpuMsPerNode))
  const w = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  for (const r of rows) lines.push(r.map((x, i) => i === 0 ? x.padEnd(w[i]) : x.padStart(w[i])).join('  '))
  return lines.join('\n')
}
