// proto/signer-turns.ts: past a node-wide rate, new versions wait for their signer's turn
// (signers in turn, the newest version per name); below it, nothing waits.
import { describe, expect, it } from 'vitest'
import { SignerTurns, type SignerTurnsSettings } from '../../src/mesh/proto/signer-turns.ts'
import { DEFAULT_MESH_SETTINGS } from '../../src/mesh/settings.ts'

interface V { signer: string, name: string, t: number }

const S: SignerTurnsSettings = { newVersionBurst: 16, newVersionsPerSecond: 10, newVersionQueueMax: 64, newVersionPerSigner: 8 }

function turns (s: SignerTurnsSettings = S): SignerTurns<V> {
  return new SignerTurns<V>(s, (a, b) => a.t - b.t)
}

function offer (q: SignerTurns<V>, v: V, now: number): ReturnType<SignerTurns<V>['offer']> {
  return q.offer(v.signer, v.name, v, now)
}

/** Drives the core as receive.ts does: due() at every wake, until `until`; returns what was released, with when. */
function drain (q: SignerTurns<V>, from: number, until: number): Array<{ v: V, at: number }> {
  const out: Array<{ v: V, at: number }> = []
  for (let at = q.wake(from); at !== undefined && at <= until; at = q.wake(at)) for (const v of q.due(at)) out.push({ v, at })
  return out
}

describe('no flood: nothing waits (the defaults)', () => {
  const D = DEFAULT_MESH_SETTINGS

  it('an honest signer updating one name every second for ten minutes: every version at once', () => {
    const q = turns(D)
    for (let i = 0; i < 600; i++) expect(offer(q, { signer: 'admin', name: 'bench/small', t: i }, 1_000_000 + i * 1000).verdict).toBe('now')
    expect(q.counters.queued).toBe(0)
  })

  it('12 names at once (again every 30 s), beside a machine updating its facts every second: every version at once', () => {
    const q = turns(D)
    for (let s = 0; s < 600; s++) {
      const now = 5_000 + s * 1000
      if (s % 30 === 0) for (let n = 0; n < 12; n++) expect(offer(q, { signer: 'admin', name: `file${n}`, t: s }, now).verdict).toBe('now')
      expect(offer(q, { signer: 'machine', name: 'facts.json', t: s }, now + 3).verdict).toBe('now')
    }
    expect(q.counters.queued).toBe(0)
  })

  it('a deploy of newVersionBurst files at once: every one at once', () => {
    const q = turns(D)
    for (let n = 0; n < D.newVersionBurst; n++) expect(offer(q, { signer: 'admin', name: `f${n}`, t: 1 }, 42).verdict).toBe('now')
  })
})

