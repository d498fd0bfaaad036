// Issue 23 item 4, "5% hostile members ... flood their namespace": the hostile members of
// the `hostile` scenario, each also publishing 2 new versions a second of its own
// namespace file (valid records: the quotas bound names and bytes, not the rate), from
// 25 s before the measured updates on (a flood that goes on: its first seconds, while
// the nodes are still learning who floods, cost tree repairs; README.md, Findings 4).
// With the judgement of flooders on (a trial, off by default), honest delivery's p50 and
// the CPU per node per update stay within 2× the stable ones (at this seed; not at every
// seed: below); with the defaults the p50 within 3×. Before the turns of new versions per
// signer (src/mesh/proto/signer-turns.ts) every node took and passed on every version,
// and needed more CPU than it had; before the judgement of flooders by their own rate
// (src/mesh/proto/flood-judge.ts) every node still checked every version that reached it
// (~4.6× the stable CPU).
//
// At N = 300 rather than the CI's 1,000 (its own runs, in its own file): a flood makes
// far more events than the updates (1.9 M against 0.15 M; ~20 s here), and at 1,000 the run takes
// minutes on the shared 2-core machine (`npm run sim -- --nodes 1000 --scenario
// hostile-flood`, on demand; its figures are in README.md).
import { describe, expect, it } from 'vitest'
import { runScenario } from './scenarios.js'
import { brief } from './ci-runs.js'
import type { Figures } from './figures.js'
import { FLOOD_JUDGE_ON } from '../../src/mesh/settings.js'

const NODES = 300
const SEED = 1
const runs = new Map<string, Figures>()
/** `judge`: with the judgement of flooders on (settings.ts FLOOD_JUDGE_ON; off by default). The stable overlay has no quick supersede, so it is run once. */
function run (scenario: string, judge = false): Figures {
  const key = `${scenario}/${judge && scenario !== 'stable' ? 'judge' : 'default'}`
  let f = runs.get(key)
  if (f === undefined) {
    f = runScenario({ scenario, nodes: NODES, seed: SEED, updates: 10, settle: 30_000, settings: judge ? FLOOD_JUDGE_ON : undefined }).figures
    runs.set(key, f)
  }
  return f
}

describe(`the simulator at N = ${NODES}, seed ${SEED}: members flooding their namespace, the defaults (no judgement of flooders)`, () => {
  it('hostile-flood: every live honest node ends with every update, and the flood waited for its signers\' turns', { timeout: 120_000 }, () => {
    const f = run('hostile-flood')
    expect(f.missed, brief(f)).toBe(0)
    expect(f.deliveryFinal).toBe(1)
    expect(f.waitedVersions, brief(f)).toBeGreaterThan(0)
  })

  // The p50 within 3× held at seeds 1–3 (85, 83, 105 ms against 42, 291, 47); within 2×
  // and the p99s at seed 1 only (README.md, Findings 4).
  it('hostile-flood: the last delivery\'s p50 within 3× the stable one (26× before the turns)', { timeout: 120_000 }, () => {
    const stable = run('stable')
    const flood = run('hostile-flood')
    expect(flood.lastDeliveryP50, `${brief(flood)} / ${brief(stable)}`).toBeLessThanOrEqual(3 * stable.lastDeliveryP50)
  })

  // Without the judgement every version that reaches a node is checked (~4.6× the stable
  // CPU per update); below, with it on, this holds. Flip it to `it` the day the default does.
  it.fails('hostile-flood: the CPU per node per update within 2× the stable one', { timeout: 120_000 }, () => {
    expect(run('hostile-flood').cpuMsPerNodeUpdate).toBeLessThanOrEqual(2 * run('stable').cpuMsPerNodeUpdate)
  })
})

describe(`the simulator at N = ${NODES}, seed ${SEED}: members flooding their namespace, with the judgement of flooders on (off by default)`, () => {
  it('hostile-flood: every live honest node ends with every update; the flooders, and no honest signer, are judged flooding', { timeout: 120_000 }, () => {
    const f = run('hostile-flood', true)
    expect(f.missed, brief(f)).toBe(0)
    expect(f.deliveryFinal).toBe(1)
    expect(f.judgedHostile, brief(f)).toBeGreaterThan(0)
    expect(f.judgedHonest).toBe(0)
    expect(f.floodDropped).toBeGreaterThan(0) // their versions dropped before their check
  })

  // Before the turns (main b053188, the same scenario): the last delivery 1,112 / 1,436 ms
  // (p50 / p99) against 42 / 427 on the stable overlay; CPU 517 ms per node per update
  // against 14. Before the judge (main 49dc089): 97 / 444 ms against 55 / 469, CPU 63.9
  // against 13.9 (4.6×). Now 56 / 444 ms, CPU 22.9 (1.02× and 1.65×). At seeds 2 and 3
  // the CPU holds (1.70×, 1.70×), the p50 at seed 3 (61 ms against 45) but not at seed 2
  // (276 against 49; main 82): repairs of a tree a flood's first seconds left deep
  // (README.md, Findings 4; docs/DECISIONS.md, "Flooders judged by their own rate").
  it('hostile-flood: the last delivery\'s p50 within 2× the stable one (26× before the turns)', { timeout: 120_000 }, () => {
    const stable = run('stable')
    const flood = run('hostile-flood', true)
    const both = `${brief(flood)}, CPU ${flood.cpuMsPerNodeUpdate.toFixed(1)} ms / ${brief(stable)}, CPU ${stable.cpuMsPerNodeUpdate.toFixed(1)} ms`
    expect(flood.lastDeliveryP50, both).toBeLessThanOrEqual(2 * stable.lastDeliveryP50)
  })

  it('hostile-flood: the CPU per node per update within 2× the stable one (4.6× before the judge)', { timeout: 120_000 }, () => {
    const stable = run('stable')
    const flood = run('hostile-flood', true)
    expect(flood.cpuMsPerNodeUpdate).toBeLessThanOrEqual(2 * stable.cpuMsPerNodeUpdate)
  })
})
