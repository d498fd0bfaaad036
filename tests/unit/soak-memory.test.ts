// The soak's memory figures: the fitted growth rate after the warm-up, and the heap
// comparison that names what grew (scripts/lib/memory-trend.ts, heap-summary.ts).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeHeapSnapshot } from 'node:v8'
import { describe, expect, it } from 'vitest'
import { memoryTrend, slope } from '../../scripts/lib/memory-trend.ts'
import { compareSnapshotFiles } from '../../scripts/lib/heap-summary.ts'

const MiB = 1024 * 1024

describe('memoryTrend', () => {
  it('fits MiB per hour over the samples after the warm-up only', () => {
    // 100 MiB flat for the warm-up's 15 minutes... then 1 MiB every 10 minutes (6 MiB/h), with GC noise
    const samples = Array.from({ length: 121 }, (_, m) => {
      const at = m * 60_000
      const base = m < 15 ? 100 + m : 115 + (m - 15) / 10
      const noise = m % 2 === 0 ? 0.5 : -0.5
      return { at, rss: (base + noise) * MiB, anon: (base / 2) * MiB }
    })
    const t = memoryTrend(samples, 15 * 60_000)!
    expect(t.samples).toBe(106)
    expect(t.rssMiBPerHour).toBeCloseTo(6, 1)
    expect(t.anonMiBPerHour).toBeCloseTo(3, 1)
    // with the warm-up's climb (60 MiB/h) in the fit, the rate is overstated
    expect(memoryTrend(samples, 0)!.rssMiBPerHour).toBeGreaterThan(8)
  })

  it('reports the largest value per window and their slope: level for a saw-tooth, the rate for steady growth', () => {
    // the 2-hour soak's node 0, in shape: climbs to ~121 MiB, gives 27 back at 70 min, climbs back, stays
    const saw = Array.from({ length: 121 }, (_, m) => {
      const level = m < 30 ? 90 + m : m < 70 ? 119 + (m - 30) / 16 : m < 90 ? 94 + (m - 70) * 1.3 : 120 + Math.min(1.5, (m - 90) / 20)
      return { at: m * 60_000, rss: level * MiB, anon: level * MiB }
    })
    const t = memoryTrend(saw, 15 * 60_000)!
    expect(t.rssMiBPerHour).toBeGreaterThan(2) // the fit over the saw-tooth
    expect(t.rssPeaksMiB).toHaveLength(4) // 15-45, 45-75, 75-105, 105-120 min
    expect(Math.abs(t.rssPeakMiBPerHour)).toBeLessThan(2)
    // steady growth of 6 MiB/h shows in the peaks too
    const steady = Array.from({ length: 121 }, (_, m) => ({ at: m * 60_000, rss: (100 + m / 10 + (m % 2 === 0 ? 0.5 : -0.5)) * MiB, anon: 0 }))
    expect(memoryTrend(steady, 15 * 60_000)!.rssPeakMiBPerHour).toBeCloseTo(6, 0)
  })

  it('has no trend with fewer than two samples, and a flat series has none', () => {
    expect(memoryTrend([{ at: 0, rss: 1, anon: 1 }], 0)).toBeUndefined()
    expect(slope([1, 2, 3], [5, 5, 5])).toBe(0)
    expect(slope([2, 2], [1, 3])).toBe(0)
  })
})

describe('heap snapshots compared', () => {
  class SoakGrowthProbe { constructor (readonly n: number) {} }
  it('name the constructor whose objects were added between two snapshots', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dm-heap-'))
    const kept: SoakGrowthProbe[] = []
    try {
      const before = writeHeapSnapshot(join(dir, 'before.heapsnapshot'))
      for (let i = 0; i < 5000; i++) kept.push(new SoakGrowthProbe(i))
      const after = writeHeapSnapshot(join(dir, 'after.heapsnapshot'))
      const grown = compareSnapshotFiles(before, after, 50)
      const probe = grown.find(g => g.name === 'SoakGrowthProbe')
      expect(probe?.count).toBe(5000)
      expect(probe!.bytes).toBeGreaterThan(0)
      expect(kept.length).toBe(5000)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
