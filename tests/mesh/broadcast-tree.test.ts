// The broadcast tree's core on its own (src/mesh/proto/tree.ts), driven with a fake `now`
// (no timers, no sleeps): links start eager, prune and graft move them, a version heard of
// by notice only is grafted from its notifiers in turn after the deadlines, the state is
// bounded; notices are batched and delayed, a slow peer's queue keeps the newest version
// of each name while its one send is outstanding, budgets drop what is over them.
import { recordId } from '../../src/crypto/record.js'
import { beforeEach, describe, expect, it } from 'vitest'
import { TreeCore, type Notice, type TreeAction, type TreeEvent, type TreeSettings } from '../../src/mesh/proto/tree.js'
import { seededRandom, type Random } from '../../src/mesh/proto/random.js'
import { decodeGraft, decodeIhave, encodeGraft, encodeIhave } from '../../src/mesh/announce.js'
import { WireError } from '../../src/mesh/wire.js'
import { signRecord } from '../../src/crypto/record.js'
import { generateSigningKey } from '../../src/crypto/keys.js'

const T = { announceGraftTimeout: 250, announceGraftRetry: 150, announceGraftMaxPeers: 3, announceMissingMax: 4, announceMissingPerPeer: 4 }
const S: TreeSettings = {
  ...T,
  announceBatch: 256,
  announceQueueMax: 4096,
  announceIhaveDelay: 100,
  announceIhaveMax: 256,
  announceIdleClose: 60_000,
  announceGraftAnswerBurst: 2,
  announceGraftAnswersPerSecond: 1,
  announceMessageBurst: 3,
  announceMessagesPerSecond: 1,
  maxConnections: 16
}
const notice = (name: string, k = 1): Notice => ({ name, timestamp: 1000 + k, id: new Uint8Array(32).fill(k) })

/** The simulator's kind of record: a name and a version number. */
interface R { name: string, v: number }
type Send = TreeAction<R> & { kind: 'send' }

/**
 * Drives one core the way a driver does: a fake clock, the one wake honoured when time is
 * moved on, every action recorded; sends are acknowledged at once unless `manual`.
 */
class Driver {
  now = 0
  wakeAt: number | undefined
  readonly sends: Send[] = []
  readonly actions: Array<TreeAction<R>> = []
  manual = false
  readonly core: TreeCore<R>

  constructor (readonly missing: Set<string>, settings: Partial<TreeSettings> = {}, random: Random = seededRandom(1)) {
    this.core = new TreeCore<R>({ ...S, ...settings }, { name: r => r.name, compare: (a, b) => a.v - b.v, stillMissing: n => missing.has(n.name) }, random)
  }

  ev (e: TreeEvent<R>): void {
    for (const a of this.core.handle(e, this.now)) {
      this.actions.push(a)
      if (a.kind === 'wake') this.wakeAt = a.at
      if (a.kind === 'send') {
        this.sends.push(a)
        if (!this.manual) this.ev({ kind: 'sent', peer: a.peer })
      }
    }
  }

  up (...peers: string[]): void { for (const peer of peers) this.ev({ kind: 'up', peer }) }

  /** Moves time on by `ms`, ticking at every wake on the way. */
  advance (ms: number): void {
    const end = this.now + ms
    while (this.wakeAt !== undefined && this.wakeAt <= end) {
      this.now = Math.max(this.now, this.wakeAt)
      this.wakeAt = undefined
      this.ev({ kind: 'tick' })
    }
    this.now = end
  }

  /** [peer, name] of every GRAFT sent so far */
  grafts (): Array<[string, string]> { return this.sends.flatMap(s => s.grafts.map(g => [s.peer, g.name] as [string, string])) }
}

let missing: Set<string>
let d: Driver
beforeEach(() => {
  missing = new Set()
  d = new Driver(missing)
  d.up('a', 'b', 'c', 'd')
})

