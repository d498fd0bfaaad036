// The fixed runs the CI tests assert on (issue 23 item 4): 1,000 nodes, seed 1, ten
// measured updates after 30 s of settling. One run per scenario and test file process.
import { runScenario } from './scenarios.js'
import type { Figures } from './figures.js'

export const CI_NODES = 1000
export const CI_SEED = 1
const runs = new Map<string, Figures>()

export function ciRun (scenario: string): Figures {
  let f = runs.get(scenario)
  if (f === undefined) {
    f = runScenario({ scenario, nodes: CI_NODES, seed: CI_SEED, updates: 10, settle: 30_000 }).figures
    runs.set(scenario, f)
  }
  return f
}

/** The figures a failed assertion should show. */
export function brief (f: Figures): string {
  return `${f.scenario}: missed ${f.missed}, tree ${(100 * f.deliveryTree).toFixed(2)}%, RMR ${f.rmr.toFixed(3)}, hops ${f.lastHopMax}, ` +
    `last delivery p50/p99 ${f.lastDeliveryP50.toFixed(0)}/${f.lastDeliveryP99.toFixed(0)} ms, delivery p99 ${f.deliveryP99.toFixed(0)} ms, ` +
    `peers ${f.peersMean.toFixed(1)} (node 0: ${f.bootstrapPeers}, most ${f.bootstrapPeersMax})`
}
