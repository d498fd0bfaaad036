// The overlay core (src/mesh/proto/overlay.ts) on a fake clock and a seeded random source:
// whom it dials, when it retries, whom it lets go of, and how a full node lets newcomers
// go on to others (issue 23, items 1 and 5). The real-libp2p side is in tests/mesh
// (connections, learnt-peers, stranger-dials, join).
import { describe, expect, it } from 'vitest'
import { Overlay, type OverlayAction, type OverlayEvent, type OverlaySettings } from '../../src/mesh/proto/overlay.js'
import { seededRandom } from '../../src/mesh/proto/random.js'
import { DEFAULT_MESH_SETTINGS } from '../../src/mesh/settings.js'

const T0 = 1_000_000

/** A core on a fake clock: `at(ms)` moves time and ticks; `on(event)` hands it an event. */
function harness (o: { settings?: Partial<OverlaySettings>, bootstrap?: Array<{ entry: string, peerId?: string }>, members?: string[], banned?: string[], seed?: number } = {}) {
  const members = new Set(o.members ?? [])
  const banned = new Set(o.banned ?? [])
  let now = T0
  const core = new Overlay({
    settings: { ...DEFAULT_MESH_SETTINGS, ...o.settings },
    self: 'me',
    bootstrap: o.bootstrap ?? [],
    view: { mayConnect: p => !banned.has(p), isMember: p => members.has(p) },
    random: seededRandom(o.seed ?? 1),
    now
  })
  const log: OverlayAction[] = []
  let wake = Infinity
  const take = (actions: OverlayAction[]): OverlayAction[] => {
    for (const a of actions) {
      if (a.kind === 'wake') wake = a.at
      if (a.kind === 'member') members.add(a.peer)
    }
    log.push(...actions)
    return actions
  }
  const h = {
    core,
    members,
    get now () { return now },
    start: () => take(core.start(now)),
    /** the actions of start() (for a loop that begins with them) */
    log0: () => log.splice(0, log.length),
    on: (e: OverlayEvent) => take(core.handle(e, now)),
    /** moves the clock to `t` (ms after T0), ticking at every wake on the way */
    at: (t: number): OverlayAction[] => {
      const out: OverlayAction[] = []
      while (wake <= T0 + t) { now = Math.max(now, wake); wake = Infinity; out.push(...take(core.handle({ kind: 'tick' }, now))) }
      now = T0 + t
      return out
    },
    dials: (actions: OverlayAction[]) => actions.flatMap(a => a.kind === 'dial' ? [a.target] : []),
    hangUps: (actions: OverlayAction[]) => actions.flatMap(a => a.kind === 'hang-up' ? [a.peer] : []),
    /** a connection to `peer` that works: connected, then identified */
    link: (peer: string, outbound: boolean, connections = 1) => {
      h.on({ kind: 'connected', peer, outbound, connections, newestOpenedAt: now })
      h.on({ kind: 'identified', peer, hasAddresses: true, dialedByUs: outbound })
    }
  }
  return h
}

