import { describe, expect, it } from 'vitest'
import { updateCost, type CostSnap } from '../../bench/lib/cost.js'
import { median, spread } from '../../bench/lib/stats.js'
import { aggregateRuns, medianFigures } from '../../bench/lib/aggregate.js'

// Readings shaped like serf's at N = 5 (measured: 1.3 kB/s on lo in a 4 s window without
// a push-pull, 22-42 kB/s with one, once the bench has sent ~60 user events, because a
// push-pull carries the agents' recent user events): 10 updates, a 12 s phase.
const snaps = (o: { bytesBefore: number, phaseBytes: number, bytesAfter: number, cpuBefore?: number, phaseCpu?: number, cpuAfter?: number }): [CostSnap, CostSnap, CostSnap, CostSnap] => {
  const a = { cpu: 0, bytes: 0, t: 0 }
  const b = { cpu: (o.cpuBefore ?? 0.01) * 4, bytes: o.bytesBefore * 4, t: 4_000 }
  const c = { cpu: b.cpu + (o.phaseCpu ?? 0.3), bytes: b.bytes + o.phaseBytes, t: 16_000 }
  const d = { cpu: c.cpu + (o.cpuAfter ?? 0.01) * 4, bytes: c.bytes + o.bytesAfter * 4, t: 20_000 }
  return [a, b, c, d]
}

describe('bench: the cost of one update per node', () => {
  it('does not subtract a background window that held a periodic burst (serf printed −2,595 B at N = 5)', () => {
    // phase: 12 s of 1,335 B/s background, one push-pull (88 kB), the 10 events (30 kB)
    const phaseBytes = 1_335 * 12 + 88_000 + 30_000
    const cost = updateCost(...snaps({ bytesBefore: 22_000, phaseBytes, bytesAfter: 1_335 }), 10, 5)
    expect(cost.bytes).toBeGreaterThan(0)
    expect(cost.bytes).toBeCloseTo((phaseBytes - 1_335 * 12) / 50, 6)
    expect(cost.background.bytesBefore).toBe(22_000)
    expect(cost.background.bytesAfter).toBe(1_335)
  })

  it('says n/a rather than a negative cost when even the lower background exceeds the phase', () => {
    const cost = updateCost(...snaps({ bytesBefore: 22_000, phaseBytes: 50_000, bytesAfter: 42_000, cpuBefore: 0.2, phaseCpu: 0.5, cpuAfter: 0.3 }), 10, 5)
    expect(cost.bytes).toBeNaN()
    expect(cost.cpuMs).toBeNaN()
  })

  it('takes the lower background for CPU too, and divides by updates × nodes', () => {
    const cost = updateCost(...snaps({ bytesBefore: 1_000, phaseBytes: 1_000 * 12 + 50_000, bytesAfter: 2_000, cpuBefore: 0.05, phaseCpu: 0.05 * 12 + 0.25, cpuAfter: 0.02 }), 10, 5)
    expect(cost.bytes).toBeCloseTo(50_000 / 50, 6)
    expect(cost.cpuMs).toBeCloseTo((0.05 * 12 + 0.25 - 0.02 * 12) * 1000 / 50, 6)
  })
})

describe('bench: medians and spread of runs', () => {
  it('gives the median and min/max of the finite values', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([NaN, 5])).toBe(5)
    expect(median([])).toBeNaN()
    expect(spread([3, NaN, 1, 2])).toEqual({ min: 1, max: 3 })
  })
})

describe('bench: K runs of one size', () => {
  it('reports the median of the per-run ratios (not the ratio of the medians) and each figure\'s spread', () => {
    const run = (dm: number, serf: number, ok: boolean): { datamesher: Record<string, unknown>, serf: Record<string, unknown>, noise: Record<string, unknown>, ratio: Record<string, unknown> } =>
      ({ datamesher: { p50: dm, ok, samples: [dm] }, serf: { p50: serf }, noise: {}, ratio: { p50: dm / serf } })
    const r = aggregateRuns([run(30, 100, true), run(60, 120, true), run(40, 400, false)])
    expect(r.datamesher.p50).toBe(40)
    expect(r.serf.p50).toBe(120)
    expect(r.ratio.p50).toBe(0.3) // per run: 0.3, 0.5, 0.1; the ratio of the medians would say 0.333
    expect(r.spread.ratio.p50).toEqual([0.1, 0.5])
    expect(r.spread.datamesher.p50).toEqual([30, 60])
    expect(r.datamesher.ok).toBe(false)
    expect(r.datamesher.samples).toBeUndefined()
    expect(r.runs).toHaveLength(3)
  })

  it('keeps a figure no run could measure as null', () => {
    const r = medianFigures([{ bytes: null }, { bytes: null }])
    expect(r.value.bytes).toBeNull()
    expect(r.spread.bytes).toBeUndefined()
  })
})
