// `node dist/bench/model.js [bench/results/FILE.json]`: the 1,000-node model of
// docs/SCALING-MODEL.md, computed from a bench run's measured per-node and per-hop costs.
// Every input is a field of the results JSON; every constant below is a protocol setting
// (src/mesh/settings.ts for data-mesher, memberlist's LAN defaults for serf).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { linearFit, mean } from './lib/stats.js'
import { DEFAULT_MESH_SETTINGS } from '../src/mesh/settings.js'

type Fig = Record<string, number | null | undefined | boolean | string | unknown>
interface Run { date: string, command: string, machine: Fig, results: Record<string, { datamesher: Fig, serf: Fig, noise: Fig }> }

const TARGET_N = 1000
/** data-mesher: membership keeps at least targetPeers and trims above maxPeers connections */
const PEERS = { target: DEFAULT_MESH_SETTINGS.targetPeers, max: DEFAULT_MESH_SETTINGS.maxPeers }
const PS = [PEERS.target, Math.round((PEERS.target + PEERS.max) / 2), PEERS.max]
/** durable writes per accepted update: staged content (file + dir), record (file + dir); the rename into files/ is not synced (docs/DECISIONS.md, "Four fsyncs per stored update") */
const FSYNCS_PER_UPDATE = 4
/** serf / memberlist LAN profile */
const SERF = { gossipIntervalMs: 200, gossipNodes: 3, retransmitMult: 4, pushPullScaleThreshold: 32 }

const num = (v: unknown): number => typeof v === 'number' ? v : NaN
const f = (x: number, d = 0): string => Number.isFinite(x) ? x.toFixed(d) : 'n/a'

/** memberlist: each node sends each broadcast retransmitMult × ceil(log10(N+1)) times */
export const serfTransmits = (n: number): number => SERF.retransmitMult * Math.ceil(Math.log10(n + 1))
/** memberlist scales the push/pull interval up beyond 32 nodes */
export const pushPullScale = (n: number): number => n <= SERF.pushPullScaleThreshold ? 1 : Math.ceil(Math.log2(n) - Math.log2(SERF.pushPullScaleThreshold)) + 1
/** hops from the origin to the last node in a random graph where every node has p peers */
export const hops = (n: number, p: number): number => p >= n - 1 ? 1 : Math.ceil(Math.log(n) / Math.log(p - 1))

