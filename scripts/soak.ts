// `npm run soak [-- --duration 10m --nodes 10 --rate 5]`: a cluster of real daemons under a
// steady update load with random restarts (SIGTERM and SIGKILL). Reports memory growth per
// node, convergence lag percentiles and any divergence left at the end. The CI version
// (tests/soak) runs the same code for less time on fewer nodes.
import '../src/polyfill.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import type { FileEvent, FileWatch } from '../src/client/client.js'
import { parseDuration } from '../src/config/durations.js'
import { encodeBase64Key, generateSigningKey } from '../src/crypto/keys.js'
import { LocalCluster } from './lib/local-cluster.js'

export interface SoakOptions {
  durationMs: number
  nodes: number
  /** updates per second, spread over random nodes */
  rate: number
  names: number
  /** mean time between restarts of a random node */
  restartEveryMs: number
  basePort: number
  log?: (line: string) => void
}

export interface SoakReport {
  nodes: number
  durationMs: number
  updates: number
  restarts: number
  /** ms from submit to arrival at the last node that was up the whole time */
  lag: { p50: number, p90: number, p99: number, max: number, samples: number }
  /** RSS after warm-up and at the end, per node (MiB); restarted nodes report their latest process */
  memory: Array<{ node: number, startMiB: number, endMiB: number, growthMiB: number, restarted: boolean }>
  /** nodes whose index differed from node 0's once the load stopped and the cluster settled */
  divergent: number[]
  convergedAfterMs: number
}

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

