// Issue 23 item 4, the scenarios with failures: the stable overlay as the reference, 20%
// churn, a partition into halves, 5% hostile members. At 1,000 nodes on a fixed seed, the
// real cores driven by the simulator: nothing missed once anti-entropy ran, RMR ≤ 0.15 on
// the stable overlay, honest delivery under hostile members within 2× the stable time, and
// a hostile member's silence costing a sync round syncStallTimeout, not syncTimeout.
// The hop bound (≤ 12) holds on the stable overlay and with hostile members, and under
// churn and across a healed partition since the reshape flood after cuts is on by default
// (24 and 24 hops without it: repairs re-attach whole subtrees wherever a notice came
// from; README.md, "Findings" 1; docs/DECISIONS.md, "A reshape flood after cuts").
import { beforeAll, describe, expect, it } from 'vitest'
import { brief, ciPrefetch, ciRun, CI_NODES, CI_SEED, PREFETCH_TIMEOUT } from './ci-runs.js'
import { DEFAULT_MESH_SETTINGS } from '../../src/mesh/settings.js'

const SCENARIOS = ['stable', 'churn', 'partition', 'hostile']

beforeAll(async () => { await ciPrefetch(...SCENARIOS) }, PREFETCH_TIMEOUT)

describe(`the simulator at N = ${CI_NODES}, seed ${CI_SEED}: failures`, () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario}: every live honest node ends with every update`, () => {
      const f = ciRun(scenario)
      expect(f.live).toBeGreaterThan(CI_NODES * 0.9)
      expect(f.missed, brief(f)).toBe(0)
      expect(f.deliveryFinal).toBe(1)
    })
  }

  it('stable: relative message redundancy ≤ 0.15, and the tree alone delivers > 99%', () => {
    const f = ciRun('stable')
    expect(f.rmr, brief(f)).toBeLessThanOrEqual(0.15)
    expect(f.deliveryTree, brief(f)).toBeGreaterThan(0.99)
  })

  it('churn and partition: the tree delivers most, anti-entropy the rest', () => {
    for (const s of ['churn', 'partition']) {
      const f = ciRun(s)
      expect(f.deliveryTree, brief(f)).toBeGreaterThan(0.5)
      expect(f.convergedAfterMs, brief(f)).toBeLessThan(120_000)
    }
  })

  // "Honest delivery within 2× the stable time": each update's last delivery to an honest
  // node (p50 and p99 over the updates) and every single delivery (p99).
  it('hostile: honest nodes get every update within 2× the stable time', () => {
    const stable = ciRun('stable'); const hostile = ciRun('hostile')
    const both = `${brief(hostile)} / ${brief(stable)}`
    expect(hostile.lastDeliveryP50, both).toBeLessThanOrEqual(2 * stable.lastDeliveryP50)
    expect(hostile.lastDeliveryP99, both).toBeLessThanOrEqual(2 * stable.lastDeliveryP99)
    expect(hostile.deliveryP99, both).toBeLessThanOrEqual(2 * stable.deliveryP99)
  })

  // A hostile member answers no sync round. Its silence costs an honest initiator
  // syncStallTimeout (5 s), not the round's whole syncTimeout (30 s, before: README.md
  // "Findings" 3), and its timer starts a round with another peer at once.
  it('hostile: a failed sync round costs its initiator at most syncStallTimeout, and the timer retries at once with another peer', () => {
    const f = ciRun('hostile')
    const sync = `failed ${f.syncRoundsFailed} of ${f.syncRoundsStarted}, waited ${f.syncFailedWaitMean.toFixed(0)} ms on average, ${f.syncFailedWaitMax.toFixed(0)} at most, retried ${f.syncRoundsRetried}`
    expect(f.syncRoundsFailed, sync).toBeGreaterThan(0)
    expect(f.syncFailedWaitMax, sync).toBeLessThanOrEqual(DEFAULT_MESH_SETTINGS.syncStallTimeout + 1)
    expect(f.syncRoundsRetried, sync).toBeGreaterThan(0)
    // stable: no round stalls; a round whose link is trimmed under it fails at once (sync-driver.ts linkDown: 1 of
    // 13,741 in this run since a sync message costs what an announce message does, sync/5.0.0; none before, by timing)
    const stable = ciRun('stable')
    expect(stable.syncRoundsFailed).toBeLessThanOrEqual(1)
    if (stable.syncRoundsFailed > 0) expect(stable.syncFailedWaitMax).toBeLessThan(DEFAULT_MESH_SETTINGS.syncStallTimeout)
  })

  it('stable and hostile: the last delivery is at most 12 hops from its origin', () => {
    for (const s of ['stable', 'hostile']) expect(ciRun(s).lastHopMax, brief(ciRun(s))).toBeLessThanOrEqual(12)
  })

  // met by the reshape flood after cuts, on by default (announceReshape*; 24 and 24 hops without it)
  for (const s of ['churn', 'partition']) {
    it(`${s}: the last delivery is at most 12 hops from its origin`, () => {
      expect(ciRun(s).lastHopMax, brief(ciRun(s))).toBeLessThanOrEqual(12)
    })
  }
})