function main (): void {
  const file = process.argv[2] ?? fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url))
  const run = JSON.parse(readFileSync(file, 'utf8')) as Run
  const rows = Object.entries(run.results).map(([n, r]) => ({ N: Number(n), d: r.datamesher, s: r.serf, noise: r.noise }))
  const out: string[] = []
  const say = (s = ''): void => { out.push(s) }
  say(`model inputs: ${file} (${run.command}, ${run.date})`)
  say()
  say('measured                          ' + rows.map(r => `N=${r.N}`.padStart(10)).join(''))
  const line = (label: string, get: (r: typeof rows[number]) => unknown, d = 1): void => say(label.padEnd(34) + rows.map(r => f(num(get(r)), d).padStart(10)).join(''))
  line('dm peers per node (mean)', r => r.d.peers_mean)
  line('dm hops to the last node (p50)', r => r.d.small_update_hops_max_p50, 0)
  line('  formula ceil(ln N / ln(p-1))', r => hops(r.N, num(r.d.peers_mean)), 0)
  line('dm CPU ms / update / node', r => r.d.small_update_cpu_ms_per_node)
  line('dm bytes / update / node', r => r.d.small_update_wire_bytes_per_node, 0)
  line('dm small update p50 (ms)', r => r.d.small_update_p50_ms, 0)
  line('dm idle CPU %', r => r.d.idle_cpu_pct, 2)
  line('dm idle bytes/s / node', r => r.d.idle_tx_bytes_per_s, 0)
  line('dm idle RSS MB', r => r.d.idle_rss_mb, 0)
  line('dm burst CPU ms / update / node', r => r.d.burst_cpu_ms_per_update_per_node)
  line('dm catch-up from connection (ms)', r => r.d.catchup_from_reconnect_ms, 0)
  line('serf small update p50 (ms)', r => r.s.small_update_p50_ms, 0)
  line('serf CPU ms / update / node', r => r.s.small_update_cpu_ms_per_node, 2)
  line('serf bytes / update / node', r => r.s.small_update_wire_bytes_per_node, 0)
  line('serf idle bytes/s / node', r => r.s.idle_tx_bytes_per_s, 0)
  line('other load, idle window (% core)', r => r.noise.idle_window_other_cpu_pct, 0)

  // --- fits over the measured sizes ---
  const P = rows.map(r => num(r.d.peers_mean))
  const ok = (ys: number[]): { xs: number[], ys: number[] } => { const xs: number[] = []; const yy: number[] = []; ys.forEach((y, i) => { if (Number.isFinite(y) && Number.isFinite(P[i])) { xs.push(P[i]); yy.push(y) } }); return { xs, ys: yy } }
  const notes: string[] = []
  // A cost is fixed + per-peer × p. With 2–3 sizes whose p differ little, noise can tip the
  // fit into a negative part, which no cost has: then the median is used, independent of p.
  const fitP = (ys: number[], what = ''): { a: number, b: number } => {
    const d = ok(ys)
    if (d.xs.length < 2) return { a: mean(d.ys), b: 0 }
    const fit = linearFit(d.xs, d.ys)
    if (fit.a >= 0 && fit.b >= 0) return fit
    const sorted = [...d.ys].sort((x, y) => x - y)
    const median = sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2
    notes.push(`${what}: the fit over p (${f(fit.a, 2)} + ${f(fit.b, 3)} × p) has a negative part, so the median of the measured values (${f(median, 2)}) is used for every p`)
    return { a: median, b: 0 }
  }
  const cpu = fitP(rows.map(r => num(r.d.small_update_cpu_ms_per_node)), 'dm CPU per update')
  // bytes: a fixed part (about one full copy per node, down the broadcast tree) and a part
  // per peer (a ~50 B notice on each lazy link, acknowledgements)
  const bytes = fitP(rows.map(r => num(r.d.small_update_wire_bytes_per_node)), 'dm bytes per update')
  const idleBytes = fitP(rows.map(r => num(r.d.idle_tx_bytes_per_s)), 'dm idle bytes/s')
  const idleCpu = fitP(rows.map(r => num(r.d.idle_cpu_pct)), 'dm idle CPU %')
  const rss = fitP(rows.map(r => num(r.d.idle_rss_mb)), 'dm idle RSS')
  const burst = fitP(rows.map(r => num(r.d.burst_cpu_ms_per_update_per_node)), 'dm burst CPU per update')
  const serfLat = linearFit(rows.map(r => Math.log(r.N)), rows.map(r => num(r.s.small_update_p50_ms)))
  const serfPerTransmit = mean(rows.map(r => num(r.s.small_update_wire_bytes_per_node) / serfTransmits(r.N)))
  // serf's idle bytes grow with the members it pushes and pulls; a fit that falls with N
  // (a noisy run) would project a negative rate: then the mean of the measured rates
  const serfIdleFit = linearFit(rows.map(r => r.N / pushPullScale(r.N)), rows.map(r => num(r.s.idle_tx_bytes_per_s)))
  const serfIdle = serfIdleFit.b >= 0 ? serfIdleFit : { a: mean(rows.map(r => num(r.s.idle_tx_bytes_per_s))), b: 0 }
  if (serfIdleFit.b < 0) notes.push(`serf idle bytes/s: the fit over N falls (${f(serfIdleFit.b, 2)} per member), so the mean of the measured rates (${f(serfIdle.a)}) is used`)
  const fsyncMs = num(run.machine.state_fsync_ms_p50)
  // 10 MiB: wire MiB per CPU-second of all nodes; runs before that figure existed: both cores taken as busy
  const measuredLarge = rows.map(r => num(r.d.large_file_wire_mib_per_cpu_s)).filter(Number.isFinite)
  const largeMeasured = measuredLarge.length > 0
  const mibPerCpuS = largeMeasured ? mean(measuredLarge) : mean(rows.map(r => num(r.d.large_file_crossings) * 10 / (2 * num(r.d.large_file_ms) / 1000)))

  say()
  say('fitted per-node costs (p = peers of the node)')
  say(`  dm CPU per update      c(p) = ${f(cpu.a, 1)} ms + ${f(cpu.b, 2)} ms × p`)
  say(`  dm bytes per update    b(p) = ${f(bytes.a)} B + ${f(bytes.b)} B × p`)
  say(`  dm idle bytes/s        i(p) = ${f(idleBytes.a)} + ${f(idleBytes.b)} × p`)
  say(`  dm idle CPU %          k(p) = ${f(idleCpu.a, 2)} + ${f(idleCpu.b, 3)} × p`)
  say(`  dm idle RSS MB         r(p) = ${f(rss.a)} + ${f(rss.b, 2)} × p`)
  say(`  dm burst CPU/update    cb(p) = ${f(burst.a, 1)} ms + ${f(burst.b, 2)} ms × p`)
  say(`  dm 10 MiB transfer     ${f(mibPerCpuS, 1)} MiB on the wire per CPU-second, sender and receiver together (${largeMeasured ? 'measured' : 'assuming both cores were busy during the transfer'})`)
  say(`  fsync (state dir)      ${f(fsyncMs, 2)} ms; ${FSYNCS_PER_UPDATE} per accepted update`)
  say(`  serf latency           L(N) = ${f(serfLat.a)} + ${f(serfLat.b)} × ln N ms`)
  say(`  serf bytes/transmit    ${f(serfPerTransmit)} B (each node sends each event ${SERF.retransmitMult}·ceil(log10(N+1)) times)`)
  say(`  serf idle bytes/s      u(N) = ${f(serfIdle.a)} + ${f(serfIdle.b, 2)} × N / pushPullScale(N)`)
  for (const n of notes) say(`  note: ${n}`)

  say()
  say('check: on this one host all N nodes share 2 cores, so a small update reaches the last node after about N × c / 2 cores (c includes the notices, sent announceIhaveDelay later, off the delivery path: p50 can beat it)')
  for (const r of rows) {
    const c = num(r.d.small_update_cpu_ms_per_node)
    const bound = r.N * c / 2
    say(`  N=${r.N}: N·c/2 = ${f(bound)} ms; measured p50 ${f(num(r.d.small_update_p50_ms))} ms (${f(num(r.d.small_update_p50_ms) / bound, 1)}× the bound; other load in the idle window ${f(num(r.noise.idle_window_other_cpu_pct))} % of a core)`)
  }
  say()
  say(`projection for N = ${TARGET_N}, one machine (one core at least) per node, LAN round trips ≪ 1 ms`)
  say('                                   ' + PS.map(p => `p=${p}`.padStart(12)).join(''))
  const proj = (label: string, g: (p: number) => number, d = 0): void => say(label.padEnd(35) + PS.map(p => f(g(p), d).padStart(12)).join(''))
  const c = (p: number): number => cpu.a + cpu.b * p
  // a node announces to its peers one after another: the average peer hears after half of them
  const disk = FSYNCS_PER_UPDATE * fsyncMs
  // per hop: best = only the fixed work (the next node is the first one announced to);
  // central = the average peer, announced to after half of the others; worst = the last peer.
  // Conservative: the fixed work includes storing the version, which a node does after it
  // has passed on a small file (announce 2.0.0 forwards inline content once verified).
  const hop = { best: (p: number): number => cpu.a + disk, central: (p: number): number => cpu.a + cpu.b * p / 2 + disk, worst: (p: number): number => c(p) + disk }
  proj('dm hops to the last node', p => hops(TARGET_N, p))
  proj('dm ms per hop: best', hop.best, 1)
  proj('dm ms per hop: central', hop.central, 1)
  proj('dm ms per hop: worst', hop.worst, 1)
  proj('dm small update to all: central', p => hops(TARGET_N, p) * hop.central(p))
  proj('dm small update to all: range lo', p => hops(TARGET_N, p) * hop.best(p))
  // the broadcast tree is built from first arrivals, so on a loaded host its paths are
  // longer than the graph's diameter: range hi stretches the formula by the ratio measured
  // at the largest N (at least one hop more)
  const largest = rows[rows.length - 1]
  const stretch = largest === undefined ? 1 : Math.max(1, num(largest.d.small_update_hops_max_p50) / hops(largest.N, num(largest.d.peers_mean)))
  say(`  tree depth / formula at N=${largest?.N ?? 'n/a'}: ${f(stretch, 2)} (range hi uses it)`)
  proj('dm small update to all: range hi', p => Math.max(hops(TARGET_N, p) + 1, Math.ceil(hops(TARGET_N, p) * stretch)) * hop.worst(p))
  proj('dm CPU per update per node (ms)', c, 1)
  proj('dm bytes per update per node', p => bytes.a + bytes.b * p)
  proj('dm max updates/s (1 core, burst)', p => 1000 / (burst.a + burst.b * p))
  proj('dm idle bytes/s per node', p => idleBytes.a + idleBytes.b * p)
  proj('dm idle CPU % per node', p => idleCpu.a + idleCpu.b * p, 2)
  proj('dm idle RSS MB per node', p => rss.a + rss.b * p)
  // store and forward: each hop's sender serves its p peers; sending is about half the per-byte CPU
  proj('dm 10 MiB to all (s), 1 core each', p => hops(TARGET_N, p) * (p * 10) / (2 * mibPerCpuS), 1)
  const serfAt = serfLat.a + serfLat.b * Math.log(TARGET_N)
  say(`serf small update to all (ms)      ${f(serfAt)}  (fit of the measured p50 against ln N)`)
  say('dm / serf small update p50          ' + PS.map(p => f(hops(TARGET_N, p) * hop.central(p) / serfAt, 2)).join(' / ') + `  (central, p = ${PS.join(' / ')})`)
  say(`serf bytes per update per node     ${f(serfPerTransmit * serfTransmits(TARGET_N))}  (${serfTransmits(TARGET_N)} transmits)`)
  say(`serf idle bytes/s per node         ${f(serfIdle.a + serfIdle.b * TARGET_N / pushPullScale(TARGET_N))}  (push/pull interval × ${pushPullScale(TARGET_N)})`)
  say(`serf user event payload            at most ${String(rows[0]?.s.small_update_bytes ?? 'n/a')} B; data-mesher: up to 10 MiB`)
  console.log(out.join('\n'))
}

main()
