// src/daemon/large-content-gc.ts: one collection after a burst of large files has gone quiet.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LargeContentGc, v8Collector } from '../../src/daemon/large-content-gc.ts'

afterEach(() => { vi.useRealTimers() })

describe('LargeContentGc', () => {
  it('collects once, quietMs after the last large content; small content schedules nothing', () => {
    vi.useFakeTimers()
    let runs = 0
    const gc = new LargeContentGc(() => { runs++ }, { minBytes: 1000, quietMs: 10_000 })
    gc.note(999)
    vi.advanceTimersByTime(60_000)
    expect(runs).toBe(0)
    gc.note(1000)
    vi.advanceTimersByTime(6_000)
    gc.note(5000) // the burst goes on: the quiet period starts again
    vi.advanceTimersByTime(9_999)
    expect(runs).toBe(0)
    vi.advanceTimersByTime(1)
    expect(runs).toBe(1)
    vi.advanceTimersByTime(60_000)
    expect(runs).toBe(1)
    gc.note(2000)
    gc.stop()
    vi.advanceTimersByTime(60_000)
    expect(runs).toBe(1)
  })

  it('V8\'s collector frees an unreachable buffer, without a global gc', () => {
    const collect = v8Collector()
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined()
    let b: Uint8Array | undefined = new Uint8Array(32 * 1024 * 1024).fill(1)
    const held = process.memoryUsage().arrayBuffers
    b = undefined
    collect()
    expect(b).toBeUndefined()
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(held - 16 * 1024 * 1024)
  })
})
