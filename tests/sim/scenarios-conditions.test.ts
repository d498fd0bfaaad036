// Issue 23 items 4 and 5, the scenarios with hard conditions: slow nodes, clock offsets,
// and every node bootstrapping from one or two nodes. At 1,000 nodes on a fixed seed.
// A fleet that cold-starts from the same node(s) does not converge today (README.md,
// "Findings": without allowed_nodes most joiners wait for one of node 0's stranger
// slots; with it, node 0 holds 128 peers at first, 32 at the end, and a few nodes none): those cases are
// expected to fail (`it.fails`), and turn red — to be flipped — when the join is fixed.
import { describe, expect, it } from 'vitest'
import { brief, ciRun, CI_NODES, CI_SEED } from './ci-runs.js'

describe(`the simulator at N = ${CI_NODES}, seed ${CI_SEED}: conditions`, () => {
  for (const scenario of ['slow', 'clocks']) {
    it(`${scenario}: every live honest node ends with every update`, () => {
      const f = ciRun(scenario)
      expect(f.missed, brief(f)).toBe(0)
      expect(f.deliveryFinal).toBe(1)
      expect(f.deliveryTree, brief(f)).toBeGreaterThan(0.99)
    })
  }

  for (const scenario of ['bootstrap-one', 'bootstrap-two']) {
    it(`${scenario}: the bootstrap node does not become everyone's neighbour`, () => {
      const f = ciRun(scenario)
      // at most maxPeers members plus the stranger slots it admits (maxStrangerConnections)
      expect(f.bootstrapPeersMax, brief(f)).toBeLessThanOrEqual(16 + 32)
      expect(f.bootstrapPeers, brief(f)).toBeLessThanOrEqual(32)
    })

    it.fails(`${scenario}: every node joins and ends with every update (today: most wait for a stranger slot)`, () => {
      const f = ciRun(scenario)
      expect(f.missed, brief(f)).toBe(0)
    })
  }

  it.fails('bootstrap-one-allowed: every node joins and ends with every update, and node 0 stays near maxPeers', () => {
    const f = ciRun('bootstrap-one-allowed')
    expect(f.bootstrapPeers, brief(f)).toBeLessThanOrEqual(16 + 4)
    expect(f.missed, brief(f)).toBe(0)
  })

  it.fails('the last delivery is at most 12 hops from its origin (today: not met)', () => {
    for (const s of ['slow', 'clocks']) expect(ciRun(s).lastHopMax, brief(ciRun(s))).toBeLessThanOrEqual(12)
  })
})
