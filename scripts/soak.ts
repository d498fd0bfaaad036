// `npm run soak [-- --duration 10m --nodes 10 --rate 5 --warmup 15m --heap-snapshots DIR]`:
// a cluster of real daemons (the bundle, as the package's bin runs it) under a steady update
// load with random restarts (SIGTERM and SIGKILL). Reports memory growth per node, and for
// the nodes never restarted the growth rate after the warm-up fitted over per-minute samples
// (issue 22's target: ≤ 2 MB/h); with --heap-snapshots, node 0's heap at the warm-up's end
// and at the end, and which constructors grew. Also convergence lag percentiles and any
// divergence left at the end. The CI version (tests/soak) runs the same code for less time
// on fewer nodes.
import '../src/polyfill.js'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import type { FileEvent, FileWatch } from '../src/client/client.js'
import { parseDuration } from '../src/config/durations.js'
import { encodeBase64Key, generateSigningKey } from '../src/crypto/keys.js'
import { packageRoot } from '../src/package-root.js'
import { DAEMON_ENV } from '../bench/lib/node-flags.js'
import { LocalCluster } from './lib/local-cluster.js'
import { memoryTrend, type MemorySample, type MemoryTrend } from './lib/memory-trend.js'
import { compareSnapshotFiles, type HeapGroup } from './lib/heap-summary.js'

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
  /** every node's memory is sampled this often (default 60 s) */
  sampleEveryMs?: number
  /** samples within this long of the load's start are warm-up, left out of the trend (default 15 min, at most half the run) */
  warmupMs?: number
  /**
   * node 1 (then never restarted, and not in the trend: writing a snapshot grows its RSS by
   * the snapshot's size) writes a heap snapshot here at the warm-up's end and at the end; the
   * report names what grew
   */
  heapSnapshotDir?: string
  /** the daemon's entry point (default: the bundle, dist/bundle/data-mesher.mjs) */
  entry?: string
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
  /** the nodes never restarted: growth after the warm-up, a least-squares fit of the samples */
  trend: Array<{ node: number, samples: MemorySample[] } & Omit<MemoryTrend, 'samples'> & { sampleCount: number }>
  warmupMs: number
  /** node 1's heap, what grew most from the warm-up's end to the end (with heapSnapshotDir) */
  heapGrowth?: HeapGroup[]
  /** nodes whose index differed from node 0's once the load stopped and the cluster settled */
  divergent: number[]
  convergedAfterMs: number
}

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

/** The node whose heap is snapshot (with heapSnapshotDir). */
const SNAPSHOT_NODE = 1

/** Asks a daemon started with --heapsnapshot-signal=SIGUSR2 for a snapshot; resolves with its file once written. */
async function heapSnapshot (pid: number, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir))
  process.kill(pid, 'SIGUSR2')
  const deadline = Date.now() + 180_000
  let last = -1
  while (Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 1000))
    const file = readdirSync(dir).find(f => f.endsWith('.heapsnapshot') && !before.has(f))
    if (file === undefined) continue
    const size = statSync(join(dir, file)).size
    if (size > 0 && size === last) return join(dir, file) // written: the size held for a second
    last = size
  }
  throw new Error(`no heap snapshot from pid ${pid} in ${dir}`)
}

