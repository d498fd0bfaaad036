import { describe, expect, it } from 'vitest'
import { TokenBucket, TokenBuckets } from '../../src/mesh/proto/token-bucket.js'

describe('TokenBucket', () => {
  it('gives a burst, then nothing until time passes, then tokens at the rate, never more than the burst', () => {
    let now = 5_000
    const b = new TokenBucket({ burst: 3, perSecond: 2 }, () => now)
    expect(b.take(2)).toBe(2)
    expect(b.take(5)).toBe(1) // only what is left
    expect(b.take()).toBe(0)
    now += 499 // 2 a second: not yet one whole token
    expect(b.take()).toBe(0)
    now += 1 // the fractions add up: 0.998 + 0.002 = one token
    expect(b.take()).toBe(1)
    expect(b.take()).toBe(0)
    now += 60_000 // a long pause refills only up to the burst
    expect(b.take(10)).toBe(3)
  })

  it('takes nothing when a clock steps back, and does not go negative', () => {
    let now = 10_000
    const b = new TokenBucket({ burst: 1, perSecond: 1 }, () => now)
    expect(b.take()).toBe(1)
    now -= 5_000
    expect(b.take()).toBe(0)
    now += 1_000
    expect(b.take()).toBe(1)
  })
})

describe('TokenBuckets', () => {
  it('keeps one bucket per key: one key exhausted leaves the others full', () => {
    let now = 0
    const bs = new TokenBuckets({ burst: 2, perSecond: 1, maxKeys: 10 }, () => now)
    expect(bs.tryTake('a')).toBe(true)
    expect(bs.tryTake('a')).toBe(true)
    expect(bs.tryTake('a')).toBe(false)
    expect(bs.take('b', 5)).toBe(2)
    now += 1_000
    expect(bs.tryTake('a')).toBe(true)
    expect(bs.tryTake('a')).toBe(false)
  })

  it('holds at most maxKeys buckets, dropping the least recently used; a forgotten key starts full', () => {
    const now = 0
    const bs = new TokenBuckets({ burst: 1, perSecond: 0.001, maxKeys: 2 }, () => now)
    expect(bs.tryTake('a')).toBe(true)
    expect(bs.tryTake('b')).toBe(true)
    expect(bs.tryTake('a')).toBe(false) // a is now the most recently used
    expect(bs.tryTake('c')).toBe(true) // evicts b, not a
    expect(bs.size).toBe(2)
    expect(bs.tryTake('a')).toBe(false) // a kept its empty bucket
    expect(bs.tryTake('b')).toBe(true) // b was evicted: a fresh, full bucket
    bs.delete('b')
    expect(bs.tryTake('b')).toBe(true)
    bs.clear()
    expect(bs.size).toBe(0)
  })
})