describe('broadcast tree', () => {
  it('links start eager; a prune makes one lazy, a graft eager again; a link that goes down is forgotten', () => {
    expect(d.core.isEager('a')).toBe(true)
    d.ev({ kind: 'prune', from: 'a' })
    d.ev({ kind: 'prune', from: 'a' }) // already lazy
    expect(d.core.links(['a', 'b'])).toEqual({ eager: ['b'], lazy: ['a'] })
    d.ev({ kind: 'graft', from: 'a', name: 'x', id: notice('x').id })
    expect(d.core.isEager('a')).toBe(true)
    d.ev({ kind: 'prune', from: 'b' })
    d.ev({ kind: 'down', peer: 'b' })
    expect(d.core.isEager('b')).toBe(true) // a new connection to b starts eager
  })

  it('a version heard of by notice is grafted from the first notifier after the graft timeout, not before, and that link turns eager', () => {
    d.ev({ kind: 'prune', from: 'a' })
    missing.add('x')
    d.ev({ kind: 'ihave', from: 'a', notices: [{ notice: notice('x'), verdict: 'missing' }] })
    d.ev({ kind: 'ihave', from: 'b', notices: [{ notice: notice('x'), verdict: 'missing' }] })
    d.advance(T.announceGraftTimeout - 1)
    expect(d.grafts()).toEqual([])
    d.advance(1)
    expect(d.grafts()).toEqual([['a', 'x']])
    expect(d.core.isEager('a')).toBe(true)
    // nothing came: the next notifier after the retry interval
    d.advance(T.announceGraftRetry)
    expect(d.grafts()).toEqual([['a', 'x'], ['b', 'x']])
    // nobody left: forgotten (anti-entropy repairs)
    d.advance(T.announceGraftRetry)
    expect(d.core.waiting()).toBe(0)
    expect(d.core.counters.grafts).toBe(2)
  })

  it('no graft when the version arrived meanwhile; a notifier that disconnected is skipped', () => {
    d.ev({ kind: 'ihave', from: 'a', notices: [{ notice: notice('x'), verdict: 'missing' }] })
    d.advance(T.announceGraftTimeout)
    expect(d.grafts()).toEqual([]) // x is not missing any more
    expect(d.core.waiting()).toBe(0)
    missing.add('y')
    for (const p of ['a', 'b', 'c']) d.ev({ kind: 'ihave', from: p, notices: [{ notice: notice('y'), verdict: 'missing' }] })
    d.ev({ kind: 'down', peer: 'a' })
    // b is gone without the disconnect seen yet: a write to it fails, and it has no connection left
    d.manual = true
    d.ev({ kind: 'stored', record: { name: 'other', v: 1 } })
    expect(d.sends.map(s => s.peer).sort()).toEqual(['b', 'c', 'd'])
    d.ev({ kind: 'send-failed', peer: 'b', gone: true })
    for (const p of ['c', 'd']) d.ev({ kind: 'sent', peer: p })
    d.manual = false
    d.advance(T.announceGraftTimeout)
    expect(d.grafts()).toEqual([['c', 'y']])
  })

  it('bounded: notifiers per version and versions waited for', () => {
    d.up('e')
    missing.add('n0')
    for (const p of ['a', 'b', 'c', 'd', 'e']) d.ev({ kind: 'ihave', from: p, notices: [{ notice: notice('n0'), verdict: 'missing' }] })
    for (let k = 1; k <= 5; k++) { missing.add(`n${k}`); d.ev({ kind: 'ihave', from: 'a', notices: [{ notice: notice(`n${k}`, k), verdict: 'missing' }] }) }
    expect(d.core.waiting()).toBe(T.announceMissingMax) // n0, the oldest, was forgotten
    d.advance(T.announceGraftTimeout)
    expect(d.grafts().map(s => s[1]).sort()).toEqual(['n2', 'n3', 'n4', 'n5'])
    const all = new Driver(new Set(['z']))
    all.up('a', 'b', 'c', 'd', 'e')
    for (const p of ['a', 'b', 'c', 'd', 'e']) all.ev({ kind: 'ihave', from: p, notices: [{ notice: notice('z'), verdict: 'missing' }] })
    all.advance(T.announceGraftTimeout + 10 * T.announceGraftRetry)
    expect(all.grafts()).toEqual([['a', 'z'], ['b', 'z'], ['c', 'z']]) // announceGraftMaxPeers
  })

  it('review 11-R8: one notifier\'s fake notices evict only its own missing versions, not an honest peer\'s', () => {
    const S8 = { announceMissingMax: 8, announceMissingPerPeer: 3 }
    d = new Driver(missing, S8)
    d.up('a', 'b')
    for (const h of ['h1', 'h2']) { missing.add(h); d.ev({ kind: 'ihave', from: 'b', notices: [{ notice: notice(h, 7), verdict: 'missing' }] }) }
    for (let k = 1; k <= 50; k++) { missing.add(`f${k}`); d.ev({ kind: 'ihave', from: 'a', notices: [{ notice: notice(`f${k}`, k), verdict: 'missing' }] }) } // versions that do not exist
    expect(d.core.waiting()).toBe(2 + S8.announceMissingPerPeer)
    d.advance(T.announceGraftTimeout)
    expect(d.grafts().filter(([peer]) => peer === 'b').map(s => s[1]).sort()).toEqual(['h1', 'h2'])
    expect(d.grafts().filter(([peer]) => peer === 'a').map(s => s[1]).sort()).toEqual(['f48', 'f49', 'f50']) // its newest ones
  })
})