describe('overlay core', () => {
  it('dials its bootstrap entry first, remembers the peer that answered as a member, and never dials an entry that turned out to be itself again', () => {
    const h = harness({ bootstrap: [{ entry: '10.0.0.1:7946' }, { entry: '10.0.0.2:7946' }] })
    const first = h.dials(h.start())
    expect(first).toEqual(expect.arrayContaining([{ bootstrap: '10.0.0.1:7946' }, { bootstrap: '10.0.0.2:7946' }]))
    h.on({ kind: 'dial-done', target: { bootstrap: '10.0.0.2:7946' }, ok: false, self: true })
    h.on({ kind: 'dial-done', target: { bootstrap: '10.0.0.1:7946' }, ok: true, answeredBy: 'A' })
    h.link('A', true)
    expect(h.members.has('A')).toBe(true)
    expect(h.core.isKnown('A')).toBe(true)
    h.on({ kind: 'disconnected', peer: 'A' })
    const later = h.dials(h.at(10 * 60_000))
    expect(later).not.toContainEqual({ bootstrap: '10.0.0.2:7946' })
    expect(later.length).toBeGreaterThan(0) // A (or its entry) again
  })

  it('a peer whose dials fail is retried with jittered exponential backoff, then forgotten after forgetAfter', () => {
    const h = harness({ settings: { backoffBase: 1_000, backoffMax: 8_000, forgetAfter: 60_000 }, bootstrap: [{ entry: 'b', peerId: 'A' }] })
    h.start()
    h.on({ kind: 'dial-done', target: { bootstrap: 'b' }, ok: true, answeredBy: 'A' })
    h.link('A', true)
    h.on({ kind: 'disconnected', peer: 'A' })
    const times: number[] = []
    for (let t = 0; t < 50_000; t += 100) {
      for (const d of h.dials(h.at(t))) {
        if ('peer' in d || 'bootstrap' in d) {
          times.push(h.now - T0)
          h.on({ kind: 'dial-done', target: d, ok: false })
        }
      }
    }
    // the known peer and its bootstrap entry back off each on their own: gaps grow to ~backoffMax (±50%), never below half the base
    const gaps = times.slice(1).map((t, i) => t - times[i])
    expect(times.length).toBeGreaterThan(4)
    expect(times.length).toBeLessThan(40)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(12_000)
    const forget = h.at(200_000).filter(a => a.kind === 'forget')
    expect(forget).toEqual([{ kind: 'forget', peer: 'A' }])
    expect(h.core.isKnown('A')).toBe(false)
  })

  it('keeps targetPeers: dials up to maxParallelDials at once, and nothing more once at target', () => {
    const h = harness({ settings: { targetPeers: 3, maxParallelDials: 2 }, members: ['A'] })
    h.start()
    h.link('A', true)
    h.on({ kind: 'learned', from: 'A', peers: ['P1', 'P2', 'P3', 'P4'].map(peer => ({ peer, addrs: ['/ip4/10.0.0.9/tcp/1'] })) })
    const d1 = h.dials(h.at(100))
    expect(d1).toHaveLength(2)
    for (const d of d1) { h.on({ kind: 'dial-done', target: d, ok: true }); h.link((d as { candidate: string }).candidate, true) }
    expect(h.core.connected()).toHaveLength(3)
    expect(h.dials(h.at(5_000))).toEqual([])
  })

  it('learnt candidates: never this node, nor a peer it may not connect to; dialed at the bucket\'s rate; forgotten after one failed dial', () => {
    const h = harness({ settings: { learnedDialBurst: 2, learnedDialsPerMinute: 6, targetPeers: 8 }, banned: ['X'] })
    h.start()
    h.link('A', true)
    h.on({ kind: 'learned', from: 'A', peers: ['me', 'X', 'P1', 'P2', 'P3'].map(peer => ({ peer, addrs: ['/ip4/10.0.0.9/tcp/1'] })) })
    expect(h.core.candidatePeers()).toBe(3)
    const d = h.dials(h.at(100))
    expect(d).toEqual([{ candidate: 'P1', addrs: ['/ip4/10.0.0.9/tcp/1'] }, { candidate: 'P2', addrs: ['/ip4/10.0.0.9/tcp/1'] }])
    expect(h.on({ kind: 'dial-done', target: d[0], ok: false })).toContainEqual({ kind: 'forget', peer: 'P1' })
    expect(h.dials(h.at(5_000))).toEqual([]) // the bucket is empty: one address every 10 s
    expect(h.dials(h.at(11_000))).toEqual([{ candidate: 'P3', addrs: ['/ip4/10.0.0.9/tcp/1'] }])
  })

  it('trims above maxPeers past trimGrace: strangers first, then the peers holding the most connections', () => {
    const h = harness({ settings: { targetPeers: 2, maxPeers: 3, trimGrace: 30_000 }, members: ['M1', 'M2', 'M3', 'M4'] })
    h.start()
    h.link('S', false) // a stranger that dialed us while we had room
    h.link('M1', true)
    h.link('M2', true, 2)
    h.link('M3', true) // dialed by us: not a newcomer
    expect(h.hangUps(h.at(29_000))).toEqual([]) // nobody past trimGrace yet
    expect(h.hangUps(h.at(33_000))).toEqual(['S']) // the stranger goes before any member
    h.on({ kind: 'disconnected', peer: 'S' })
    h.link('M4', true)
    expect(h.hangUps(h.at(36_000))).toEqual(['M2']) // then the member holding the most connections
  })

  it('a newcomer that arrives while the node is full is let go after joinGrace, before trimGrace; below maxPeers nobody is let go', () => {
    const h = harness({ settings: { targetPeers: 2, maxPeers: 2, trimGrace: 30_000, joinGrace: 10_000 } })
    h.start()
    h.link('J1', false)
    h.link('J2', false) // a lone bootstrap node: these two arrived while it had room
    expect(h.hangUps(h.at(60_000))).toEqual([])
    h.link('J3', false) // full: a newcomer
    expect(h.hangUps(h.at(69_000))).toEqual([])
    expect(h.hangUps(h.at(73_000))).toEqual(['J3'])
    expect(h.core.counters.guestsReleased).toBe(1)
    h.on({ kind: 'disconnected', peer: 'J3' })
    expect(h.core.connected().sort()).toEqual(['J1', 'J2'])
  })

  it('with every stranger slot taken, a newcomer is let go joinLinger after this node answered its peer-exchange request, long before joinGrace; one not served keeps joinGrace; a peer kept below maxPeers is never let go for it', () => {
    const h = harness({ settings: { targetPeers: 2, maxPeers: 2, trimGrace: 30_000, joinGrace: 10_000, joinLinger: 250, maxStrangerConnections: 4 } })
    h.start()
    h.link('J1', false)
    h.link('J2', false) // arrived while it had room: kept
    h.at(60_000)
    h.on({ kind: 'served', peer: 'J1' })
    h.link('J3', false) // full: newcomers
    h.link('J4', false)
    h.at(60_100)
    h.on({ kind: 'served', peer: 'J3' }) // J3 got its answer; J4 asked nothing
    expect(h.hangUps(h.at(60_300))).toEqual([])
    expect(h.hangUps(h.at(60_400))).toEqual(['J3']) // 250 ms after its answer
    h.on({ kind: 'disconnected', peer: 'J3' })
    expect(h.hangUps(h.at(69_000))).toEqual([])
    expect(h.hangUps(h.at(73_000))).toEqual(['J4']) // after joinGrace, as before
    h.on({ kind: 'disconnected', peer: 'J4' })
    expect(h.core.counters).toMatchObject({ guestsReleased: 2, guestsServed: 1 })
    expect(h.core.connected().sort()).toEqual(['J1', 'J2'])
  })

  it('with stranger slots free, a served stranger keeps its joinGrace (strangers flooding a node cannot make honest newcomers leave at once); a served member goes after joinLinger', () => {
    const h = harness({ settings: { targetPeers: 2, maxPeers: 2, trimGrace: 30_000, joinGrace: 10_000, joinLinger: 250, maxStrangerConnections: 32 }, members: ['M'] })
    h.start()
    h.link('S1', false)
    h.link('S2', false)
    h.at(60_000)
    h.link('J', false) // a stranger newcomer
    h.link('M', false) // a member newcomer (allowed_nodes, a certificate seen before…)
    h.on({ kind: 'served', peer: 'J' })
    h.on({ kind: 'served', peer: 'M' })
    expect(h.hangUps(h.at(60_500))).toEqual(['M'])
    h.on({ kind: 'disconnected', peer: 'M' })
    expect(h.hangUps(h.at(69_000))).toEqual([])
    expect(h.hangUps(h.at(73_000))).toEqual(['J']) // after joinGrace, as before
  })

  it('with no connection at all, a bootstrap entry that refuses is retried at most joinRetryMax apart (±50%); with a connection, its backoff grows to backoffMax', () => {
    const refusals = (connected: boolean): number[] => {
      const h = harness({ settings: { backoffBase: 1_000, backoffMax: 60_000, joinRetryMax: 4_000, targetPeers: 8 }, bootstrap: [{ entry: 'hub:1' }], members: ['A'] })
      h.start()
      if (connected) h.link('A', true)
      const times: number[] = []
      for (let t = 0; t < 120_000; t += 50) {
        for (const d of h.dials(t === 0 ? h.log0() : h.at(t))) {
          if (!('bootstrap' in d)) continue
          times.push(h.now - T0)
          h.on({ kind: 'dial-done', target: d, ok: false })
        }
      }
      return times.slice(1).map((t, i) => t - times[i])
    }
    const alone = refusals(false)
    expect(alone.length).toBeGreaterThan(15)
    expect(Math.max(...alone)).toBeLessThanOrEqual(6_000 + 2_100) // 4 s +50%, and the loop's own period
    const withPeer = refusals(true)
    expect(Math.max(...withPeer)).toBeGreaterThan(16_000)
  })

  it('a joiner that the full bootstrap node let go while it held nothing else dials the peers it learnt, and the bootstrap node only once none is left to try', () => {
    const h = harness({ settings: { targetPeers: 8, maxPeers: 16, maxParallelDials: 4, learnedDialBurst: 8, learnedDialsPerMinute: 30 }, bootstrap: [{ entry: 'hub:1' }] })
    h.start()
    h.on({ kind: 'dial-done', target: { bootstrap: 'hub:1' }, ok: true, answeredBy: 'HUB' })
    h.link('HUB', true)
    h.at(3_000) // the bootstrap entry's own backoff has run out
    h.on({ kind: 'learned', from: 'HUB', peers: ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'].map(peer => ({ peer, addrs: ['/ip4/10.0.0.9/tcp/1'] })) })
    h.on({ kind: 'disconnected', peer: 'HUB' }) // the hub, full, lets us go: its answer is in hand
    const name = (d: ReturnType<typeof h.dials>[number]): string => 'candidate' in d ? d.candidate : 'peer' in d ? d.peer : d.bootstrap
    const next = h.dials(h.at(3_100))
    expect(next.map(name)).toEqual(['P1', 'P2', 'P3', 'P4']) // not the hub alongside
    for (const d of next) h.on({ kind: 'dial-done', target: d, ok: false }) // down
    const more = h.dials(h.at(6_000))
    expect(more.map(name)).toEqual(['P5', 'P6'])
    for (const d of more) h.on({ kind: 'dial-done', target: d, ok: false })
    const after: string[] = []
    for (let t = 6_100; t < 12_000; t += 100) after.push(...h.dials(h.at(t)).map(name))
    expect(after.length).toBeGreaterThan(0) // nobody else left: the hub again (its peer id or its entry), within seconds
    expect(after.every(x => x === 'HUB' || x === 'hub:1')).toBe(true)
  })

  it('a peer that lets us go while we hold others is not dialed for a while (learnt candidates go first, exploration skips it); one lost while alone is retried soon', () => {
    const h = harness({ settings: { targetPeers: 1, maxPeers: 4, exploreInterval: 10_000, backoffBase: 1_000, backoffMax: 4_000 }, members: ['A', 'H', 'C'] })
    h.start()
    h.link('A', true)
    h.on({ kind: 'identified', peer: 'C', hasAddresses: true, dialedByUs: true }) // known, not connected
    for (let i = 0; i < 4; i++) { h.link('H', true); h.on({ kind: 'disconnected', peer: 'H' }) } // H is full: it let us go 4 times in a row
    // 8 × exploreInterval, ±50%: H is not explored for at least 40 s; C is, every 5–15 s
    const explored: string[] = []
    for (let t = 0; t < 39_000; t += 250) {
      for (const d of h.dials(h.at(t))) if ('peer' in d) { explored.push(d.peer); h.on({ kind: 'dial-done', target: d, ok: false }) }
    }
    expect(explored.filter(p => p === 'C').length).toBeGreaterThanOrEqual(2)
    expect(explored).not.toContain('H')
    // alone: with A gone, H is dialed again within its ordinary backoff, not after the exploration penalty
    h.on({ kind: 'disconnected', peer: 'A' })
    const soon: string[] = []
    for (let t = 39_000; t < 45_000; t += 100) for (const d of h.dials(h.at(t))) if ('peer' in d) { soon.push(d.peer); h.on({ kind: 'dial-done', target: d, ok: false }) }
    expect(soon).toContain('H')
  })

  it('under target, a joiner the hub let go dials the peers it learnt rather than the hub again', () => {
    const h = harness({ settings: { targetPeers: 4, maxPeers: 8, exploreInterval: 60_000 }, bootstrap: [{ entry: 'hub:1' }] })
    h.dials(h.start())
    h.on({ kind: 'dial-done', target: { bootstrap: 'hub:1' }, ok: true, answeredBy: 'HUB' })
    h.link('HUB', true)
    h.on({ kind: 'learned', from: 'HUB', peers: ['P1', 'P2', 'P3', 'P4', 'P5'].map(peer => ({ peer, addrs: ['/ip4/10.0.0.9/tcp/1'] })) })
    for (const d of h.dials(h.at(100))) { h.on({ kind: 'dial-done', target: d, ok: true }); if ('candidate' in d) h.link(d.candidate, true) }
    h.on({ kind: 'disconnected', peer: 'HUB' }) // the hub, full, lets us go after joinGrace
    const next: string[] = []
    for (let t = 200; t < 25_000; t += 100) for (const d of h.dials(h.at(t))) next.push('candidate' in d ? d.candidate : 'peer' in d ? d.peer : d.bootstrap)
    expect(next.length).toBeGreaterThan(0)
    expect(next).not.toContain('HUB')
    expect(next).not.toContain('hub:1')
  })

  it('exploration goes to other known peers, then learnt candidates, and only then to a bootstrap node everyone knows', () => {
    const explore = (o: { other?: boolean, learnt?: boolean }): string[] => {
      const h = harness({ settings: { targetPeers: 1, maxPeers: 4, exploreInterval: 10_000 }, bootstrap: [{ entry: 'hub:1', peerId: 'HUB' }], members: ['A', 'C'] })
      for (const d of h.dials(h.start())) h.on({ kind: 'dial-done', target: d, ok: false })
      h.link('A', true) // at target: from now on only exploration dials
      h.on({ kind: 'identified', peer: 'HUB', hasAddresses: true, dialedByUs: true }) // known, not connected
      if (o.other === true) h.on({ kind: 'identified', peer: 'C', hasAddresses: true, dialedByUs: true })
      if (o.learnt === true) h.on({ kind: 'learned', from: 'A', peers: [{ peer: 'P', addrs: ['/ip4/10.0.0.9/tcp/1'] }] })
      for (let t = 0; t < 30_000; t += 250) {
        const d = h.dials(h.at(t))
        if (d.length > 0) return d.map(x => 'candidate' in x ? x.candidate : 'peer' in x ? x.peer : x.bootstrap)
      }
      return []
    }
    expect(explore({ other: true, learnt: true })).toEqual(['C'])
    expect(explore({ learnt: true })).toEqual(['P'])
    expect(['HUB', 'hub:1']).toContain(explore({})[0]) // the hub (its peer id or its entry) when there is nobody else
  })

  it('evicts beyond maxKnownPeers: the one with the most failures first, never a connected one', () => {
    const h = harness({ settings: { maxKnownPeers: 2, targetPeers: 8 } })
    h.start()
    h.link('A', true)
    h.link('B', true)
    h.on({ kind: 'disconnected', peer: 'B' })
    const out = h.on({ kind: 'identified', peer: 'C', hasAddresses: true, dialedByUs: true })
    expect(out).toContainEqual({ kind: 'forget', peer: 'B' })
    expect(h.core.isKnown('A')).toBe(true)
    expect(h.core.knownPeers()).toBe(2)
  })

  it('teaches: a peer list is worth the peer exchange when it names a peer not known nor a candidate, while short of peers or of candidates', () => {
    const h = harness({ settings: { targetPeers: 2, maxCandidatePeers: 4 }, banned: ['X'] })
    h.start()
    h.link('A', true)
    expect(h.core.short()).toBe(true)
    expect(h.core.teaches(['A', 'me'])).toBe(false) // known, and this node itself
    expect(h.core.teaches(['X'])).toBe(false) // a peer it may not connect to
    expect(h.core.teaches(['A', 'B'])).toBe(true)
    h.link('B', true)
    expect(h.core.short()).toBe(false)
    // at target, with no candidates held: a new peer still teaches
    expect(h.core.teaches(['A', 'B', 'C'])).toBe(true)
    h.on({ kind: 'learned', from: 'A', peers: [{ peer: 'C', addrs: ['/ip4/10.0.0.3/tcp/1'] }, { peer: 'D', addrs: ['/ip4/10.0.0.4/tcp/1'] }] })
    expect(h.core.teaches(['C', 'D'])).toBe(false) // candidates already
    // half of maxCandidatePeers held: at target, nothing more is needed
    expect(h.core.teaches(['E'])).toBe(false)
  })

  it('replays exactly from its seed', () => {
    const run = (seed: number): string => {
      const h = harness({ seed, bootstrap: [{ entry: 'b1' }, { entry: 'b2' }, { entry: 'b3' }] })
      const out = [h.start(), h.at(30_000)]
      return JSON.stringify(out)
    }
    expect(run(7)).toBe(run(7))
    expect(run(7)).not.toBe(run(8))
  })
})
