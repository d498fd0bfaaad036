// The broadcast tree's state on its own (src/mesh/broadcast-tree.ts): links start eager,
// prune and graft move them, a version heard of by notice only is grafted from its
// notifiers in turn after the timers, and the state is bounded. Timers are vitest's fake
// clock; the module has no other boundary.
import { recordId } from '../../src/crypto/record.js'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BroadcastTree, type Notice } from '../../src/mesh/broadcast-tree.js'
import { decodeGraft, decodeIhave, encodeGraft, encodeIhave } from '../../src/mesh/announce.js'
import { WireError } from '../../src/mesh/wire.js'
import { signRecord } from '../../src/crypto/record.js'
import { generateSigningKey } from '../../src/crypto/keys.js'

const T = { announceGraftTimeout: 250, announceGraftRetry: 150, announceGraftMaxPeers: 3, announceMissingMax: 4, announceMissingPerPeer: 4 }
const notice = (name: string, k = 1): Notice => ({ name, timestamp: 1000 + k, id: new Uint8Array(32).fill(k) })

let missing: Set<string>
let sent: Array<[string, string]>
let connected: Set<string>
let tree: BroadcastTree
beforeEach(() => {
  vi.useFakeTimers()
  missing = new Set()
  sent = []
  connected = new Set(['a', 'b', 'c', 'd'])
  tree = new BroadcastTree(T, {
    stillMissing: n => missing.has(n.name),
    sendGraft: (peer, n) => { if (!connected.has(peer)) return false; sent.push([peer, n.name]); return true }
  })
})
afterEach(() => { tree.stop(); vi.useRealTimers() })

describe('broadcast tree', () => {
  it('links start eager; a prune makes one lazy, a graft eager again; a link that goes down is forgotten', () => {
    expect(tree.isEager('a')).toBe(true)
    expect(tree.prune('a')).toBe(true)
    expect(tree.prune('a')).toBe(false) // already lazy
    expect(tree.links(['a', 'b'])).toEqual({ eager: ['b'], lazy: ['a'] })
    tree.graft('a')
    expect(tree.isEager('a')).toBe(true)
    tree.prune('b')
    tree.linkDown('b')
    expect(tree.isEager('b')).toBe(true) // a new connection to b starts eager
  })

  it('a version heard of by notice is grafted from the first notifier after the graft timeout, not before, and that link turns eager', () => {
    tree.prune('a')
    missing.add('x')
    tree.heardOf('a', notice('x'))
    tree.heardOf('b', notice('x'))
    vi.advanceTimersByTime(T.announceGraftTimeout - 1)
    expect(sent).toEqual([])
    vi.advanceTimersByTime(1)
    expect(sent).toEqual([['a', 'x']])
    expect(tree.isEager('a')).toBe(true)
    // nothing came: the next notifier after the retry interval
    vi.advanceTimersByTime(T.announceGraftRetry)
    expect(sent).toEqual([['a', 'x'], ['b', 'x']])
    // nobody left: forgotten (anti-entropy repairs)
    vi.advanceTimersByTime(T.announceGraftRetry)
    expect(tree.waiting()).toBe(0)
  })

  it('no graft when the version arrived meanwhile; a notifier that disconnected is skipped', () => {
    tree.heardOf('a', notice('x'))
    vi.advanceTimersByTime(T.announceGraftTimeout)
    expect(sent).toEqual([]) // x is not missing any more
    expect(tree.waiting()).toBe(0)
    missing.add('y')
    tree.heardOf('a', notice('y'))
    tree.heardOf('b', notice('y'))
    tree.heardOf('c', notice('y'))
    tree.linkDown('a')
    connected.delete('b') // gone without the disconnect seen yet
    vi.advanceTimersByTime(T.announceGraftTimeout)
    expect(sent).toEqual([['c', 'y']])
  })

  it('bounded: notifiers per version and versions waited for', () => {
    missing.add('n0')
    for (const p of ['a', 'b', 'c', 'd', 'e']) tree.heardOf(p, notice('n0'))
    for (let k = 1; k <= 5; k++) { missing.add(`n${k}`); tree.heardOf('a', notice(`n${k}`, k)) }
    expect(tree.waiting()).toBe(T.announceMissingMax) // n0, the oldest, was forgotten
    vi.advanceTimersByTime(T.announceGraftTimeout)
    expect(sent.map(s => s[1]).sort()).toEqual(['n2', 'n3', 'n4', 'n5'])
    tree.stop()
    tree = new BroadcastTree(T, { stillMissing: () => true, sendGraft: (peer, n) => { sent.push([peer, n.name]); return true } })
    sent = []
    for (const p of ['a', 'b', 'c', 'd', 'e']) tree.heardOf(p, notice('z'))
    vi.advanceTimersByTime(T.announceGraftTimeout + 10 * T.announceGraftRetry)
    expect(sent).toEqual([['a', 'z'], ['b', 'z'], ['c', 'z']]) // announceGraftMaxPeers
  })

  it('review 11-R8: one notifier\'s fake notices evict only its own missing versions, not an honest peer\'s', () => {
    tree.stop()
    const S = { ...T, announceMissingMax: 8, announceMissingPerPeer: 3 }
    tree = new BroadcastTree(S, { stillMissing: n => missing.has(n.name), sendGraft: (peer, n) => { sent.push([peer, n.name]); return true } })
    for (const h of ['h1', 'h2']) { missing.add(h); tree.heardOf('b', notice(h, 7)) }
    for (let k = 1; k <= 50; k++) { missing.add(`f${k}`); tree.heardOf('a', notice(`f${k}`, k)) } // versions that do not exist
    expect(tree.waiting()).toBe(2 + S.announceMissingPerPeer)
    vi.advanceTimersByTime(S.announceGraftTimeout)
    expect(sent.filter(([peer]) => peer === 'b').map(s => s[1]).sort()).toEqual(['h1', 'h2'])
    expect(sent.filter(([peer]) => peer === 'a').map(s => s[1]).sort()).toEqual(['f48', 'f49', 'f50']) // its newest ones
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
