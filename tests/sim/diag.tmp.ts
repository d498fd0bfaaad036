import { runScenario } from './scenarios.js'
const { figures, world } = runScenario({ scenario: process.argv[2] ?? 'stable', nodes: Number(process.argv[3] ?? 1000), seed: 1, updates: 10, settle: Number(process.argv[4] ?? 30000) })
const hist: Record<number, number> = {}
for (const n of world.nodes) if (n.alive) hist[n.links.size] = (hist[n.links.size] ?? 0) + 1
console.log(figures.missed, figures.peersMean, figures.bootstrapPeers, figures.bootstrapPeersMax, figures.convergedAfterMs, hist, world.metrics.dials, world.metrics.refused)
console.log(world.nodes[0].overlay.counters, world.nodes[0].members.size)
