// The tree core's reshape flood, off unless ReshapeOptions are given (the daemon and the
// simulator give the settings', on by default: src/mesh/proto/tree.ts reshapeOptionsFrom;
// docs/DECISIONS.md, "A reshape flood after cuts"). Off, a version goes in full to eager peers only; on, a
// node that lost links lately floods the next version it gets near its origin to every
// peer, marked, and a node that gets a marked new version floods it on; once per interval;
// a marked duplicate that came a longer way is answered with this node's copy; with
// `spread`, a want from cuts goes on with notices; with `lostOnly`, hung-up links are no cuts.
import { describe, expect, it } from 'vitest'
import { TreeCore, type ReshapeOptions, type TreeAction, type TreeEvent, type TreeSettings } from '../../src/mesh/proto/tree.js'
import { seededRandom } from '../../src/mesh/proto/random.js'

const S: TreeSettings = {
  announceBatch: 256,
  announceQueueMax: 4096,
  announceIhaveDelay: 100,
  announceIhaveMax: 256,
  announceIdleClose: 60_000,
  announceGraftTimeout: 250,
  announceGraftRetry: 150,
  announceGraftMaxPeers: 3,
  announceMissingMax: 4,
  announceMissingPerPeer: 4,
  announceGraftAnswerBurst: 2,
  announceGraftAnswersPerSecond: 1,
  announceMessageBurst: 3,
  announceMessagesPerSecond: 1,
  maxConnections: 16
}
const ON: ReshapeOptions = { interval: 3000, nearOrigin: 1, deepAt: 10, cuts: 2, cutWindow: 5000, hold: 0, followAlways: false }

interface R { name: string, v: number }
type Send = TreeAction<R> & { kind: 'send' }

/** One core, every send acknowledged at once; `full(name)`: [peer, marked] of each full record of that name sent; `sends`: all of them. */
function node (reshape?: ReshapeOptions): { ev: (e: TreeEvent<R>, now: number) => void, full: (name: string) => Array<[string, boolean]>, sends: Send[] } {
  const core = new TreeCore<R>(S, { name: r => r.name, compare: (a, b) => a.v - b.v, stillMissing: () => true }, seededRandom(1), reshape)
  const sends: Send[] = []
  const ev = (e: TreeEvent<R>, now: number): void => {
    for (const a of core.handle(e, now)) if (a.kind === 'send') { sends.push(a); ev({ kind: 'sent', peer: a.peer }, now) }
  }
  const full = (name: string): Array<[string, boolean]> => sends.flatMap(s => s.full.flatMap((r, i) => r.name === name ? [[s.peer, s.fullReshape?.[i] ?? false] as [string, boolean]] : []))
  return { ev, full, sends }
}

/** In the tree with eager peer a and lazy peers b, c, d (links that came up once it was in the tree); then c and a go down. */
function cut (reshape?: ReshapeOptions, lost?: boolean): ReturnType<typeof node> {
  const n = node(reshape)
  n.ev({ kind: 'up', peer: 'a' }, 0)
  n.ev({ kind: 'stored', record: { name: 'f0', v: 1 }, hops: 0 }, 0)
  for (const p of ['b', 'c', 'd', 'e']) n.ev({ kind: 'up', peer: p }, 10)
  n.ev({ kind: 'down', peer: 'c', lost }, 100)
  n.ev({ kind: 'down', peer: 'a', lost }, 200)
  return n
}

const marked = (n: ReturnType<typeof node>, name: string): string[] => n.full(name).filter(([, m]) => m).map(([p]) => p).sort()