describe('broadcast tree: queues, notices, budgets', () => {
  const r = (name: string, v: number): R => ({ name, v })
  const full = (peer: string): R[] => d.sends.filter(s => s.peer === peer).flatMap(s => s.full)
  const ihave = (peer: string): R[] => d.sends.filter(s => s.peer === peer).flatMap(s => s.ihave)

  it('a duplicate full record prunes its link (PRUNE sent back); a new one on a lazy link makes it eager again', () => {
    d.ev({ kind: 'full', from: 'a', record: r('x', 1), arrival: 'duplicate' })
    expect(d.core.isEager('a')).toBe(false)
    expect(d.sends).toEqual([{ kind: 'send', peer: 'a', prune: true, graftLink: false, grafts: [], full: [], ihave: [], fullHops: [], ihaveHops: [] }])
    expect(d.core.counters).toMatchObject({ fullReceived: 1, duplicates: 1, prunes: 1 })
    d.ev({ kind: 'full', from: 'a', record: r('y', 1), arrival: 'new' })
    expect(d.core.isEager('a')).toBe(true)
    d.ev({ kind: 'full', from: 'b', record: r('y', 1), arrival: 'dropped' }) // refused: no judgement on the link
    expect(d.core.isEager('b')).toBe(true)
    expect(d.sends).toHaveLength(1)
  })

  it('a stored version goes at once in full to eager peers (not to the one it came from), and as a notice to lazy ones after announceIhaveDelay ±50%, one message for a burst', () => {
    d = new Driver(missing, {}, () => 0.5) // the middle of the jitter: exactly announceIhaveDelay
    d.up('a', 'b', 'c')
    d.ev({ kind: 'prune', from: 'a' })
    d.ev({ kind: 'stored', record: r('x', 1), except: 'c' })
    d.ev({ kind: 'stored', record: r('y', 1) })
    expect(full('b')).toEqual([r('x', 1), r('y', 1)])
    expect(full('c')).toEqual([r('y', 1)])
    expect(ihave('a')).toEqual([])
    d.advance(S.announceIhaveDelay - 1)
    expect(ihave('a')).toEqual([])
    d.advance(1)
    expect(d.sends.filter(s => s.peer === 'a')).toEqual([{ kind: 'send', peer: 'a', prune: false, graftLink: false, grafts: [], full: [], ihave: [r('x', 1), r('y', 1)], fullHops: [], ihaveHops: [undefined, undefined] }])
    expect(d.core.counters).toMatchObject({ fullSent: 3, ihaveSent: 2 })
    // stored again (e.g. after a restart's replay): neither sent nor noticed twice (c, which it came from, gets it now)
    d.ev({ kind: 'stored', record: r('x', 1) })
    d.advance(2 * S.announceIhaveDelay)
    expect(d.sends.slice(4)).toEqual([{ kind: 'send', peer: 'c', prune: false, graftLink: false, grafts: [], full: [r('x', 1)], ihave: [], fullHops: [undefined], ihaveHops: [] }])
    for (const [draw, delay] of [[0, 50], [0.999999, 150]]) {
      const j = new Driver(missing, {}, () => draw)
      j.up('a')
      j.ev({ kind: 'prune', from: 'a' })
      j.ev({ kind: 'stored', record: r('x', 1) })
      expect(j.wakeAt).toBe(delay)
    }
  })

  it('issue 23: at most announceIhaveMax notices go in one send (one IHAVE message); the rest in the next', () => {
    d = new Driver(missing, { announceIhaveMax: 2 }, () => 0.5)
    d.up('a')
    d.ev({ kind: 'prune', from: 'a' })
    for (let k = 0; k < 5; k++) d.ev({ kind: 'stored', record: r(`n${k}`, 1) })
    d.advance(S.announceIhaveDelay)
    expect(d.sends.map(s => s.ihave.map(x => x.name))).toEqual([['n0', 'n1'], ['n2', 'n3'], ['n4']])
  })

  it('a lazy peer that said it holds the version before its notice was due is not told; nor sent what it is known to hold', () => {
    d = new Driver(missing, {}, () => 0.5)
    d.up('a', 'b')
    d.ev({ kind: 'prune', from: 'a' })
    d.ev({ kind: 'stored', record: r('x', 2) })
    d.ev({ kind: 'ihave', from: 'a', notices: [{ notice: notice('x', 2), verdict: { holds: r('x', 2) } }] })
    d.advance(S.announceIhaveDelay)
    expect(ihave('a')).toEqual([])
    expect(d.core.counters.skipped).toBe(1)
    d.ev({ kind: 'known', peer: 'b', record: r('x', 3) })
    d.ev({ kind: 'stored', record: r('x', 3) })
    expect(full('b')).toEqual([r('x', 2)]) // not x3: b has it
    expect(d.core.counters.skipped).toBe(2)
  })

  it('one send per peer at a time: while it is outstanding the queue keeps only the newest version of each name, and the next send carries them together', () => {
    d.manual = true
    d.ev({ kind: 'stored', record: r('x', 1) })
    const first = d.sends.filter(s => s.peer === 'a')
    expect(first).toHaveLength(1)
    for (let v = 2; v <= 5; v++) d.ev({ kind: 'stored', record: r('x', v) })
    d.ev({ kind: 'stored', record: r('y', 1) })
    d.ev({ kind: 'stored', record: r('x', 3) }) // an older one than queued: stays out
    expect(d.sends.filter(s => s.peer === 'a')).toHaveLength(1) // still the first one out
    expect(d.core.queued('a')).toBe(2)
    d.ev({ kind: 'sent', peer: 'a' })
    expect(d.sends.filter(s => s.peer === 'a').map(s => s.full)).toEqual([[r('x', 1)], [r('x', 5), r('y', 1)]])
    // a failed write drops what it carried and goes on with the queue; a peer gone takes its queue along
    d.ev({ kind: 'stored', record: r('z', 1) })
    d.ev({ kind: 'send-failed', peer: 'a', gone: false })
    expect(d.sends.filter(s => s.peer === 'a').map(s => s.full)).toEqual([[r('x', 1)], [r('x', 5), r('y', 1)], [r('z', 1)]])
    d.ev({ kind: 'stored', record: r('z', 2) })
    d.ev({ kind: 'send-failed', peer: 'a', gone: true })
    expect(d.core.queued('a')).toBe(0)
    d.ev({ kind: 'stored', record: r('z', 3) })
    expect(d.sends.filter(s => s.peer === 'a')).toHaveLength(3) // not up any more: nothing is queued for it
    expect(d.core.counters.fullSent).toBe(1)
  })

  it('the queue is bounded (announceQueueMax: the oldest goes) and a send carries at most announceBatch records', () => {
    d = new Driver(missing, { announceQueueMax: 3, announceBatch: 2 })
    d.up('a')
    d.manual = true
    d.ev({ kind: 'stored', record: r('n0', 1) })
    for (let k = 1; k <= 5; k++) d.ev({ kind: 'stored', record: r(`n${k}`, 1) })
    expect(d.core.queued('a')).toBe(3)
    d.ev({ kind: 'sent', peer: 'a' })
    d.ev({ kind: 'sent', peer: 'a' })
    d.ev({ kind: 'sent', peer: 'a' })
    expect(d.sends.map(s => s.full.map(x => x.name))).toEqual([['n0'], ['n3', 'n4'], ['n5']])
  })

  it('a GRAFT is answered once per peer and name at a time, within the peer\'s budget, and not with a version the peer holds or has queued', () => {
    const id = notice('x').id
    d.ev({ kind: 'graft', from: 'a', name: 'x', id })
    d.ev({ kind: 'graft', from: 'a', name: 'x', id }) // the first answer is under way
    expect(d.actions.filter(a => a.kind === 'answer-graft')).toEqual([{ kind: 'answer-graft', peer: 'a', name: 'x', id }])
    expect(d.core.counters.graftsIgnored).toBe(1)
    d.ev({ kind: 'graft-answer', peer: 'a', name: 'x', record: r('x', 1) })
    expect(full('a')).toEqual([r('x', 1)])
    d.ev({ kind: 'graft', from: 'a', name: 'x', id }) // the second token of the burst (2)
    expect(d.core.holdsOrQueued('a', r('x', 1))).toBe(true) // it was sent x1
    d.ev({ kind: 'graft-answer', peer: 'a', name: 'x', record: r('x', 1) })
    expect(full('a')).toEqual([r('x', 1)])
    d.ev({ kind: 'graft', from: 'a', name: 'y', id }) // over the budget
    expect(d.core.counters.graftsIgnored).toBe(2)
    d.now += 1000 // one answer per second comes back
    d.ev({ kind: 'graft', from: 'a', name: 'y', id })
    expect(d.actions.filter(a => a.kind === 'answer-graft')).toHaveLength(3)
    d.manual = true
    d.ev({ kind: 'stored', record: r('q', 1) })
    d.ev({ kind: 'stored', record: r('w', 2) })
    expect(d.core.holdsOrQueued('a', r('w', 1))).toBe(true) // queued behind the outstanding send
    expect(d.core.holdsOrQueued('a', r('w', 3))).toBe(false)
  })

  it('FULL and IHAVE messages within a peer\'s budget (burst, then per second); the rest counted as dropped', () => {
    const taken = [0, 1, 2, 3].map(() => d.core.withinBudget('a', 0))
    expect(taken).toEqual([true, true, true, false])
    expect(d.core.withinBudget('b', 0)).toBe(true) // each peer its own
    expect(d.core.withinBudget('a', 999)).toBe(false)
    expect(d.core.withinBudget('a', 1000)).toBe(true)
    expect(d.core.counters.overBudget).toBe(2)
  })

  it('a peer\'s stream is closed after announceIdleClose with nothing sent, not while in use', () => {
    d.ev({ kind: 'stored', record: r('x', 1) })
    d.advance(S.announceIdleClose / 2)
    d.ev({ kind: 'stored', record: r('x', 2) })
    d.advance(S.announceIdleClose / 2)
    expect(d.actions.filter(a => a.kind === 'close')).toEqual([])
    d.advance(S.announceIdleClose / 2)
    expect(d.actions.filter(a => a.kind === 'close').map(a => a.kind === 'close' && a.peer).sort()).toEqual(['a', 'b', 'c', 'd'])
  })

  it('a tick that comes a little before the wake it answers asks to be woken again (a driver\'s timer is spent on it)', () => {
    d.ev({ kind: 'prune', from: 'a' })
    d.ev({ kind: 'stored', record: r('x', 1) })
    const at = d.wakeAt!
    d.now = at - 1
    const again = d.core.handle({ kind: 'tick' }, d.now)
    expect(again).toEqual([{ kind: 'wake', at }])
  })

  it('replays exactly from its seed: the same events give the same actions', () => {
    const run = (seed: number): Array<TreeAction<R>> => {
      const x = new Driver(new Set(['m']), {}, seededRandom(seed))
      x.up('a', 'b', 'c')
      x.ev({ kind: 'prune', from: 'a' })
      x.ev({ kind: 'prune', from: 'b' })
      for (let k = 0; k < 20; k++) { x.ev({ kind: 'stored', record: r(`n${k}`, 1) }); x.advance(37) }
      x.ev({ kind: 'ihave', from: 'c', notices: [{ notice: notice('m'), verdict: 'missing' }] })
      x.advance(1000)
      return x.actions
    }
    expect(run(7)).toEqual(run(7))
    expect(run(7)).not.toEqual(run(8))
  })
})