export async function runSoak (o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => {})
  const dir = mkdtempSync(join(tmpdir(), 'dm-soak-'))
  const key = generateSigningKey()
  const names = Array.from({ length: o.names }, (_, i) => `soak/f${i}`)
  const snapshots = o.heapSnapshotDir
  if (snapshots !== undefined) mkdirSync(snapshots, { recursive: true })
  const cluster = new LocalCluster({
    dir,
    size: o.nodes,
    basePort: o.basePort,
    files: Object.fromEntries(names.map(n => [n, [encodeBase64Key(key.publicKey)]])),
    syncInterval: '2s',
    entry: o.entry ?? join(packageRoot(), 'dist', 'bundle', 'data-mesher.mjs'),
    env: DAEMON_ENV, // as the systemd unit runs it
    nodeArgs: i => i === SNAPSHOT_NODE && snapshots !== undefined ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshots}`] : []
  })
  const warmupMs = o.warmupMs ?? Math.min(15 * 60_000, o.durationMs / 2)
  const samples = new Map<number, MemorySample[]>() // per node, since its last (re)start
  let sampler: NodeJS.Timeout | undefined
  let heapAtWarmup: Promise<string> | undefined
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
    const loadStart = Date.now()
    const sample = (): void => {
      const at = Date.now() - loadStart
      for (const n of cluster.nodes) {
        if (n.proc === undefined) continue
        const list = samples.get(n.index) ?? []
        list.push({ at, rss: cluster.rss(n.index), anon: cluster.rssAnon(n.index) })
        samples.set(n.index, list)
      }
      const snapshotPid = cluster.nodes[SNAPSHOT_NODE]?.proc?.pid
      if (snapshots !== undefined && heapAtWarmup === undefined && at >= warmupMs && snapshotPid !== undefined) {
        heapAtWarmup = heapSnapshot(snapshotPid, snapshots)
        heapAtWarmup.catch(() => {})
      }
    }
    sample()
    sampler = setInterval(sample, o.sampleEveryMs ?? 60_000)
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
      if (Date.now() >= nextRestart && o.nodes > (snapshots !== undefined ? 2 : 1)) {
        // node 0 is the bootstrap node and the reference; node 1 the heap snapshots' when they are taken
        const kept = snapshots !== undefined ? 2 : 1
        const victim = kept + Math.floor(Math.random() * (o.nodes - kept))
        const signal = Math.random() < 0.5 ? 'SIGTERM' : 'SIGKILL'
        log(`soak: restarting node ${victim} (${signal})`)
        watches.get(victim)?.cancel()
        upSince.delete(victim)
        await cluster.stop(victim, signal)
        samples.delete(victim) // a new process: its memory starts over
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
    clearInterval(sampler)
    sample()
    let heapGrowth: HeapGroup[] | undefined
    if (snapshots !== undefined && heapAtWarmup !== undefined) {
      const first = await heapAtWarmup
      const last = await heapSnapshot(cluster.nodes[SNAPSHOT_NODE].proc!.pid!, snapshots)
      heapGrowth = compareSnapshotFiles(first, last)
    }
    const trend = cluster.nodes.filter(n => !restarted.has(n.index) && !(snapshots !== undefined && n.index === SNAPSHOT_NODE)).flatMap(n => {
      const t = memoryTrend(samples.get(n.index) ?? [], warmupMs)
      // the samples too: a fit says how fast, not whether the memory climbed and fell back
      return t === undefined ? [] : [{ node: n.index, ...t, sampleCount: t.samples, samples: samples.get(n.index) ?? [] }]
    })
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
      trend,
      warmupMs,
      heapGrowth,
      divergent,
      convergedAfterMs
    }
  } finally {
    clearInterval(sampler)
    for (const w of watches.values()) w.cancel()
    await cluster.stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '10m' }, nodes: { type: 'string', default: '10' }, rate: { type: 'string', default: '5' }, names: { type: 'string', default: '20' }, 'restart-every': { type: 'string', default: '30s' }, port: { type: 'string', default: '27000' }, warmup: { type: 'string', default: '15m' }, 'sample-every': { type: 'string', default: '60s' }, 'heap-snapshots': { type: 'string' }, json: { type: 'boolean' } } })
  const report = await runSoak({
    durationMs: parseDuration(values.duration) ?? 600_000,
    nodes: Number(values.nodes),
    rate: Number(values.rate),
    names: Number(values.names),
    restartEveryMs: parseDuration(values['restart-every']) ?? 30_000,
    basePort: Number(values.port),
    warmupMs: parseDuration(values.warmup),
    sampleEveryMs: parseDuration(values['sample-every']),
    heapSnapshotDir: values['heap-snapshots'],
    log: line => console.error(line)
  })
  if (values.json === true) console.log(JSON.stringify(report, null, 2))
  else {
    console.log(`updates ${report.updates}, restarts ${report.restarts}`)
    console.log(`convergence lag (ms): p50 ${report.lag.p50}  p90 ${report.lag.p90}  p99 ${report.lag.p99}  max ${report.lag.max}  (${report.lag.samples} samples)`)
    console.log('memory per node (MiB, start → end):')
    for (const m of report.memory) console.log(`  node ${m.node}: ${m.startMiB} → ${m.endMiB} (${m.growthMiB >= 0 ? '+' : ''}${m.growthMiB})${m.restarted ? ' restarted' : ''}`)
    console.log(`growth after the first ${Math.round(report.warmupMs / 1000)} s, nodes never restarted (MiB/h, fitted; target ≤ 2):`)
    for (const t of report.trend) console.log(`  node ${t.node}: RSS ${t.rssMiBPerHour} (${t.rssFirstMiB} → ${t.rssLastMiB} MiB), RssAnon ${t.anonMiBPerHour}, ${t.sampleCount} samples; the largest RSS per 30 min ${t.rssPeaksMiB.join(' · ')} MiB, their slope ${t.rssPeakMiBPerHour} MiB/h`)
    if (report.heapGrowth !== undefined) {
      console.log('node 1 heap, grown most from the warm-up to the end (bytes, objects):')
      for (const g of report.heapGrowth) console.log(`  ${String(g.bytes).padStart(10)}  ${String(g.count).padStart(7)}  ${g.name}`)
    }
    console.log(report.divergent.length === 0 ? `converged ${report.convergedAfterMs} ms after the load stopped` : `DIVERGENT nodes: ${report.divergent.join(', ')}`)
  }
  process.exit(report.divergent.length === 0 ? 0 : 1)
}
