// The simulator's own machinery: the event queue's order, the replica's order and digest,
// the network model's in-order delivery, and that a run is a function of its seed.
import { describe, expect, it } from 'vitest'
import { EventQueue } from './event-queue.js'
import { Replica } from './replica.js'
import { compareRecords, idOf, serialOf, type SimRecord } from './records.js'
import { Network, PROFILES } from './network.js'
import { Cpu } from './cpu.js'
import { seededRandom } from '../../src/mesh/proto/random.js'
import { runScenario } from './scenarios.js'

const rec = (name: string, timestamp: number, serial: number): SimRecord =>
  ({ name, timestamp, serial, id: idOf(serial), size: 1024, update: -1, origin: 0, publishedAt: 0 })

describe('event queue', () => {
  it('pops by time, and events at the same time in the order they were pushed (also across growth)', () => {
    const q = new EventQueue(4)
    const random = seededRandom(7)
    const pushed: Array<[number, number]> = []
    for (let i = 0; i < 5000; i++) {
      const t = Math.floor(random() * 100)
      q.push(t, 1, i)
      pushed.push([t, i])
    }
    const expected = [...pushed].sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(p => p[1])
    const got: number[] = []
    for (let slot = q.pop(); slot >= 0; slot = q.pop()) { got.push(q.node[slot]); q.release(slot) }
    expect(got).toEqual(expected)
  })

  it('refuses an event at a time that is not a number', () => {
    expect(() => new EventQueue().push(NaN, 1, 0)).toThrow(/invalid time/)
  })
})

describe('replica', () => {
  it('keeps the newest version (timestamp, then serial) and a digest that depends only on what it holds', () => {
    const a = new Replica(); const b = new Replica()
    expect(a.offer(rec('x', 10, 1))).toBe(true)
    expect(a.offer(rec('x', 9, 5))).toBe(false)
    expect(a.offer(rec('x', 10, 2))).toBe(true)
    a.offer(rec('y', 1, 3))
    b.offer(rec('y', 1, 3))
    expect(a.digest).not.toBe(b.digest)
    b.offer(rec('x', 10, 2))
    expect(a.digest).toBe(b.digest)
    expect(a.lacks('x', 10, 3)).toBe(true)
    expect(a.lacks('x', 10, 2)).toBe(false)
    expect(compareRecords(rec('x', 10, 2), rec('x', 10, 2))).toBe(0)
    expect(serialOf(idOf(0xdeadbeef))).toBe(0xdeadbeef)
  })
})

describe('network and CPU models', () => {
  it('delivers in order on a link even when a message waits for a retransmission', () => {
    const net = new Network({ ...PROFILES.wan, lossRate: 0.5 }, 1, 2, seededRandom(3))
    const lat = net.latency(0, 1)
    expect(lat).toBe(net.latency(1, 0))
    let prev = 0
    for (let i = 0; i < 200; i++) {
      const at = net.arrival(0, i, 100, lat, prev)
      expect(at).toBeGreaterThanOrEqual(prev)
      expect(at).toBeGreaterThanOrEqual(i + lat)
      prev = at
    }
  })

  it('queues a node\'s work, and on a shared host the nodes\' work on its cores', () => {
    const own = new Cpu(3)
    expect(own.run(0, 0, 10)).toBe(10)
    expect(own.run(0, 5, 10)).toBe(20) // waits for its own CPU
    expect(own.run(1, 5, 10)).toBe(15) // another node's CPU is free
    const host = new Cpu(3, 2)
    host.run(0, 0, 10); host.run(1, 0, 10)
    expect(host.run(2, 0, 10)).toBe(20) // both cores busy
  })
})

describe('determinism', () => {
  it('the same seed gives identical figures; another seed, different ones', () => {
    const run = (seed: number): unknown => {
      const { figures } = runScenario({ scenario: 'churn', nodes: 150, seed, updates: 6, settle: 20_000 })
      return { ...figures, wallMs: 0 }
    }
    const a = run(5)
    expect(run(5)).toEqual(a)
    expect(run(6)).not.toEqual(a)
  })
})
