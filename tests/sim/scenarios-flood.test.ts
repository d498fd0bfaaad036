// Issue 23 item 4, "5% hostile members ... flood their namespace": the hostile members of
// the `hostile` scenario, each also publishing 2 new versions a second of its own
// namespace file (valid records: the quotas bound names and bytes, not the rate), from
// 25 s before the measured updates on (a flood that goes on: its first seconds, while
// the nodes are still learning who floods, cost tree repairs; README.md, Findings 4).
// With the judgement of flooders (src/mesh/proto/flood-judge.ts; on by default) honest
// delivery's p50 and the CPU per node per update stay within 2× the stable ones (seeds
// 1–3: below). Before the turns of new versions per signer (src/mesh/proto/signer-turns.ts)
// every node took and passed on every version, and needed more CPU than it had; without
// the judgement (FLOOD_JUDGE_OFF, run below to show what it is worth) every node still
// checks every version that reaches it (~4.6× the stable CPU; the p50 within 3×).
//
// At N = 300 rather than the CI's 1,000 (its own runs, in its own file): a flood makes
// far more events than the updates (1.9 M against 0.15 M; ~20 s here), and at 1,000 the run takes
// minutes on the shared 2-core machine (`npm run sim -- --nodes 1000 --scenario
// hostile-flood`, on demand; its figures are in README.md).
import { beforeAll, describe, expect, it } from 'vitest'
import { runScenarioAsync } from './scenarios.js'
import { brief, PREFETCH_TIMEOUT } from './ci-runs.js'
import type { Figures } from './figures.js'
import { FLOOD_JUDGE_OFF } from '../../src/mesh/settings.js'

const NODES = 300
const SEED = 1
const runs = new Map<string, Figures>()
const key = (scenario: string, judge: boolean): string => `${scenario}/${judge || scenario === 'stable' ? 'default' : 'judge-off'}`
beforeAll(async () => {
  for (const [scenario, judge] of [['stable', true], ['hostile-flood', true], ['hostile-flood', false]] as const) {
    const { figures } = await runScenarioAsync({ scenario, nodes: NODES, seed: SEED, updates: 10, settle: 30_000, settings: judge ? undefined : FLOOD_JUDGE_OFF })
    runs.set(key(scenario, judge), figures)
  }
}, PREFETCH_TIMEOUT)
/** `judge`: the run with the judgement of flooders on (the defaults); false: FLOOD_JUDGE_OFF. The stable overlay has no quick supersede, so it is run once. */
function run (scenario: string, judge = true): Figures {
  const f = runs.get(key(scenario, judge))
  if (f === undefined) throw new Error(`no run of ${key(scenario, judge)}: add it to the beforeAll`)
  return f
}

describe(`the simulator at N = ${NODES}, seed ${SEED}: members flooding their namespace, the defaults (the judgement of flooders on)`, () => {
  it('hostile-flood: every live honest node ends with every update; the flooders, and no honest signer, are judged flooding', { timeout: 120_000 }, () => {
    const f = run('hostile-flood')
    expect(f.missed, brief(f)).toBe(0)
    expect(f.deliveryFinal).toBe(1)
    expect(f.judgedHostile, brief(f)).toBeGreaterThan(0)
    expect(f.judgedHonest).toBe(0)
    expect(f.floodDropped).toBeGreaterThan(0) // their versions dropped before their check
  })

  // Before the turns (main b053188, the same scenario): the last delivery 1,112 / 1,436 ms
  // (p50 / p99) against 42 / 427 on the stable overlay; CPU 517 ms per node per update
  // against 14. Without the judgement (main 49dc089, and the defaults): 97 / 444 ms
  // against 55 / 469, CPU 63.9 against 13.9 (4.6×). Now, seeds 1 · 2 · 3: p50 49 · 60 · 66
  // ms against 55 · 49 · 45 (0.89 · 1.22 · 1.47×), CPU 20.8 · 22.9 · 22.3 ms (1.50 · 1.65 ·
  // 1.62×). With a suspected signer's notices silenced too (the trial before), seed 2's
  // p50 was 276 ms (5.6×): docs/DECISIONS.md, "The judgement of flooders: a suspect's notices go on; members only".
  it('hostile-flood: the last delivery\'s p50 within 2× the stable one (26× before the turns)', { timeout: 120_000 }, () => {
    const stable = run('stable')
    const flood = run('hostile-flood')
    const both = `${brief(flood)}, CPU ${flood.cpuMsPerNodeUpdate.toFixed(1)} ms / ${brief(stable)}, CPU ${stable.cpuMsPerNodeUpdate.toFixed(1)} ms`
    expect(flood.lastDeliveryP50, both).toBeLessThanOrEqual(2 * stable.lastDeliveryP50)
  })

  it('hostile-flood: the CPU per node per update within 2× the stable one (4.6× without the judgement)', { timeout: 120_000 }, () => {
    const stable = run('stable')
    const flood = run('hostile-flood')
    expect(flood.cpuMsPerNodeUpdate).toBeLessThanOrEqual(2 * stable.cpuMsPerNodeUpdate)
  })
})

describe(`the simulator at N = ${NODES}, seed ${SEED}: members flooding their namespace, the judgement of flooders off (FLOOD_JUDGE_OFF)`, () => {
  it('hostile-flood: every live honest node still ends with every update, the flood waiting for its signers\' turns; the p50 within 3× the stable one', { timeout: 120_000 }, () => {
    const f = run('hostile-flood', false)
    expect(f.missed, brief(f)).toBe(0)
    expect(f.deliveryFinal).toBe(1)
    expect(f.waitedVersions, brief(f)).toBeGreaterThan(0)
    expect(f.judgedHostile).toBe(0)
    // seeds 1–3: 97, 82, 97 ms against 55, 49, 45
    expect(f.lastDeliveryP50, `${brief(f)} / ${brief(run('stable'))}`).toBeLessThanOrEqual(3 * run('stable').lastDeliveryP50)
  })

  it('what the judgement is worth: without it the CPU per node per update is more than twice what it is with it', { timeout: 120_000 }, () => {
    expect(run('hostile-flood', false).cpuMsPerNodeUpdate).toBeGreaterThan(2 * run('hostile-flood').cpuMsPerNodeUpdate)
  })
})
