import { describe, expect, it } from 'vitest'
import { pingDue } from '../../src/mesh/proto/liveness.js'

describe('pingDue (src/mesh/proto/liveness.ts)', () => {
  const I = 120_000
  it('is due once a connection has been open, silent and unpinged for the interval', () => {
    expect(pingDue({ openedAt: 0 }, I - 1, I)).toBe(false)
    expect(pingDue({ openedAt: 0 }, I, I)).toBe(true)
  })
  it('is not due while something arrives within the interval, however long the connection is open', () => {
    for (let now = I; now < 10 * I; now += I / 4) expect(pingDue({ openedAt: 0, receivedAt: now - I / 2 }, now, I)).toBe(false)
  })
  it('counts from the last ping when nothing arrived since', () => {
    expect(pingDue({ openedAt: 0, receivedAt: 10, pingedAt: I }, 2 * I - 1, I)).toBe(false)
    expect(pingDue({ openedAt: 0, receivedAt: 10, pingedAt: I }, 2 * I, I)).toBe(true)
  })
})