describe('broadcast tree: its shape (hop counts, issue 23)', () => {
  const r = (name: string, v: number): R => ({ name, v })
  const n = (name: string, v: number, hops?: number): Notice => ({ name, timestamp: 1000 + v, id: new Uint8Array(32).fill(v), hops })
  const to = (peer: string): Send[] => d.sends.filter(s => s.peer === peer)
  const dup = (from: string, rec: R, hops?: number): TreeEvent<R> => ({ kind: 'full', from, record: rec, arrival: 'duplicate', hops })

  beforeEach(() => {
    // x v1 came from eager a, 6 hops from its origin; b, c, d eager too (a fresh flood)
    d.ev({ kind: 'stored', record: r('x', 1), except: 'a', hops: 6 })
    d.ev({ kind: 'full', from: 'a', record: r('x', 1), arrival: 'new', hops: 6 })
    d.sends.length = 0
  })

  it('a duplicate that came by a shorter path keeps its link and prunes the one the version came by', () => {
    d.ev(dup('b', r('x', 1), 3))
    expect(to('a')).toMatchObject([{ prune: true, full: [] }])
    expect(to('b')).toEqual([])
    expect(d.core.links(['a', 'b', 'c', 'd'])).toEqual({ eager: ['b', 'c', 'd'], lazy: ['a'] })
    expect(d.core.counters.reparented).toBe(1)
    // its own path is now 3: a duplicate at 3 is not shorter, and its link is pruned as Plumtree does
    d.ev(dup('c', r('x', 1), 3))
    expect(to('c')).toMatchObject([{ prune: true }])
    expect(d.core.links(['a', 'b', 'c', 'd'])).toEqual({ eager: ['b', 'd'], lazy: ['a', 'c'] })
    // later sends carry the shorter hop count
    d.up('e')
    d.ev({ kind: 'stored', record: r('x', 1), except: 'b' })
    d.advance(2 * S.announceIhaveDelay)
    expect(to('e').flatMap(s => s.ihaveHops)).toEqual([3])
  })

  it('a duplicate from a peer whose own path is longer than ours by more than a hop keeps its link (that peer prunes its own longer one)', () => {
    d.ev(dup('b', r('x', 1), 9)) // b is 8 hops away; through us it would be 7
    expect(d.sends).toEqual([])
    expect(d.core.isEager('b')).toBe(true)
    d.ev(dup('c', r('x', 1), 8)) // c is 7 away: through us, 7 too; neither gains
    expect(to('c')).toMatchObject([{ prune: true }])
  })

  it('without hop counts (a 3.0.0 peer, anti-entropy), a duplicate prunes its own link', () => {
    d.ev(dup('b', r('x', 1)))
    d.ev({ kind: 'stored', record: r('y', 1), except: 'a' })
    d.ev(dup('c', r('y', 1), 1))
    expect(d.sends.filter(s => s.prune).map(s => s.peer)).toEqual(['b', 'c'])
    expect(d.core.isEager('a')).toBe(true)
    expect(d.core.counters.reparented).toBe(0)
  })

  it('a link that comes up before any version went through starts eager; once this node is in the tree, lazy', () => {
    const fresh = new Driver(new Set())
    fresh.up('a', 'b')
    expect(fresh.core.links(['a', 'b'])).toEqual({ eager: ['a', 'b'], lazy: [] })
    expect(fresh.sends).toEqual([])
    // d has had a version: a new peer starts lazy and is sent notices only
    d.up('e')
    expect(d.core.isEager('e')).toBe(false)
    d.ev({ kind: 'stored', record: r('z', 1), hops: 0 })
    expect(to('e')).toEqual([])
    d.advance(2 * S.announceIhaveDelay)
    expect(to('e').flatMap(s => s.ihave)).toEqual([r('z', 1)])
  })

  it('a node in the tree with no eager link left grafts a peer at once (a GRAFT naming no version): the one that told of the shortest path', () => {
    for (const p of ['b', 'c', 'd']) d.ev({ kind: 'prune', from: p })
    d.ev({ kind: 'ihave', from: 'c', notices: [{ notice: n('x', 1, 2), verdict: { holds: r('x', 1) } }] })
    d.ev({ kind: 'ihave', from: 'd', notices: [{ notice: n('x', 1, 5), verdict: { holds: r('x', 1) } }] })
    d.sends.length = 0
    d.ev({ kind: 'down', peer: 'a' }) // the last eager link
    expect(d.sends).toMatchObject([{ peer: 'c', graftLink: true, grafts: [], full: [] }])
    expect(d.core.links(['b', 'c', 'd'])).toEqual({ eager: ['c'], lazy: ['b', 'd'] })
    // with an eager link again, a new peer starts lazy and is not grafted
    d.up('e')
    expect(to('e')).toEqual([])
    // a node with no peer at all grafts the first that comes up
    for (const p of ['b', 'c', 'd', 'e']) d.ev({ kind: 'down', peer: p })
    d.sends.length = 0
    d.up('f')
    expect(d.sends).toMatchObject([{ peer: 'f', graftLink: true }])
    expect(d.core.isEager('f')).toBe(true)
  })

  it('a missing version is grafted from the notifier with the shortest path first; one that leaves a GRAFT unanswered is asked last from then on', () => {
    missing.add('m').add('k')
    for (const p of ['b', 'c', 'd']) d.ev({ kind: 'prune', from: p })
    d.ev({ kind: 'ihave', from: 'b', notices: [{ notice: n('m', 1, 4), verdict: 'missing' }] })
    d.ev({ kind: 'ihave', from: 'c', notices: [{ notice: n('m', 1, 0), verdict: 'missing' }] }) // claims to be at the origin
    d.ev({ kind: 'ihave', from: 'd', notices: [{ notice: n('m', 1), verdict: 'missing' }] }) // unknown: last
    d.advance(T.announceGraftTimeout)
    expect(d.grafts()).toEqual([['c', 'm']])
    d.advance(T.announceGraftRetry) // c brought nothing
    expect(d.grafts()).toEqual([['c', 'm'], ['b', 'm']])
    d.ev({ kind: 'full', from: 'b', record: r('m', 1), arrival: 'new', hops: 5 })
    missing.delete('m')
    d.advance(T.announceGraftRetry)
    expect(d.grafts()).toHaveLength(2)
    // the next version: c's claim of 0 hops is not believed
    d.ev({ kind: 'ihave', from: 'c', notices: [{ notice: n('k', 2, 0), verdict: 'missing' }] })
    d.ev({ kind: 'ihave', from: 'b', notices: [{ notice: n('k', 2, 7), verdict: 'missing' }] })
    d.advance(T.announceGraftTimeout)
    expect(d.grafts().slice(2)).toEqual([['b', 'k']])
    d.ev({ kind: 'full', from: 'b', record: r('k', 2), arrival: 'new', hops: 8 })
    missing.delete('k')
    // until it brings something new
    d.ev({ kind: 'full', from: 'c', record: r('q', 1), arrival: 'new', hops: 1 })
    missing.add('j')
    d.ev({ kind: 'ihave', from: 'b', notices: [{ notice: n('j', 3, 7), verdict: 'missing' }] })
    d.ev({ kind: 'ihave', from: 'c', notices: [{ notice: n('j', 3, 1), verdict: 'missing' }] })
    d.advance(T.announceGraftTimeout)
    expect(d.grafts().slice(3)).toEqual([['c', 'j']])
  })

  it('sends carry this node\'s hop count of each record: 0 at the origin, what it arrived with, unknown after anti-entropy', () => {
    for (const p of ['b', 'c']) d.ev({ kind: 'prune', from: p })
    d.ev({ kind: 'stored', record: r('o', 1), hops: 0 })
    d.ev({ kind: 'stored', record: r('s', 1), except: 'a' })
    expect(to('d').map(s => [s.full, s.fullHops])).toEqual([[[r('o', 1)], [0]], [[r('s', 1)], [undefined]]])
    d.advance(2 * S.announceIhaveDelay)
    expect(to('b').flatMap(s => s.ihave)).toEqual([r('o', 1), r('s', 1)])
    expect(to('b').flatMap(s => s.ihaveHops)).toEqual([0, undefined])
  })

  it('a GRAFT asking for no version makes the link eager and asks for no answer', () => {
    d.ev({ kind: 'prune', from: 'b' })
    d.ev({ kind: 'graft-link', from: 'b' })
    expect(d.core.isEager('b')).toBe(true)
    expect(d.actions.filter(x => x.kind === 'answer-graft')).toEqual([])
  })

  it('bounded: the hop counts of at most announceQueueMax names are remembered (the oldest goes)', () => {
    d = new Driver(missing, { announceQueueMax: 2 })
    d.up('a', 'b')
    for (const name of ['x', 'y', 'z']) d.ev({ kind: 'stored', record: r(name, 1), except: 'a', hops: 6 })
    d.sends.length = 0
    d.ev(dup('b', r('x', 1), 1)) // x forgotten: pruned as Plumtree does
    expect(d.sends).toMatchObject([{ peer: 'b', prune: true }])
    d.ev({ kind: 'graft-link', from: 'b' })
    d.sends.length = 0
    d.ev(dup('b', r('z', 1), 1))
    expect(d.sends).toMatchObject([{ peer: 'a', prune: true }])
  })
})