describe('past the node-wide rate', () => {
  it('a flood collapses: only the newest version of a name waits, an older one is superseded', () => {
    const q = turns()
    for (let i = 0; i < S.newVersionBurst; i++) expect(offer(q, { signer: 'f', name: 'x', t: i }, 0).verdict).toBe('now')
    for (let i = 100; i < 200; i++) expect(offer(q, { signer: 'f', name: 'x', t: i }, 0).verdict).toBe('queued')
    expect(offer(q, { signer: 'f', name: 'x', t: 150 }, 0).verdict).toBe('superseded')
    expect(q.stats()).toEqual({ waiting: 1, signers: 1 })
    expect([...q.waitingFor('x')].map(v => v.t)).toEqual([199])
    const released = drain(q, 0, 10_000)
    expect(released.map(r => r.v.t)).toEqual([199])
    expect(released[0].at).toBe(100) // one token: 1/newVersionsPerSecond
  })

  it('an honest signer asking for less than an equal share waits one token at most however many signers flood: served before them', () => {
    const q = turns()
    let t = 0
    const flooders = Array.from({ length: 50 }, (_, i) => `flooder${i}`)
    const honest: number[] = []
    let offeredAt = 0
    // 10 ms steps: each flooder publishes 2 versions a second of its one name (500 ms apart,
    // phases spread), the admin one version every 10 s (each flooder gets 10/50 tokens a
    // second, 2 per 10 s); due() runs whenever a wake came
    for (let now = 0; now < 120_000; now += 10) {
      flooders.forEach((f, i) => { if (now % 500 === (i * 10) % 500) offer(q, { signer: f, name: `${f}/facts`, t: ++t }, now) })
      // (from 10 s on: in a flood's first seconds, flooders not served yet have had no more turns than the admin)
      if (now % 10_000 === 2_510 && now > 10_000) {
        offeredAt = now
        if (offer(q, { signer: 'admin', name: 'authorized_keys', t: ++t }, now).verdict === 'now') honest.push(0)
      }
      const wake = q.wake(now)
      if (wake !== undefined && wake <= now) for (const v of q.due(now)) if (v.signer === 'admin') honest.push(now - offeredAt)
    }
    expect(honest.length).toBe(11)
    // a token comes every 100 ms: the admin's version takes the next one (a 10 ms step late at most)
    for (const wait of honest) expect(wait).toBeLessThanOrEqual(1000 / S.newVersionsPerSecond + 10)
    expect(q.counters.queued).toBeGreaterThan(1000)
    expect(q.counters.superseded).toBeGreaterThan(1000)
  })

  it('signers are served in turn: the one with the fewest turns lately first; a signer with none goes at once, on credit up to a burst', () => {
    const q = turns({ ...S, newVersionBurst: 1 })
    expect(offer(q, { signer: 'a', name: 'a1', t: 1 }, 0).verdict).toBe('now') // the bucket's token
    expect(offer(q, { signer: 'a', name: 'a2', t: 1 }, 0).verdict).toBe('queued') // a had its turn
    expect(offer(q, { signer: 'a', name: 'a3', t: 1 }, 0).verdict).toBe('queued')
    expect(offer(q, { signer: 'b', name: 'b1', t: 1 }, 0).verdict).toBe('now') // no turn lately: on credit (the bucket at -1)
    expect(offer(q, { signer: 'b', name: 'b2', t: 1 }, 0).verdict).toBe('queued')
    expect(offer(q, { signer: 'c', name: 'c1', t: 1 }, 0).verdict).toBe('queued') // a burst in debt: no more credit
    // c had no turn; a and b one each (a queued first), then b, then a
    const released = drain(q, 0, 10_000)
    expect(released.map(r => r.v.name)).toEqual(['c1', 'a2', 'b2', 'a3'])
    expect(released[0].at).toBe(200) // the debt repaid first
  })

  it('an occasional honest update (no turn lately) goes at once during a flood', () => {
    const q = turns()
    let t = 0
    const now: string[] = []
    for (let at = 0; at < 300_000; at += 10) {
      for (let f = 0; f < 50; f++) if (at % 500 === (f * 10) % 500) offer(q, { signer: `f${f}`, name: `f${f}/x`, t: ++t }, at)
      if (at % 60_000 === 30_000) now.push(offer(q, { signer: 'admin', name: 'authorized_keys', t: ++t }, at).verdict)
      if (q.wake(at)! <= at) q.due(at)
    }
    expect(now).toEqual(['now', 'now', 'now', 'now', 'now'])
  })

  it('an honest burst of 12 names during a flood goes before the flooders: 12 tokens', () => {
    const q = turns({ ...S, newVersionPerSigner: 16 })
    let t = 0
    // 20 flooders, 2 versions a second each, for a minute: their counts are high
    for (let now = 0; now < 60_000; now += 50) {
      for (let f = 0; f < 20; f++) if (now % 500 === (f * 25) % 500) offer(q, { signer: `f${f}`, name: `f${f}/x`, t: ++t }, now)
      if (q.wake(now)! <= now) q.due(now)
    }
    for (let n = 0; n < 12; n++) expect(offer(q, { signer: 'admin', name: `file${n}`, t: ++t }, 60_000).verdict).toBe(n === 0 ? 'now' : 'queued')
    const released = drain(q, 60_000, 70_000).filter(r => r.v.signer === 'admin')
    expect(released).toHaveLength(11)
    expect(Math.max(...released.map(r => r.at - 60_000))).toBeLessThanOrEqual(12 * 1000 / S.newVersionsPerSecond)
  })

  it('once something waits, a new version of a signer that had turns queues too (it does not jump the queue), and goes by its signer\'s turn', () => {
    const q = turns({ ...S, newVersionBurst: 1 })
    offer(q, { signer: 'f', name: 'x', t: 1 }, 0)
    expect(offer(q, { signer: 'f', name: 'x', t: 2 }, 0).verdict).toBe('queued')
    expect(offer(q, { signer: 'g', name: 'y', t: 1 }, 0).verdict).toBe('now') // (on credit)
    // the debt is repaid at 100 ms and a token is back at 200 ms (a full bucket: one), but the driver has not called due() yet
    expect(offer(q, { signer: 'g', name: 'y', t: 2 }, 250).verdict).toBe('queued')
    expect(q.due(250).map(v => v.t)).toEqual([2]) // f's x (queued first; f and g had one turn each)
    expect(q.wake(250)).toBe(350)
    expect(q.due(350).map(v => v.signer)).toEqual(['g'])
  })

  it('bounded: a signer\'s own oldest name goes past newVersionPerSigner, the longest queue\'s oldest past newVersionQueueMax', () => {
    const q = turns({ ...S, newVersionBurst: 0, newVersionQueueMax: 10, newVersionPerSigner: 4 })
    for (let n = 0; n < 4; n++) expect(offer(q, { signer: 'f', name: `n${n}`, t: 1 }, 0).dropped).toBeUndefined()
    expect(offer(q, { signer: 'f', name: 'n4', t: 1 }, 0).dropped?.name).toBe('n0')
    for (let n = 0; n < 3; n++) offer(q, { signer: 'g', name: `m${n}`, t: 1 }, 0)
    for (let n = 0; n < 3; n++) offer(q, { signer: 'h', name: `k${n}`, t: 1 }, 0)
    expect(q.stats()).toEqual({ waiting: 10, signers: 3 })
    // one more (from a signer with a short queue): f, the longest, loses its oldest
    expect(offer(q, { signer: 'i', name: 'z', t: 1 }, 0).dropped?.name).toBe('n1')
    expect(q.stats().waiting).toBe(10)
    expect(q.counters.dropped).toBe(2)
  })

  it('floods(): a signer whose version had to wait, or was overtaken on its way, for a minute; not one whose versions went at once', () => {
    const q = turns({ ...S, newVersionBurst: 1 })
    expect(offer(q, { signer: 'f', name: 'x', t: 1 }, 0).verdict).toBe('now')
    expect(offer(q, { signer: 'honest', name: 'y', t: 1 }, 5).verdict).toBe('now') // (on credit)
    expect(offer(q, { signer: 'f', name: 'x', t: 2 }, 10).verdict).toBe('queued')
    expect(q.floods('f', 20)).toBe(true)
    expect(q.floods('honest', 20)).toBe(false)
    expect(q.floods('f', 60_009)).toBe(true)
    expect(q.floods('f', 60_010)).toBe(false)
    q.overtook('g', 100)
    expect(q.floods('g', 100)).toBe(true)
    expect(q.floods('g', 60_100)).toBe(false)
  })
})