export async function runSoak (o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => {})
  const dir = mkdtempSync(join(tmpdir(), 'dm-soak-'))
  const key = generateSigningKey()
  const names = Array.from({ length: o.names }, (_, i) => `soak/f${i}`)
  const cluster = new LocalCluster({ dir, size: o.nodes, basePort: o.basePort, files: Object.fromEntries(names.map(n => [n, [encodeBase64Key(key.publicKey)]])), syncInterval: '2s' })
  const watches = new Map<number, FileWatch>()
  const upSince = new Map<number, number>()
  const submitted = new Map<string, number>() // `${name}@${timestamp}` → submit time
  const arrivals = new Map<string, Map<number, number>>()
  const lags: number[] = []
  let restarts = 0
  let updates = 0

  const watch = async (i: number): Promise<void> => {
    const w = await cluster.nodes[i].client!.watchFiles()
    watches.set(i, w)
    void (async () => {
      try {
        for await (const e of w as AsyncIterable<FileEvent>) {
          const id = `${e.version.name}@${e.version.timestamp}`
          if (!submitted.has(id)) continue
          let m = arrivals.get(id)
          if (m === undefined) arrivals.set(id, m = new Map())
          m.set(i, Date.now())
        }
      } catch { /* the node was stopped */ }
    })()
  }

  try {
    await cluster.startAll()
    for (const n of cluster.nodes) { await watch(n.index); upSince.set(n.index, Date.now()) }
    // settle and warm up before the memory baseline
    await new Promise(resolve => setTimeout(resolve, 3000))
    const baseline = cluster.nodes.map(n => cluster.rss(n.index))
    const restarted = new Set<number>()
    const end = Date.now() + o.durationMs
    let nextRestart = Date.now() + o.restartEveryMs * (0.5 + Math.random())
    let ts = Date.now()
    log(`soak: ${o.nodes} nodes, ${o.rate} updates/s over ${o.names} names, for ${o.durationMs / 1000} s`)
    while (Date.now() < end) {
      const tick = Date.now()
      // one update at a random running node
      const up = cluster.nodes.filter(n => n.client !== undefined)
      const at = up[Math.floor(Math.random() * up.length)]
      const name = names[Math.floor(Math.random() * names.length)]
      ts = Math.max(ts + 1, Date.now())
      const id = `${name}@${ts}`
      submitted.set(id, Date.now())
      await at.client!.publish(key, name, Buffer.from(`${id} ${'x'.repeat(Math.floor(Math.random() * 2048))}`), { timestamp: ts }).then(() => { updates++ }, () => submitted.delete(id))
      if (Date.now() >= nextRestart && o.nodes > 1) {
        const victim = 1 + Math.floor(Math.random() * (o.nodes - 1)) // node 0 is the bootstrap node and the reference
        const signal = Math.random() < 0.5 ? 'SIGTERM' : 'SIGKILL'
        log(`soak: restarting node ${victim} (${signal})`)
        watches.get(victim)?.cancel()
        upSince.delete(victim)
        await cluster.stop(victim, signal)
        await cluster.start(victim)
        await watch(victim)
        upSince.set(victim, Date.now())
        restarted.add(victim)
        restarts++
        nextRestart = Date.now() + o.restartEveryMs * (0.5 + Math.random())
      }
      const wait = 1000 / o.rate - (Date.now() - tick)
      if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    }
    // lag: for updates every node saw, time until the last node that was up throughout had it
    for (const [id, sent] of submitted) {
      const m = arrivals.get(id)
      if (m === undefined) continue
      const steady = cluster.nodes.filter(n => (upSince.get(n.index) ?? Infinity) < sent)
      if (steady.length === 0 || !steady.every(n => m.has(n.index))) continue
      lags.push(Math.max(...steady.map(n => m.get(n.index)! - sent)))
    }
    // divergence: once the load stops, every node must reach node 0's index
    const settleStart = Date.now()
    const digest = async (i: number): Promise<string> => JSON.stringify((await cluster.nodes[i].client!.listFiles()).map(v => [v.name, v.timestamp]))
    let divergent: number[] = []
    for (;;) {
      const ref = await digest(0)
      divergent = []
      for (const n of cluster.nodes.slice(1)) if (await digest(n.index) !== ref) divergent.push(n.index)
      if (divergent.length === 0 || Date.now() - settleStart > 30_000) break
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    const convergedAfterMs = Date.now() - settleStart
    const memory = cluster.nodes.map(n => {
      const endRss = cluster.rss(n.index)
      const mib = (b: number): number => Math.round(b / 1048576 * 10) / 10
      return { node: n.index, startMiB: mib(baseline[n.index]), endMiB: mib(endRss), growthMiB: mib(endRss - baseline[n.index]), restarted: restarted.has(n.index) }
    })
    lags.sort((a, b) => a - b)
    return {
      nodes: o.nodes,
      durationMs: o.durationMs,
      updates,
      restarts,
      lag: { p50: percentile(lags, 0.5), p90: percentile(lags, 0.9), p99: percentile(lags, 0.99), max: lags.at(-1) ?? 0, samples: lags.length },
      memory,
      divergent,
      convergedAfterMs
    }
  } finally {
    for (const w of watches.values()) w.cancel()
    await cluster.stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '10m' }, nodes: { type: 'string', default: '10' }, rate: { type: 'string', default: '5' }, names: { type: 'string', default: '20' }, 'restart-every': { type: 'string', default: '30s' }, port: { type: 'string', default: '27000' }, json: { type: 'boolean' } } })
  const report = await runSoak({
    durationMs: parseDuration(values.duration) ?? 600_000,
    nodes: Number(values.nodes),
    rate: Number(values.rate),
    names: Number(values.names),
    restartEveryMs: parseDuration(values['restart-every']) ?? 30_000,
    basePort: Number(values.port),
    log: line => console.error(line)
  })
  if (values.json === true) console.log(JSON.stringify(report, null, 2))
  else {
    console.log(`updates ${report.updates}, restarts ${report.restarts}`)
    console.log(`convergence lag (ms): p50 ${report.lag.p50}  p90 ${report.lag.p90}  p99 ${report.lag.p99}  max ${report.lag.max}  (${report.lag.samples} samples)`)
    console.log('memory per node (MiB, start → end):')
    for (const m of report.memory) console.log(`  node ${m.node}: ${m.startMiB} → ${m.endMiB} (${m.growthMiB >= 0 ? '+' : ''}${m.growthMiB})${m.restarted ? ' restarted' : ''}`)
    console.log(report.divergent.length === 0 ? `converged ${report.convergedAfterMs} ms after the load stopped` : `DIVERGENT nodes: ${report.divergent.join(', ')}`)
  }
  process.exit(report.divergent.length === 0 ? 0 : 1)
}