describe('the tree core: a reshape flood after cuts', () => {
  it('off: after the same cuts, a new version goes in full to the eager peer only, unmarked', () => {
    const n = cut()
    n.ev({ kind: 'stored', record: { name: 'f1', v: 1 }, hops: 0 }, 300)
    // the orphan grafted one lazy peer at once (rejoin); the others only get a notice later
    expect(n.full('f1')).toHaveLength(1)
    expect(n.full('f1')[0][1]).toBe(false)
  })

  it('on: the next version near its origin goes in full to every peer, marked; the one after as usual', () => {
    const n = cut(ON)
    n.ev({ kind: 'stored', record: { name: 'f1', v: 1 }, hops: 1, except: 'b' }, 300)
    expect(n.full('f1').sort()).toEqual([['d', true], ['e', true]])
    n.ev({ kind: 'prune', from: 'd' }, 400)
    n.ev({ kind: 'prune', from: 'e' }, 400)
    n.ev({ kind: 'stored', record: { name: 'f2', v: 1 }, hops: 1, except: 'b' }, 500)
    expect(n.full('f2')).toEqual([])
  })

  it('on: a version far from its origin does not start it; a marked new version is flooded on, once per interval', () => {
    const n = cut(ON)
    n.ev({ kind: 'stored', record: { name: 'f1', v: 1 }, hops: 5, except: 'b' }, 300)
    expect(n.full('f1').filter(([, marked]) => marked)).toEqual([])
    n.ev({ kind: 'stored', record: { name: 'f2', v: 1 }, hops: 5, except: 'b', reshape: true }, 400)
    expect(n.full('f2').sort()).toEqual([['d', true], ['e', true]])
    n.ev({ kind: 'stored', record: { name: 'f3', v: 1 }, hops: 5, except: 'b', reshape: true }, 500)
    expect(n.full('f3').filter(([, marked]) => marked)).toEqual([])
  })

  it('a marked duplicate that came a longer way is answered with this node\'s copy, though its sender holds it; unmarked, it is not', () => {
    for (const marked of [true, false]) {
      const n = node(ON)
      n.ev({ kind: 'up', peer: 'a' }, 0)
      n.ev({ kind: 'stored', record: { name: 'f0', v: 1 }, hops: 3 }, 0)
      n.ev({ kind: 'up', peer: 'b' }, 10) // lazy: it came up once this node was in the tree
      n.ev({ kind: 'stored', record: { name: 'f1', v: 1 }, hops: 2, except: 'a' }, 20)
      n.ev({ kind: 'known', peer: 'b', record: { name: 'f1', v: 1 } }, 30)
      n.ev({ kind: 'full', from: 'b', record: { name: 'f1', v: 1 }, arrival: 'duplicate', hops: 7, reshape: marked }, 30)
      expect(n.full('f1'), `marked: ${String(marked)}`).toEqual(marked ? [['b', false]] : [])
    }
  })

  it('lostOnly: links hung up (the overlay trimming) are no cut; links lost are', () => {
    const LOST: ReshapeOptions = { ...ON, lostOnly: true }
    const trimmed = cut(LOST, false)
    trimmed.ev({ kind: 'stored', record: { name: 'f1', v: 1 }, hops: 0 }, 300)
    expect(marked(trimmed, 'f1')).toEqual([])
    const lost = cut(LOST, true)
    lost.ev({ kind: 'stored', record: { name: 'f1', v: 1 }, hops: 0 }, 300)
    expect(marked(lost, 'f1')).toEqual(['b', 'd', 'e'])
  })

  it('spread: a want from cuts goes on with the notices, and a node told of one floods the next version it gets near its origin', () => {
    const SPREAD: ReshapeOptions = { ...ON, spread: true }
    // the node that saw the cuts tells its lazy peers with its next notices
    const n = cut(SPREAD)
    n.ev({ kind: 'stored', record: { name: 'f1', v: 1 }, hops: 5, except: 'b' }, 300) // far from its origin: no flood here
    n.ev({ kind: 'tick' }, 1000)
    const notices = n.sends.filter(s => s.ihave.length > 0)
    expect(notices.length).toBeGreaterThan(0)
    expect(notices.every(s => s.wantReshape === true)).toBe(true)
    // a node told of it (no cut of its own) floods its own next version; one not told does not
    for (const told of [true, false]) {
      const m = node(SPREAD)
      m.ev({ kind: 'up', peer: 'a' }, 0)
      m.ev({ kind: 'stored', record: { name: 'f0', v: 1 }, hops: 0 }, 0)
      m.ev({ kind: 'up', peer: 'b' }, 10)
      m.ev({ kind: 'ihave', from: 'b', notices: [], wantReshape: told }, 20)
      m.ev({ kind: 'stored', record: { name: 'f1', v: 1 }, hops: 0 }, 30)
      expect(marked(m, 'f1'), `told: ${String(told)}`).toEqual(told ? ['a', 'b'] : [])
    }
  })
})

