// Fewer sync rounds at idle: a node that has just answered a round skips initiating on
// its next tick, never twice in a row.
import { afterEach, describe, expect, it } from 'vitest'
import { Cluster, connected, waitFor, type TestNode } from './helpers.js'
import { shouldSkip } from '../../src/mesh/proto/sync-schedule.js'

describe('shouldSkip', () => {
  it('skips only after answering, and never twice in a row: a peer that answers every tick halves our initiations at most', () => {
    expect(shouldSkip({ answeredSinceArmed: false, skippedLast: false })).toBe(false)
    expect(shouldSkip({ answeredSinceArmed: false, skippedLast: true })).toBe(false)
    expect(shouldSkip({ answeredSinceArmed: true, skippedLast: false })).toBe(true)
    expect(shouldSkip({ answeredSinceArmed: true, skippedLast: true })).toBe(false)
    // a peer syncing with us before every one of our ticks: every other tick still initiates
    let skippedLast = false
    const ticks: boolean[] = []
    for (let i = 0; i < 10; i++) {
      const skip = shouldSkip({ answeredSinceArmed: true, skippedLast })
      ticks.push(skip)
      skippedLast = skip
    }
    expect(ticks.filter(s => !s).length).toBe(5)
    for (let i = 1; i < ticks.length; i++) expect(ticks[i] && ticks[i - 1]).toBe(false)
  })
})

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

it('three idle nodes initiate fewer rounds than timer ticks, and each still initiates at least one round per two intervals', async () => {
  const INTERVAL = 300
  cluster = new Cluster({ transports: ['tcp'], syncInterval: INTERVAL })
  const nodes: TestNode[] = []
  for (let i = 0; i < 3; i++) nodes.push(await cluster.add(`n${i}`, { bootstrap: i === 0 ? [] : [nodes[0].hostPort] }))
  await connected(nodes, 2)
  const sync = (n: TestNode): { rounds: number, skipped: number, answered: number } => {
    const s: { rounds: number, skipped?: number, answered?: number } = n.mesh.stats().sync
    return { rounds: s.rounds, skipped: s.skipped ?? 0, answered: s.answered ?? 0 } // (0 where the counters did not exist)
  }
  const before = nodes.map(sync)
  const t0 = Date.now()
  await waitFor(() => nodes.every((n, i) => sync(n).rounds + sync(n).skipped - before[i].rounds - before[i].skipped >= 10), '10 ticks on every node', [], 60_000)
  const elapsed = Date.now() - t0
  const d = nodes.map((n, i) => ({ rounds: sync(n).rounds - before[i].rounds, skipped: sync(n).skipped - before[i].skipped, answered: sync(n).answered - before[i].answered }))
  for (const x of d) {
    expect(x.skipped, JSON.stringify(d)).toBeGreaterThan(0) // (sync/2.0.0 initiated on every tick)
    expect(x.answered).toBeGreaterThan(0)
    // never two skips in a row: at least one initiation per two ticks (a tick is ≤ 1.2 intervals plus the round)
    expect(x.rounds).toBeGreaterThanOrEqual(Math.floor((x.rounds + x.skipped) / 2))
    expect(x.rounds).toBeGreaterThanOrEqual(Math.floor(elapsed / (2 * 1.2 * INTERVAL)) - 2)
  }
  const rounds = d.reduce((a, x) => a + x.rounds, 0)
  const ticks = d.reduce((a, x) => a + x.rounds + x.skipped, 0)
  console.log(`[sync-schedule] over ${elapsed} ms: ${rounds} rounds initiated on ${ticks} ticks (${JSON.stringify(d)})`)
  expect(rounds / ticks).toBeLessThan(0.85)
}, 90_000)
