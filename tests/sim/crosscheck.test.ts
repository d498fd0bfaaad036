// The cross-check of the simulator against the bench (crosscheck.ts, SCALING-MODEL.md §2):
// that it takes each model input from the figure it names, computes the comparison it
// prints, and holds for the recorded full bench run. No timing is asserted: the bench's
// figures are recorded, and the sim's are a function of its seed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { compare, crossCheck, hostModel, readBench, SCHEDULE, simulate, SLOW_MS, TOLERANCE } from './crosscheck.js'
import { fitFromBench } from './cpu.js'
import { percentile } from '../../bench/lib/stats.js'

const FULL = 'bench/results/2026-11-30T030636-full.json'
const dir = mkdtempSync(join(tmpdir(), 'sim-crosscheck-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A copy of the full run with `change` applied to its parsed JSON. */
function variant (name: string, change: (doc: any) => void): string {
  const doc = JSON.parse(readFileSync(FULL, 'utf8'))
  change(doc)
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(doc))
  return path
}

describe('the cross-check against the bench', () => {
  it('takes each model input from the figure it names (recorded, or derived from the schedule)', () => {
    const b = readBench(FULL)
    const fit = fitFromBench(FULL)
    const d = JSON.parse(readFileSync(FULL, 'utf8')).results['50']
    const m = hostModel(b, 50, fit)
    expect(m.cores).toBe(2)
    expect(m.joinSpread).toBe(d.datamesher.start_all_ms)
    expect(m.busyCores).toBeCloseTo(d.noise.idle_window_machine_busy_pct / 100, 10)
    expect(m.simIdleCores).toBeGreaterThan(0)
    expect(m.simIdleCores).toBeLessThan(m.busyCores)
    expect(m.stretch).toBeCloseTo(2 / (2 - (m.busyCores - m.simIdleCores)), 10)
    // this file predates the recorded schedule: both derived
    expect(m.derived).toEqual(['settle', 'gap'])
    // the data-mesher round inside the gap is the sim's own (not the bench's p50, which is what is checked)
    const rest = d.serf.small_update_p50_ms + 2 * (SCHEDULE.sleepMs + SCHEDULE.quiesceMs)
    expect(m.gap).toBeGreaterThan(rest)
    expect(m.gap).toBeLessThan(rest + 1000)
    const gap = m.gap
    const first = Math.max(d.datamesher.formed_ms, d.serf.formed_ms - d.datamesher.start_all_ms) + SCHEDULE.baselineMs + SCHEDULE.calibrateMs
    // the settle is rounded from the unrounded gap, m.gap is rounded too: within ½ + 2 × ½ ms
    expect(Math.abs(m.settle - (first + 2 * gap))).toBeLessThanOrEqual(1.5)

    const recorded = variant('recorded.json', doc => {
      doc.results['50'].datamesher.small_update_first_round_after_start_ms = 4000
      doc.results['50'].datamesher.small_update_round_gap_ms_p50 = 2500
    })
    const r = hostModel(readBench(recorded), 50, fit)
    expect(r.derived).toEqual([])
    expect(r.gap).toBe(2500)
    expect(r.settle).toBe(4000 + 2 * 2500)
  })

  it('says which figure is missing, and refuses what it cannot check', () => {
    const noBusy = variant('no-busy.json', doc => { delete doc.results['25'].noise.idle_window_machine_busy_pct })
    expect(() => readBench(noBusy)).toThrow(/N = 25: noise\.idle_window_machine_busy_pct is missing/)
    const noCpus = variant('no-cpus.json', doc => { delete doc.machine.cpus })
    expect(() => readBench(noCpus)).toThrow(/machine\.cpus is missing/)
    const unformed = variant('unformed.json', doc => { doc.results['50'].datamesher.formed_ms = null })
    expect(() => hostModel(readBench(unformed), 50, fitFromBench(unformed))).toThrow(/N = 50: formed_ms of datamesher is missing/)
    const notBench = join(dir, 'not-bench.json'); writeFileSync(notBench, '{"figures": {}}')
    expect(() => readBench(notBench)).toThrow(/not a bench results file/)
    const full = variant('busy.json', doc => { doc.results['50'].noise.idle_window_machine_busy_pct = 250 })
    expect(() => hostModel(readBench(full), 50, fitFromBench(full))).toThrow(/no core left/)
    expect(() => crossCheck(FULL, [1], [5])).toThrow(/calibrates at the file's smallest size \(5\)/)
    expect(() => hostModel(readBench(FULL), 100, fitFromBench(FULL))).toThrow(/no N = 100/)
  })

  it('compares what it says: the sim p50 over its rounds plus the calibrated path, against the bench p50', () => {
    const b = readBench(FULL)
    const fit = fitFromBench(FULL)
    const m = hostModel(b, 25, fit)
    const rounds = simulate(m, fit, [1], 30)
    expect(rounds.last).toHaveLength(30)
    const c = compare(b, 25, rounds, m, 7)
    expect(c.sim.p50).toBe(percentile(rounds.last.map(x => x + 7), 50))
    expect(c.ratio).toBe(c.sim.p50 / 96.6)
    expect(c.within).toBe(Math.abs(c.ratio - 1) <= TOLERANCE)
    expect(c.bench.slowShare).toBeCloseTo(1 / 30, 10) // one round of 30 at N = 25 needed a repair (534 ms)
    expect(c.bench.fastP50).toBe(percentile(b.sizes.get(25)!.samples!.filter(x => x <= SLOW_MS), 50))
  })

  it('reproduces the full bench run at N = 25 and 50 within ±30% (seeds 1–3), and fails a bench it does not reproduce', () => {
    const c = crossCheck(FULL)
    // the calibration: bench p50 at N = 5 less the sim's there
    expect(c.calibration.n).toBe(5)
    expect(c.calibration.fixedPathMs * c.calibration.stretch).toBeCloseTo(25.4 - c.calibration.simP50, 10)
    expect(c.sizes.map(s => s.n)).toEqual([25, 50])
    for (const s of c.sizes) {
      expect(s.fixedPathMs).toBeCloseTo(c.calibration.fixedPathMs * s.model.stretch, 10)
      expect(s.within, `N = ${s.n}: sim ${s.sim.p50.toFixed(1)} ms against bench ${s.bench.p50} ms`).toBe(true)
    }
    // a bench twice as slow at N = 50 is not reproduced: the check can fail (the bench's
    // p50 feeds no input of the model: the data-mesher round in the gap is the sim's own)
    const slower = variant('slower.json', doc => {
      const dm = doc.results['50'].datamesher
      dm.small_update_p50_ms *= 2
      dm.small_update_samples_ms = dm.small_update_samples_ms.map((x: number) => 2 * x)
    })
    const s = crossCheck(slower, [1], [50]).sizes[0]
    expect(s.ratio).toBeLessThan(1 - TOLERANCE)
    expect(s.within).toBe(false)
  })

  it('before (every node on 2 cores with the fitted costs, but the sim\'s own start and 1-s gap, no host load, nothing calibrated) N = 50 was outside: 0.67×', () => {
    const b = readBench(FULL)
    const fit = fitFromBench(FULL)
    const before = { ...hostModel(b, 50, fit), stretch: 1, joinSpread: 2_000, settle: 40_000, gap: 1_000 }
    const c = compare(b, 50, simulate(before, fit, [1, 2, 3], 30), before, 0)
    expect(c.ratio).toBeLessThan(1 - TOLERANCE)
    expect(c.within).toBe(false)
  })

  it('reproduces the other runs of the same protocol at N = 25 within ±30% (each with its own fit, load and calibration)', () => {
    // the quick runs have N = 5 and 25 only; 2026-12-07T020057 is the median of three runs
    for (const file of ['bench/results/2026-11-30T032538-quick.json', 'bench/results/2026-11-30T034444-quick.json', 'bench/results/2026-12-07T020057-quick.json']) {
      const s = crossCheck(file).sizes[0]
      expect(s.n).toBe(25)
      expect(s.within, `${file}: sim ${s.sim.p50.toFixed(1)} ms against bench ${s.bench.p50} ms`).toBe(true)
    }
  })

  it('refuses a run whose host other work saturated (2026-12-07T024303: busy 200% when idle)', () => {
    expect(() => crossCheck('bench/results/2026-12-07T024303-quick.json')).toThrow(/200% busy \(other work saturated it\)/)
  })
})