// What a member can trigger with the mark and the want (docs/SECURITY.md, "The reshape
// flood"): it may set them at will, and a node still floods at most one version per
// interval, marks copies only of that version and only within the interval, and answers a
// marked duplicate once per peer and version.
describe('the tree core: what a member can make a node do with the reshape flood\'s mark and want', () => {
  const DEFAULT = { ...ON, deepAt: 255, hold: 30, spread: true, lostOnly: true }

  it('a member marking every FULL and wanting on every notice: at most one flood per interval', () => {
    const core = new TreeCore<R>(S, { name: r => r.name, compare: (a, b) => a.v - b.v, stillMissing: () => true }, seededRandom(1), DEFAULT)
    const marked = new Set<string>()
    const ev = (e: TreeEvent<R>, now: number): void => {
      for (const a of core.handle(e, now)) {
        if (a.kind !== 'send') continue
        a.full.forEach((r, i) => { if (a.fullReshape?.[i] === true) marked.add(r.name) })
        ev({ kind: 'sent', peer: a.peer }, now)
      }
    }
    for (const p of ['m', 'b', 'c', 'd']) ev({ kind: 'up', peer: p }, 0)
    const T = 30_000
    let v = 0
    for (let t = 0; t < T; t += 50) {
      // the member: a notice with the want, then a marked FULL of a new version (stored, so followed if it may be)
      ev({ kind: 'ihave', from: 'm', notices: [], wantReshape: true }, t)
      ev({ kind: 'full', from: 'm', record: { name: `m${v}`, v: 1 }, arrival: 'new', hops: 1, reshape: true }, t)
      ev({ kind: 'stored', record: { name: `m${v}`, v: 1 }, except: 'm', hops: 1, reshape: true }, t)
      // and this node's own versions, at its origin: each would start a flood if a want were enough
      ev({ kind: 'stored', record: { name: `own${v}`, v: 1 }, hops: 0 }, t + 10)
      ev({ kind: 'tick' }, t + 40)
      v++
    }
    const floods = core.counters.reshapes + core.counters.reshapesFollowed
    const bound = Math.ceil(T / DEFAULT.interval)
    expect(floods).toBeGreaterThan(0)
    expect(floods).toBeLessThanOrEqual(bound)
    expect(marked.size).toBeLessThanOrEqual(bound) // one version marked per flood, no more
  })

  it('a marked duplicate is answered with this node\'s copy once per peer and version, however often it comes', () => {
    const n = node(DEFAULT)
    n.ev({ kind: 'up', peer: 'a' }, 0)
    n.ev({ kind: 'stored', record: { name: 'f0', v: 1 }, hops: 3 }, 0)
    n.ev({ kind: 'up', peer: 'b' }, 10)
    n.ev({ kind: 'stored', record: { name: 'f1', v: 1 }, hops: 2, except: 'a' }, 20)
    for (let i = 0; i < 20; i++) n.ev({ kind: 'full', from: 'b', record: { name: 'f1', v: 1 }, arrival: 'duplicate', hops: 7, reshape: true }, 30 + i)
    expect(n.full('f1').filter(([p]) => p === 'b')).toHaveLength(1)
  })

  it('a copy of the flooded version goes marked only within the interval: a GRAFT answered later gets it unmarked', () => {
    const n = node(DEFAULT)
    for (const p of ['a', 'b']) n.ev({ kind: 'up', peer: p }, 0)
    n.ev({ kind: 'stored', record: { name: 'f1', v: 1 }, hops: 1, except: 'a', reshape: true }, 0) // followed: flooded on to b
    n.ev({ kind: 'tick' }, 100)
    expect(n.full('f1')).toEqual([['b', true]])
    n.ev({ kind: 'up', peer: 'c' }, 200)
    n.ev({ kind: 'graft', from: 'c', name: 'f1', id: new Uint8Array(32) }, 5000)
    n.ev({ kind: 'graft-answer', peer: 'c', name: 'f1', record: { name: 'f1', v: 1 } }, 5000)
    expect(n.full('f1')).toEqual([['b', true], ['c', false]])
  })
})
