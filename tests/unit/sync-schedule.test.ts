// The anti-entropy schedule's core (src/mesh/proto/sync-schedule.ts): after a failed round
// the timer starts one with another peer at once, and the failed peer is avoided for a
// while (doubling per failure in a row, forgotten on a success), never banned: when
// every peer is backed off the timer still picks one. Driven with time passed in and a
// seeded random source, as the daemon and the simulator drive it.
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/mesh/proto/random.js'
import { SyncSchedule } from '../../src/mesh/proto/sync-schedule.js'
import { DEFAULT_MESH_SETTINGS as D } from '../../src/mesh/settings.js'

const SHAPE = { interval: 5_000, backoff: D.syncBackoff, backoffMax: D.syncBackoffMax, maxPeers: 4 }
const PEERS = ['silent', 'a', 'b', 'c']

function schedule (seed = 1): SyncSchedule { return new SyncSchedule(SHAPE, seededRandom(seed)) }

/** The timer's pick on a tick that is not skipped. */
function pick (s: SyncSchedule, peers: readonly string[], now: number): string | undefined {
  const d = s.tick(peers, now)
  return d.kind === 'round' ? d.peer : undefined
}

describe('SyncSchedule', () => {
  it('a failed timer round is followed at once by a round with another peer, and the failed peer is not picked during its backoff', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const s = schedule(seed)
      const next = s.ended('silent', 'failed', 1_000, true, PEERS)
      expect(next).toBeDefined()
      expect(next).not.toBe('silent')
      expect(s.backedOff('silent', 1_000)).toBe(true)
      for (let t = 1_000; t < 1_000 + D.syncBackoff; t += 997) {
        s.arm()
        expect(pick(s, PEERS, t)).not.toBe('silent')
      }
      expect(s.backedOff('silent', 1_000 + D.syncBackoff)).toBe(false)
    }
  })

  it('a failed round that the timer did not start (a new connection, syncNow) backs the peer off but starts nothing', () => {
    const s = schedule()
    expect(s.ended('silent', 'failed', 0, false, PEERS)).toBeUndefined()
    expect(s.backedOff('silent', 0)).toBe(true)
  })

  it('a round that succeeded or was busy starts nothing more', () => {
    const s = schedule()
    for (const o of ['equal', 'exchanged', 'busy'] as const) expect(s.ended('a', o, 0, true, PEERS)).toBeUndefined()
  })

  it('retries are bounded by the peers: once each has failed, the timer waits for its next tick', () => {
    const s = schedule()
    const tried: string[] = []
    let next: string | undefined = pick(s, PEERS, 0)
    while (next !== undefined) {
      tried.push(next)
      expect(tried.length).toBeLessThanOrEqual(PEERS.length)
      next = s.ended(next, 'failed', 0, true, PEERS)
    }
    expect(new Set(tried).size).toBe(PEERS.length)
  })

  it('backoff is a preference, not a ban: with every peer backed off, the timer still picks one', () => {
    const s = schedule()
    for (const p of PEERS) s.ended(p, 'failed', 0, false, [])
    expect(PEERS.every(p => s.backedOff(p, 1))).toBe(true)
    s.arm()
    expect(PEERS).toContain(pick(s, PEERS, 1))
  })

  it('backoff doubles per failure in a row up to syncBackoffMax, and a success forgets it', () => {
    const s = schedule()
    let now = 0
    const waits: number[] = []
    for (let i = 0; i < 7; i++) {
      s.ended('silent', 'failed', now, false, [])
      let until = now
      while (s.backedOff('silent', until)) until += 1_000
      waits.push(until - now)
      now = until // tried again as soon as its backoff ended, and failed again
    }
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 480_000, 480_000])
    s.ended('silent', 'equal', now, false, [])
    expect(s.backedOff('silent', now)).toBe(false)
    s.ended('silent', 'failed', now, false, [])
    expect(s.backedOff('silent', now + D.syncBackoff)).toBe(false) // a success started it over
  })

  it('a failure long after the last backoff ended starts over at syncBackoff (an honest peer that was slow once)', () => {
    const s = schedule()
    s.ended('slow', 'failed', 0, false, [])
    s.ended('slow', 'failed', 30_000, false, [])
    const later = 30_000 + 60_000 + D.syncBackoffMax + 1
    s.ended('slow', 'failed', later, false, [])
    expect(s.backedOff('slow', later + D.syncBackoff - 1)).toBe(true)
    expect(s.backedOff('slow', later + D.syncBackoff)).toBe(false)
  })

  it('remembers at most maxPeers failing peers, the least recently failed forgotten first', () => {
    const s = schedule()
    for (const p of ['p1', 'p2', 'p3', 'p4', 'p5']) s.ended(p, 'failed', 0, false, [])
    expect(s.backedOff('p1', 0)).toBe(false)
    expect(['p2', 'p3', 'p4', 'p5'].every(p => s.backedOff(p, 0))).toBe(true)
    expect(s.backedOffCount(0)).toBe(4)
  })

  it('still skips a tick after answering a round, never twice in a row', () => {
    const s = schedule()
    s.arm(); s.answered()
    expect(s.tick(PEERS, 0).kind).toBe('skip')
    s.arm(); s.answered()
    expect(s.tick(PEERS, 0).kind).toBe('round')
    s.arm()
    expect(s.tick([], 0).kind).toBe('none')
  })

  it('arms the timer at the interval ±20%', () => {
    const s = schedule()
    for (let i = 0; i < 100; i++) {
      const d = s.arm()
      expect(d).toBeGreaterThanOrEqual(4_000)
      expect(d).toBeLessThanOrEqual(6_000)
    }
  })
})