describe('announce/3.0.0 messages', () => {
  const key = generateSigningKey()
  const r1 = signRecord(key, { name: 'a.txt', content: new Uint8Array([1]), timestamp: 1234 })
  const r2 = signRecord(key, { name: 'ns/e-1', content: new Uint8Array([2]), timestamp: 2 ** 40 })

  it('IHAVE and GRAFT round-trip', () => {
    expect(decodeIhave(encodeIhave([r1, r2]))).toEqual([
      { name: 'a.txt', timestamp: 1234, id: recordId(r1) },
      { name: 'ns/e-1', timestamp: 2 ** 40, id: recordId(r2) }
    ])
    expect(decodeGraft(encodeGraft('a.txt', recordId(r1)))).toEqual({ name: 'a.txt', id: recordId(r1) })
  })

  it('malformed IHAVE and GRAFT are the peer\'s fault, with the problem named', () => {
    const good = encodeIhave([r1])
    const cases: Array<[Uint8Array, RegExp]> = [
      [good.subarray(0, good.length - 1), /truncated notice/],
      [Uint8Array.from([...good, 0]), /bytes after the last notice/],
      [Uint8Array.from([0x02, 0, 0]), /IHAVE with 0 notices/],
      [Uint8Array.from([0x02, 1, 1]), /IHAVE with 257 notices/],
      [Uint8Array.from([0x02, 0, 1, 0]), /bad name length 0/],
      [encodeGraft('a.txt', recordId(r1)).subarray(0, 20), /GRAFT: not a name and a 32-byte record id/]
    ]
    for (const [bytes, problem] of cases) {
      const decode = bytes[0] === 0x02 ? decodeIhave : decodeGraft
      let err: unknown
      try { decode(bytes) } catch (e) { err = e }
      expect(err).toBeInstanceOf(WireError)
      expect((err as WireError).fault).toBe('peer')
      expect((err as Error).message).toMatch(problem)
    }
  })
})
