// The fixed runs the CI tests assert on (issue 23 item 4): 1,000 nodes, seed 1, ten
// measured updates after 30 s of settling. One run per scenario and test file process.
// A test file runs them in its beforeAll (ciPrefetch: the run gives the event loop a turn
// each simulated second, scenarios.ts runScenarioAsync); its tests then read them (ciRun).
import { runScenarioAsync } from './scenarios.js'
import type { Figures } from './figures.js'

export const CI_NODES = 1000
export const CI_SEED = 1
/** How long a test file's beforeAll may take for its runs (minutes each on a loaded 2-core host). */
export const PREFETCH_TIMEOUT = 1_200_000
const runs = new Map<string, Figures>()

/** Runs these scenarios (the CI's runs) unless run already in this process. */
export async function ciPrefetch (...scenarios: string[]): Promise<void> {
  for (const scenario of scenarios) {
    if (runs.has(scenario)) continue
    runs.set(scenario, (await runScenarioAsync({ scenario, nodes: CI_NODES, seed: CI_SEED, updates: 10, settle: 30_000 })).figures)
  }
}

/** The figures of a CI run that ciPrefetch made. */
export function ciRun (scenario: string): Figures {
  const f = runs.get(scenario)
  if (f === undefined) throw new Error(`the CI run of "${scenario}" was not made: add it to the file's ciPrefetch`)
  return f
}

/** The figures a failed assertion should show. */
export function brief (f: Figures): string {
  return `${f.scenario}: missed ${f.missed}, tree ${(100 * f.deliveryTree).toFixed(2)}%, RMR ${f.rmr.toFixed(3)}, hops ${f.lastHopMax}, ` +
    `last delivery p50/p99 ${f.lastDeliveryP50.toFixed(0)}/${f.lastDeliveryP99.toFixed(0)} ms, delivery p99 ${f.deliveryP99.toFixed(0)} ms, ` +
    `peers ${f.peersMean.toFixed(1)} (node 0: ${f.bootstrapPeers}, most ${f.bootstrapPeersMax})`
}
