// When the peer exchange asks next (src/mesh/proto/exchange-schedule.ts): doubling while
// answers teach nothing, back to the base interval after one that does or when short of peers.
import { expect, it } from 'vitest'
import { ExchangeSchedule } from '../../src/mesh/proto/exchange-schedule.js'
import { seededRandom } from '../../src/mesh/proto/random.js'

const S = { peerExchangeInterval: 30_000, peerExchangeBackoffMax: 8 }

it('doubles the interval with each answer that teaches nothing, up to peerExchangeBackoffMax times it (±20%)', () => {
  const s = new ExchangeSchedule(S, seededRandom(1))
  const waits: number[] = []
  for (let i = 0; i < 6; i++) { waits.push(s.delay(false)); s.answered(false) }
  expect(waits[0]).toBeGreaterThanOrEqual(24_000); expect(waits[0]).toBeLessThanOrEqual(36_000)
  expect(waits[3]).toBeGreaterThanOrEqual(8 * 24_000); expect(waits[3]).toBeLessThanOrEqual(8 * 36_000)
  expect(waits[5]).toBeLessThanOrEqual(8 * 36_000)
  expect(s.backoff).toBe(8)
})

it('an answer that teaches, or being short of peers, brings it back to the base interval', () => {
  const s = new ExchangeSchedule(S, seededRandom(2))
  for (let i = 0; i < 4; i++) s.answered(false)
  s.answered(true)
  expect(s.backoff).toBe(1)
  for (let i = 0; i < 4; i++) s.answered(false)
  expect(s.delay(true)).toBeLessThanOrEqual(36_000)
  expect(s.backoff).toBe(1)
})
