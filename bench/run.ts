// `npm run bench [-- --quick]`: data-mesher against serf on the same N, on this machine.
// See bench/README.md for what is measured and how; results go to bench/results/.
import '../src/polyfill.js'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { cpus, hostname, loadavg, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { encodeBase64Key, generateSigningKey, type SigningKey } from '../src/crypto/keys.js'
import { signRecord } from '../src/crypto/record.js'
import { DmCluster } from './lib/dm-cluster.js'
import { SerfCluster } from './lib/serf-cluster.js'
import { cpuSeconds, totalCpu, killAllNow, loopbackTx, machineBusySeconds, netns, rssAnonBytes, rssBytes, sleep, start, stop, stopAll, type Child } from './lib/procs.js'
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from './lib/node-flags.js'
import { linearFit, mean, percentile, rng, round } from './lib/stats.js'
import { printReport, type Results } from './lib/report.js'
import { aggregateRuns, type SizeRun } from './lib/aggregate.js'
import { startFloor } from './lib/floor-process.js'
import { startFloorMs } from './lib/start-floor.js'
import { RelayFloor, relayLinks, type RelayCounts } from './lib/relay-floor.js'
import { updateCost, type CostSnap, type UpdateCost } from './lib/cost.js'

const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url))
const KiB = 1024
const MiB = 1024 * 1024

// ---------------------------------------------------------------- arguments ----------
interface Args {
  quick: boolean
  ns: number[]
  runs: number
  rounds: number
  settle: number
  window: number
  largeRounds: number
  seed: number
  keep: boolean
  netns: boolean
  out?: string
  tmp: string
}

function usage (code: number): never {
  console.log(`usage: npm run bench [-- OPTIONS]
  --quick           N in {5, 25}, 20 rounds, 10 s idle settle + 10 s window (about 6 minutes)
                    (default: N in {5, 25, 50}, 30 rounds, 60 s settle + 30 s window)
  --n 5,25          the cluster sizes
  --runs K          runs of each size, each with fresh clusters (default 3): every figure
                    is the median over the runs, printed with its spread [min–max]; the
                    ratios to serf are taken per run, then their median
  --rounds R        small-update rounds per system (at least 20 for the reported p99)
  --settle S        idle: seconds to settle before the window
  --window S        idle: seconds measured
  --seed X          topology and origins (default 1)
  --keep            keep the temp dir (configs, logs) for a look afterwards
  --no-netns        do not isolate in network namespaces (byte counts then include
                    every other process's loopback traffic)
  --out FILE        write the JSON here instead of bench/results/
  --tmp DIR         where node state lives (default: the system temp dir; e.g. /dev/shm
                    to see what the disk's fsync costs data-mesher)`)
  process.exit(code)
}

function parseArgs (argv: string[]): Args {
  const quick = argv.includes('--quick')
  const a: Args = {
    quick,
    ns: quick ? [5, 25] : [5, 25, 50],
    runs: 3,
    rounds: quick ? 20 : 30,
    settle: quick ? 10 : 60,
    window: quick ? 10 : 30,
    largeRounds: quick ? 1 : 2,
    seed: 1,
    keep: false,
    netns: true,
    tmp: tmpdir()
  }
  for (let i = 0; i < argv.length; i++) {
    const v = (): string => { const x = argv[++i]; if (x === undefined) usage(2); return x }
    const num = (): number => { const x = Number(v()); if (!Number.isFinite(x) || x < 0) usage(2); return x }
    switch (argv[i]) {
      case '--quick': break
      case '--n': a.ns = v().split(',').map(Number); if (a.ns.some(n => !Number.isInteger(n) || n < 2)) usage(2); break
      case '--rounds': a.rounds = num(); break
      case '--runs': a.runs = num(); if (!Number.isInteger(a.runs) || a.runs < 1) usage(2); break
      case '--settle': a.settle = num(); break
      case '--window': a.window = num(); break
      case '--large-rounds': a.largeRounds = num(); break
      case '--seed': a.seed = num(); break
      case '--keep': a.keep = true; break
      case '--no-netns': a.netns = false; break
      case '--out': a.out = v(); break
      case '--tmp': a.tmp = v(); break
      case '-h': case '--help': usage(0); break
      default: console.error(`unknown option ${argv[i]}`); usage(2)
    }
  }
  return a
}

// ------------------------------------------------------------- prerequisites ---------
function need (cmd: string, args: string[], hint: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.error !== undefined || r.status !== 0) {
    console.error(`bench: "${cmd}" is needed and was not found or failed.\n  ${hint}\nNothing was installed; stopping.`)
    process.exit(2)
  }
  return (r.stdout ?? '').trim()
}

function versions (): Record<string, string> {
  const serf = need('serf', ['version'], 'Install it with: apt-get install serf   (Debian\'s serf 0.9 package)')
  need('bash', ['-c', 'echo $EPOCHREALTIME'], 'bash 5 is needed for the serf event handler')
  const dpkg = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'serf'], { encoding: 'utf8' })
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) })
  return {
    datamesher: pkg.version,
    datamesher_commit: git.status === 0 ? git.stdout.trim() : 'unknown',
    serf: serf.split('\n')[0],
    serf_package: dpkg.status === 0 ? dpkg.stdout.trim() : 'unknown',
    node: process.version
  }
}

// ------------------------------------------------------- network namespaces ----------
// The bench (with the serf agents) runs in one fresh network namespace, the data-mesher
// daemons in another, so each system's loopback byte counters hold its own traffic
// only, untouched by other test runs on this machine.
function unshareArgs (): string[] {
  return process.getuid?.() === 0 ? ['--net'] : ['--map-root-user', '--net']
}

function reexecInNamespace (): boolean {
  if (spawnSync('unshare', [...unshareArgs(), 'true']).status !== 0) return false
  const child = spawn('unshare', [...unshareArgs(), '--', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, DM_BENCH_INNER: '1' }
  })
  // the inner bench cleans up and exits (Ctrl-C reaches it from the terminal too; it copes with both)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { try { child.kill(sig) } catch {} })
  child.on('exit', (code, signal) => process.exit(code ?? (signal !== null ? 130 : 1)))
  return true
}

function ipCommand (): string {
  for (const c of ['ip', '/usr/sbin/ip', '/sbin/ip']) if (spawnSync(c, ['-V']).status === 0) return c
  console.error('bench: the "ip" command (iproute2) is needed to bring up loopback in the bench\'s network namespace')
  process.exit(2)
}

interface Isolation { isolated: boolean, dmPrefix: string[], dmNet: number | 'self', serfNet: 'self', holder?: Child, method: string }

async function isolate (wanted: boolean): Promise<Isolation> {
  if (!wanted || process.env.DM_BENCH_INNER !== '1') {
    return { isolated: false, dmPrefix: [], dmNet: 'self', serfNet: 'self', method: 'host loopback shared by both systems and every other process: byte figures are upper bounds polluted by other traffic' }
  }
  const ip = ipCommand()
  if (spawnSync(ip, ['link', 'set', 'lo', 'up']).status !== 0) throw new Error('cannot bring up lo in the bench namespace')
  const holder = start('netns-holder', 'unshare', ['--net', '--', 'sleep', '2000000000'])
  const mine = netns('self')
  for (let i = 0; ; i++) {
    try { if (netns(holder.pid) !== mine) break } catch {}
    if (i > 200) throw new Error('could not create the data-mesher network namespace')
    await sleep(10)
  }
  const dmPrefix = ['nsenter', `--net=/proc/${holder.pid}/ns/net`, '--']
  if (spawnSync(dmPrefix[0], [...dmPrefix.slice(1), ip, 'link', 'set', 'lo', 'up']).status !== 0) throw new Error('cannot bring up lo in the data-mesher namespace')
  return { isolated: true, dmPrefix, dmNet: holder.pid, serfNet: 'self', holder, method: 'loopback tx counters of two private network namespaces (one per system), /proc/<pid>/net/dev' }
}

// ------------------------------------------------------------------ helpers ----------
let lastTs = 0
function nextTs (): number { lastTs = Math.max(Date.now(), lastTs + 1); return lastTs }

const t0run = Date.now()
function say (msg: string): void { process.stderr.write(`[bench +${((Date.now() - t0run) / 1000).toFixed(0)}s] ${msg}\n`) }

async function waitUntil (what: string, cond: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try { if (await cond()) return true } catch {}
    if (Date.now() > deadline) { say(`warning: ${what} not reached within ${timeoutMs / 1000} s`); return false }
    await sleep(everyMs)
  }
}

type Obj = Record<string, unknown>

/** Resolves after ms without keeping the process alive (the loser of a Promise.race). */
async function deadline (ms: number): Promise<void> {
  await new Promise<void>(resolve => { setTimeout(resolve, ms).unref() })
}

// ------------------------------------------------------------ one cluster size -------
interface Ctx { args: Args, key: SigningKey, iso: Isolation, root: string }

async function runSize (ctx: Ctx, N: number, slot: number, run: number): Promise<{ datamesher: Obj, serf: Obj, noise: Obj }> {
  const { args, key, iso } = ctx
  // the same topology and origins in every run (seed, N): runs differ in what the machine does meanwhile
  const random = rng(args.seed * 1000 + N)
  const root = join(ctx.root, `n${N}-run${run}`)
  // node 0 knows nobody; node i joins through one random earlier node: a random tree,
  // so no node is told about all others (they learn them by peer exchange / gossip)
  const bootstrapOf = Array.from({ length: N }, (_, i) => i === 0 ? [] : [Math.floor(random() * i)])
  const fNames = Array.from({ length: 100 }, (_, i) => `bench/f${i}`)
  const dm = new DmCluster({
    root,
    n: N,
    basePort: 31000 + slot * 200,
    bootstrapOf,
    signerPublicKey: encodeBase64Key(key.publicKey),
    names: ['bench/small', 'bench/large', ...fNames],
    nsPrefix: iso.dmPrefix
  })
  // every port below 32768, where Linux starts handing out ephemeral ports: the bench's own
  // client connections (to serf's RPC) must never take a port an agent is about to bind
  const serf = new SerfCluster({ root, n: N, basePort: 32000 + slot * 200, rpcBasePort: 30000 + slot * 200, bootstrapOf })
  const D: Obj = {}
  const S: Obj = {}
  const noise: Obj = {}
  try {
    // ---- start ----
    // serf first: its membership takes tens of seconds to reach every agent at N=25, and
    // it converges while the data-mesher daemons start (serf's gossip costs little CPU)
    say(`N=${N}: starting ${N} serf agents`)
    let t = performance.now()
    await serf.startAll()
    S.start_all_ms = round(performance.now() - t, 0)
    const serfStarted = performance.now()
    // the floor of start-up, on a machine as quiet as the daemons' start finds it
    say(`N=${N}: loading the daemon's one file ${N} times (the start floor)`)
    D.start_floor_ms = round(await startFloorMs(N, iso.dmPrefix, DAEMON_NODE_FLAGS, DAEMON_ENV), 0)
    say(`N=${N}: starting ${N} data-mesher daemons`)
    t = performance.now()
    await dm.startAll()
    D.start_all_ms = round(performance.now() - t, 0)
    const dmStarted = performance.now()
    await dm.watchAll()
    const want = Math.min(3, N - 1)
    t = performance.now()
    const dmFormed = await waitUntil('data-mesher peers', async () => {
      const st = await Promise.all(dm.nodes.map(async n => await n.client!.getStatus()))
      return st.every(s => s.peers.length >= want)
    }, 60_000)
    D.formed_ms = dmFormed ? round(performance.now() - t, 0) : null
    const serfFormed = await waitUntil('serf membership', async () => await serf.minAlive() === N, 120_000)
    S.formed_ms = serfFormed ? round(performance.now() - serfStarted, 0) : null // from all agents started

    const baseline = await backgroundCores(dm.pids(), serf.pids())

    // ---- serf's largest user event payload, found by asking serf ----
    const maxPayload = await calibrateSerf(serf)
    S.small_update_bytes = maxPayload.bytes
    S.small_update_note = `serf refuses larger user events (${maxPayload.error}); default UserEventSizeLimit is 512 B for name + payload after encoding, so the largest payload with a 5-byte event name is used`
    D.small_update_bytes = 1 * KiB

    // ---- 1. small update, interleaved ----
    const warmups = 2
    say(`N=${N}: small update, ${args.rounds} rounds per system (+${warmups} warm-up), interleaved`)
    const dmLat: number[] = []; const serfLat: number[] = []
    let dmFailed = 0; let serfFailed = 0
    const depthPairs: Array<[number, number]> = []
    const maxDepths: number[] = []
    // when each data-mesher round began (ms after the last daemon started): how young the
    // overlay was and how far apart the rounds were (the simulator's cross-check uses both)
    const roundStarts: number[] = []
    for (let k = -warmups; k < args.rounds; k++) {
      const origin = Math.floor(random() * N)
      const order = (k & 1) === 0 ? ['dm', 'serf'] : ['serf', 'dm']
      for (const sys of order) {
        if (sys === 'dm') {
          roundStarts.push(performance.now() - dmStarted)
          const r = await dmSmallRound(dm, key, origin, N)
          if (k >= 0 && r.ms === undefined) dmFailed++
          else if (k >= 0) {
            dmLat.push(r.ms!)
            for (const p of r.depthLatency) depthPairs.push(p)
            maxDepths.push(Math.max(...r.depthLatency.map(p => p[0])))
          }
        } else {
          const name = k < 0 ? `w${String(k + warmups).padStart(4, '0')}` : `r${String(k).padStart(4, '0')}`
          const ms = await serfRound(serf, origin, name, maxPayload.bytes, N)
          if (k >= 0 && ms === undefined) serfFailed++
          else if (k >= 0) serfLat.push(ms!)
        }
        // the next round starts when both systems are back to their background load, so
        // that neither is measured while the other is still busy with its last round
        await quiesce(dm.pids(), baseline.dm)
        await quiesce(serf.pids(), baseline.serf)
        await sleep(100 + random() * 200)
      }
    }
    const fit = linearFit(depthPairs.map(p => p[0]), depthPairs.map(p => p[1]))
    Object.assign(D, {
      small_update_p50_ms: round(percentile(dmLat, 50)),
      small_update_p99_ms: round(percentile(dmLat, 99)),
      small_update_mean_ms: round(mean(dmLat)),
      small_update_rounds: dmLat.length,
      small_update_failed_rounds: dmFailed,
      small_update_hops_max_p50: percentile(maxDepths, 50),
      small_update_per_hop_ms: round(fit.b),
      small_update_hop0_ms: round(fit.a),
      small_update_first_round_after_start_ms: round(roundStarts[0], 0),
      small_update_round_gap_ms_p50: round(percentile(roundStarts.slice(1).map((x, i) => x - roundStarts[i]), 50), 0),
      small_update_samples_ms: dmLat.map(x => round(x))
    })
    Object.assign(S, {
      small_update_p50_ms: round(percentile(serfLat, 50)),
      small_update_p99_ms: round(percentile(serfLat, 99)),
      small_update_mean_ms: round(mean(serfLat)),
      small_update_rounds: serfLat.length,
      small_update_failed_rounds: serfFailed,
      small_update_samples_ms: serfLat.map(x => round(x))
    })

    // ---- cost of one small update: CPU and bytes per node, each system on its own ----
    say(`N=${N}: cost per update (${COST_UPDATES} updates per system, the other system idle)`)
    const serfCost = await costPerUpdate(serf.pids(), iso.serfNet, N, async k => {
      await serf.nodes[Math.floor(random() * N)].rpc!.event(`b${String(k).padStart(4, '0')}`, randomBytes(maxPayload.bytes))
    }, async () => {
      for (let k = 0; k < COST_UPDATES; k++) await serf.waitFor(`b${String(k).padStart(4, '0')}`, N, 30_000)
    })
    const dmCostNames = fNames.slice(100 - COST_UPDATES)
    const dmCostSeen = new Map<string, Set<number>>()
    const dmCostTs = new Map<string, number>()
    const offCost = dm.listen((i, e) => {
      if (e.kind === 'UPDATED' && dmCostTs.get(e.version.name) === e.version.timestamp) dmCostSeen.get(e.version.name)?.add(i)
    })
    const countersBefore = await announceCounters(dm, N)
    const dmCost = await costPerUpdate(dm.pids(), iso.dmNet, N, async k => {
      const name = dmCostNames[k]; const content = randomBytes(KiB); const ts = nextTs()
      dmCostTs.set(name, ts); dmCostSeen.set(name, new Set())
      await dm.client(Math.floor(random() * N)).updateFile(signRecord(key, { name, content, timestamp: ts }), content)
    }, async () => {
      await waitUntil('data-mesher cost updates delivered', async () => dmCostNames.every(n => dmCostSeen.get(n)?.size === N), 120_000, 50)
    })
    offCost()
    await sleep(500) // late duplicates and notices
    const tree = treeCost(countersBefore, await announceCounters(dm, N), COST_UPDATES, N)
    D.small_update_full_copies_per_node = round(tree.fullCopies, 2)
    D.small_update_duplicates_per_node = round(tree.duplicates, 2)
    D.small_update_notice_bytes_per_node = round(tree.noticeBytes, 0)
    D.small_update_notices_sent_per_node = round(tree.noticesSent, 2)
    D.small_update_cpu_ms_per_node = round(dmCost.cpuMs, 2)
    D.small_update_wire_bytes_per_node = round(dmCost.bytes, 0)
    // ---- the floor of that CPU: the same messages over the same stack, without the daemon ----
    try {
      Object.assign(D, await relayFloorCost(ctx, N, root, await daemonGraph(dm, N), rng(args.seed * 1000 + N + 500), warmups + args.rounds))
    } catch (err) {
      // the floor is a figure beside the daemon's, not the daemon's: its failure is reported (n/a), the run goes on
      say(`warning: N=${N}: the CPU-per-update floor could not be measured: ${(err as Error).message}`)
      Object.assign(D, { small_update_cpu_floor_ms_per_node: null, small_update_floor_error: (err as Error).message })
    }
    S.small_update_cpu_ms_per_node = round(serfCost.cpuMs, 2)
    S.small_update_wire_bytes_per_node = round(serfCost.bytes, 0)
    S.small_update_handler_cpu_ms_per_node = round(serfCost.handlerMs, 2)
    // the two background windows' rates per node: a wide gap is a periodic burst in one of them
    for (const [O, cost] of [[D, dmCost], [S, serfCost]] as const) {
      O.small_update_background_bytes_per_s_per_node = [round(cost.background.bytesBefore / N, 0), round(cost.background.bytesAfter / N, 0)]
    }

    D.rss_before_large_mb = round(mean(dm.pids().map(rssBytes)) / MiB)
    S.rss_before_large_mb = round(mean(serf.pids().map(rssBytes)) / MiB)

    // ---- 2. large file (data-mesher only) ----
    const large = []
    for (let k = 0; k < args.largeRounds; k++) {
      say(`N=${N}: 10 MiB file to all nodes (${k + 1}/${args.largeRounds})`)
      large.push(await dmLarge(dm, key, iso, Math.floor(random() * N), N))
      await sleep(2000)
    }
    const best = large.filter(r => r.ms !== undefined).sort((a, b) => a.ms! - b.ms!)[Math.floor((large.length - 1) / 2)] ?? large[0]
    if (best !== undefined) {
      Object.assign(D, {
      large_file_bytes: 10 * MiB,
      large_file_ms: round(best.ms ?? NaN, 0),
      large_file_upload_ms: round(best.uploadMs, 0),
      large_file_mib_s: round(best.ms === undefined ? NaN : (N - 1) * 10 / (best.ms / 1000)),
      large_file_wire_bytes: Math.round(best.wireBytes),
      large_file_crossings: round(best.wireBytes / (10 * MiB), 2),
      large_file_crossings_ideal: N - 1,
      large_file_crossings_vs_ideal: round(best.wireBytes / (10 * MiB) / (N - 1), 2),
      large_file_hops_max: best.maxDepth,
      large_file_cpu_s: round(best.cpuS, 1),
      large_file_wire_mib_per_cpu_s: round(best.wireBytes / MiB / best.cpuS, 1),
      large_file_delivered: best.delivered,
      large_file_runs: large.map(r => ({ ms: round(r.ms ?? NaN, 0), crossings: round(r.wireBytes / (10 * MiB), 2), delivered: r.delivered }))
      })
    }

    // ---- 3. catch-up (data-mesher only) ----
    say(`N=${N}: catch-up (a node down during 100 updates to 20 files)`)
    Object.assign(D, await dmCatchup(dm, key, N, fNames.slice(0, 20), random))

    // ---- 4. idle, both systems over the same window (before the burst, which may leave a backlog) ----
    say(`N=${N}: idle: settling ${args.settle} s, then measuring ${args.window} s`)
    // the floor: the daemon's packages loaded, nothing done (bench/floor.ts), same namespace and flags
    const floor = await startFloor(iso.dmPrefix, DAEMON_NODE_FLAGS, DAEMON_ENV)
    await sleep(args.settle * 1000)
    const dmPids = dm.pids(); const serfPids = serf.pids()
    const cpu0 = { dm: dmPids.map(cpuSeconds), serf: serfPids.map(cpuSeconds) }
    const tx0 = { dm: loopbackTx(iso.dmNet), serf: loopbackTx(iso.serfNet) }
    const busy0 = machineBusySeconds(); const self0 = process.cpuUsage(); const w0 = performance.now()
    await sleep(args.window * 1000)
    const w = (performance.now() - w0) / 1000
    const cpu1 = { dm: dmPids.map(cpuSeconds), serf: serfPids.map(cpuSeconds) }
    const tx1 = { dm: loopbackTx(iso.dmNet), serf: loopbackTx(iso.serfNet) }
    const busy1 = machineBusySeconds(); const self1 = process.cpuUsage(self0)
    const rss = { dm: dmPids.map(rssBytes), serf: serfPids.map(rssBytes) }
    const anon = { dm: dmPids.map(rssAnonBytes), serf: serfPids.map(rssAnonBytes) }
    D.floor_rss_mb = round(rssBytes(floor.pid) / MiB)
    D.floor_rss_anon_mb = round(rssAnonBytes(floor.pid) / MiB)
    await stop(floor)
    const pct = (a: number[], b: number[]): number[] => a.map((x, i) => (b[i] - x) / w * 100)
    const dmPct = pct(cpu0.dm, cpu1.dm); const serfPct = pct(cpu0.serf, cpu1.serf)
    for (const [O, p, r, ra, a, b] of [[D, dmPct, rss.dm, anon.dm, tx0.dm, tx1.dm], [S, serfPct, rss.serf, anon.serf, tx0.serf, tx1.serf]] as const) {
      Object.assign(O, {
        idle_cpu_pct: round(mean(p), 2),
        idle_cpu_pct_max: round(Math.max(...p), 2),
        idle_rss_mb: round(mean(r) / MiB),
        idle_rss_mb_max: round(Math.max(...r) / MiB),
        idle_rss_anon_mb: round(mean(ra) / MiB),
        idle_tx_bytes_per_s: round((b.bytes - a.bytes) / w / N, 0),
        idle_tx_packets_per_s: round((b.packets - a.packets) / w / N, 1),
        idle_window_s: round(w, 1)
      })
    }
    const ours = dmPct.reduce((x, y) => x + y, 0) + serfPct.reduce((x, y) => x + y, 0) + (self1.user + self1.system) / 1e6 / w * 100
    noise.idle_window_other_cpu_pct = round((busy1 - busy0) / w * 100 - ours, 1)
    noise.idle_window_machine_busy_pct = round((busy1 - busy0) / w * 100, 1)
    const sig = (l: Array<{ name: string, timestamp: number }>): string => l.map(f => `${f.name}@${f.timestamp}`).sort().join(',')
    const lists = await Promise.all(dm.nodes.map(async n => await n.client!.listFiles()))
    D.converged_after_idle = lists.every(l => sig(l) === sig(lists[0]))
    const st = await Promise.all(dm.nodes.map(async n => await n.client!.getStatus()))
    const peers = st.map(s => s.peers.length)
    Object.assign(D, { peers_min: Math.min(...peers), peers_mean: round(mean(peers)), peers_max: Math.max(...peers) })
    D.idle_rss_over_floor_mb = round((D.idle_rss_mb as number) - (D.floor_rss_mb as number))
    D.idle_rss_anon_over_floor_mb = round((D.idle_rss_anon_mb as number) - (D.floor_rss_anon_mb as number))
    S.members_alive_min = await serf.minAlive()
    S.converged_after_idle = S.members_alive_min === N

    // CPU per update per node, the idle rate taken out (the model's per-hop cost)
    const idleDm = dmPct.reduce((x, y) => x + y, 0) / 100

    // ---- 5. burst (data-mesher only) ----
    say(`N=${N}: burst of 1,000 updates over 100 names${args.quick ? ` (quick: submitting for at most ${BURST_LIMITS.quick.submit / 1000} s)` : ` (submitting for at most ${BURST_LIMITS.full.submit / 1000} s)`}`)
    const burstCpu0 = cpuSnap(dm.pids(), serf.pids())
    Object.assign(D, await dmBurst(dm, key, N, fNames, args.quick ? BURST_LIMITS.quick : BURST_LIMITS.full))
    const burstCpu = cpuDelta(burstCpu0, cpuSnap(dm.pids(), serf.pids()))
    D.burst_cpu_ms_per_update_per_node = round((burstCpu.dm - idleDm * burstCpu.t) / (D.burst_accepted as number) / N * 1000, 2)
    D.burst_cpu_s_total = round(burstCpu.dm, 1)
    noise.loadavg_1m_after = round(loadavg()[0], 2)
    return { datamesher: D, serf: S, noise }
  } catch (err) {
    const e = err as Error
    e.message = `N=${N}: ${e.message}`
    throw e
  } finally {
    say(`N=${N}: stopping both clusters`)
    await Promise.all([dm.stopAll(), serf.stopAll()])
  }
}

/** Median time of a 4 KiB write + fsync where the nodes keep their state (data-mesher fsyncs every write). */
async function fsyncProbe (dir: string): Promise<number> {
  const { open, unlink } = await import('node:fs/promises')
  const path = join(dir, 'fsync-probe')
  const fh = await open(path, 'w')
  const times: number[] = []
  try {
    for (let i = 0; i < 30; i++) {
      const t = performance.now()
      await fh.write(randomBytes(4096), 0, 4096, 0)
      await fh.sync()
      times.push(performance.now() - t)
    }
  } finally { await fh.close(); await unlink(path) }
  return percentile(times, 50)
}

const COST_UPDATES = 10

/**
 * CPU and bytes one system spends per update per node: its background rate over 4 s,
 * then COST_UPDATES updates 0.7 s apart, delivery everywhere, a tail for retransmissions
 * (serf gossips each message several more times after delivery); minus the background.
 */
async function costPerUpdate (pids: number[], net: number | 'self', N: number, send: (k: number) => Promise<void>, delivered: () => Promise<void>): Promise<UpdateCost & { handlerMs: number }> {
  const snap = (): CostSnap & { handlers: number } => ({ cpu: totalCpu(pids), handlers: totalCpu(pids, true), bytes: loopbackTx(net).bytes, t: performance.now() })
  const a = snap()
  await sleep(4000)
  const b = snap()
  const bgCpu = (b.cpu - a.cpu) / ((b.t - a.t) / 1000)
  for (let k = 0; k < COST_UPDATES; k++) {
    await send(k)
    await sleep(700)
  }
  await delivered()
  await quiesce(pids, bgCpu, 30_000)
  await sleep(2000)
  const c = snap()
  // the background again, after: with few nodes one periodic exchange (sync, peer
  // exchange; serf's push-pull, which carries its recent user events) inside a 4 s
  // window inflates it, and subtracting too much hides the cost (bench/lib/cost.ts)
  await sleep(4000)
  const d = snap()
  return { ...updateCost(a, b, c, d, COST_UPDATES, N), handlerMs: (c.handlers - b.handlers) * 1000 / (COST_UPDATES * N) }
}

/** Cores busy, per system, over 2 s of no activity. */
async function backgroundCores (dmPids: number[], serfPids: number[]): Promise<{ dm: number, serf: number }> {
  await sleep(1000)
  const a = cpuSnap(dmPids, serfPids)
  await sleep(2000)
  const d = cpuDelta(a, cpuSnap(dmPids, serfPids))
  return { dm: d.dm / d.t, serf: d.serf / d.t }
}

/** Waits (at most maxMs) until the processes use no more CPU than in the background. */
async function quiesce (pids: number[], background: number, maxMs = 5000): Promise<void> {
  const t0 = performance.now()
  for (;;) {
    const a = totalCpu(pids); const ta = performance.now()
    await sleep(200)
    const rate = (totalCpu(pids) - a) / ((performance.now() - ta) / 1000)
    if (rate <= Math.max(1.5 * background, background + 0.1) || performance.now() - t0 > maxMs) return
  }
}

interface CpuSnap { dm: number, serf: number, handlers: number, t: number }
function cpuSnap (dmPids: number[], serfPids: number[]): CpuSnap {
  return { dm: totalCpu(dmPids), serf: totalCpu(serfPids), handlers: totalCpu(serfPids, true), t: performance.now() }
}
function cpuDelta (a: CpuSnap, b: CpuSnap): CpuSnap { return { dm: b.dm - a.dm, serf: b.serf - a.serf, handlers: b.handlers - a.handlers, t: (b.t - a.t) / 1000 } }

async function calibrateSerf (serf: SerfCluster): Promise<{ bytes: number, error: string }> {
  const rpc = serf.nodes[0].rpc!
  let lo = 0; let hi = 4096; let error = ''; let k = 0
  while (lo < hi) {
    const m = Math.ceil((lo + hi) / 2)
    try { await rpc.event(`c${String(k++).padStart(4, '0')}`, randomBytes(m)); lo = m } catch (e) { error = (e as Error).message; hi = m - 1 }
  }
  await sleep(2000) // let the calibration events pass
  return { bytes: lo, error }
}

async function dmSmallRound (dm: DmCluster, key: SigningKey, origin: number, N: number): Promise<{ ms?: number, depthLatency: Array<[number, number]> }> {
  const content = randomBytes(KiB)
  const ts = nextTs()
  const record = signRecord(key, { name: 'bench/small', content, timestamp: ts })
  const got = new Map<number, { at: number, from: string }>()
  let resolve!: () => void
  const all = new Promise<void>(r => { resolve = r })
  const off = dm.listen((i, e, at) => {
    if (e.kind !== 'UPDATED' || e.version.name !== 'bench/small' || e.version.timestamp !== ts || got.has(i)) return
    got.set(i, { at, from: e.origin })
    if (got.size === N) resolve()
  })
  const t0 = performance.now()
  try {
    await dm.client(origin).updateFile(record, content)
    await Promise.race([all, deadline(30_000)])
  } finally { off() }
  if (got.size < N) { say(`warning: data-mesher round: ${got.size}/${N} nodes within 30 s`); return { depthLatency: [] } }
  // delivery tree from each event's origin ("peer:<id>"): hop count of every node
  const depth = new Map<number, number>([[origin, 0]])
  const depthOf = (i: number, seen = 0): number => {
    if (depth.has(i)) return depth.get(i)!
    const from = got.get(i)!.from
    const parent = from.startsWith('peer:') ? dm.indexOfPeer(from.slice(5)) : -1
    const d = parent < 0 || seen > N ? NaN : depthOf(parent, seen + 1) + 1
    depth.set(i, d)
    return d
  }
  const pairs: Array<[number, number]> = []
  for (const [i, g] of got) { const d = depthOf(i); if (Number.isFinite(d)) pairs.push([d, g.at - t0]) }
  return { ms: Math.max(...[...got.values()].map(g => g.at)) - t0, depthLatency: pairs }
}

async function serfRound (serf: SerfCluster, origin: number, name: string, bytes: number, N: number): Promise<number | undefined> {
  const payload = randomBytes(bytes)
  const t0 = Date.now() // wall clock, like the handler's $EPOCHREALTIME
  await serf.nodes[origin].rpc!.event(name, payload)
  const arr = await serf.waitFor(name, N, 30_000)
  const nodes = new Set(arr.map(a => a.node))
  if (nodes.size < N) { say(`warning: serf round ${name}: ${nodes.size}/${N} agents within 30 s`); return undefined }
  // serf appends a newline to a payload that does not end in one
  if (arr.some(a => a.bytes !== bytes && a.bytes !== bytes + 1)) say(`warning: serf round ${name}: a handler saw a payload of another size`)
  return Math.max(...arr.map(a => a.at)) - t0
}

interface LargeRun { ms?: number, uploadMs: number, wireBytes: number, maxDepth: number, delivered: number, cpuS: number }

async function dmLarge (dm: DmCluster, key: SigningKey, iso: Isolation, origin: number, N: number): Promise<LargeRun> {
  // background rate of the data-mesher namespace just before, subtracted afterwards
  const b0 = loopbackTx(iso.dmNet); const tb = performance.now()
  await sleep(3000)
  const baseRate = (loopbackTx(iso.dmNet).bytes - b0.bytes) / (performance.now() - tb)
  const content = randomBytes(10 * MiB)
  const ts = nextTs()
  const record = signRecord(key, { name: 'bench/large', content, timestamp: ts })
  const got = new Map<number, { at: number, from: string }>()
  let resolve!: () => void
  const all = new Promise<void>(r => { resolve = r })
  const off = dm.listen((i, e, at) => {
    if (e.kind !== 'UPDATED' || e.version.name !== 'bench/large' || e.version.timestamp !== ts || got.has(i)) return
    got.set(i, { at, from: e.origin })
    if (got.size === N) resolve()
  })
  const a = loopbackTx(iso.dmNet)
  const pids = dm.pids(); const cpu0 = totalCpu(pids)
  const t0 = performance.now()
  let uploadMs = NaN
  try {
    await dm.client(origin).updateFile(record, content)
    uploadMs = performance.now() - t0
    await Promise.race([all, deadline(600_000)])
  } finally { off() }
  const t1 = performance.now()
  const b = loopbackTx(iso.dmNet)
  const cpuS = totalCpu(pids) - cpu0
  const wireBytes = (b.bytes - a.bytes) - baseRate * (t1 - t0)
  const depth = new Map<number, number>([[origin, 0]])
  const depthOf = (i: number, seen = 0): number => {
    if (depth.has(i)) return depth.get(i)!
    const from = got.get(i)?.from ?? ''
    const parent = from.startsWith('peer:') ? dm.indexOfPeer(from.slice(5)) : -1
    const d = parent < 0 || seen > N ? NaN : depthOf(parent, seen + 1) + 1
    depth.set(i, d)
    return d
  }
  const maxDepth = Math.max(0, ...[...got.keys()].map(i => depthOf(i)).filter(Number.isFinite))
  if (got.size < N) say(`warning: 10 MiB file reached ${got.size}/${N} nodes`)
  return { ms: got.size === N ? Math.max(...[...got.values()].map(g => g.at)) - t0 : undefined, uploadMs, wireBytes, maxDepth, delivered: got.size, cpuS }
}

async function dmCatchup (dm: DmCluster, key: SigningKey, N: number, names: string[], random: () => number): Promise<Obj> {
  const origin = 0
  const victim = 1 + Math.floor(random() * (N - 1))
  await dm.stopNode(victim)
  // 100 updates to 20 files: 5 waves, each one new version of every file, submitted together
  const expected = new Map<string, number>()
  const waveMs: number[] = []
  for (let wave = 0; wave < 100 / names.length; wave++) {
    const batch = names.map(name => {
      const content = randomBytes(KiB)
      return { record: signRecord(key, { name, content, timestamp: nextTs() }), content }
    })
    const t = performance.now()
    await Promise.all(batch.map(async b => await dm.client(origin).updateFile(b.record, b.content)))
    waveMs.push(performance.now() - t)
    for (const b of batch) expected.set(b.record.name, b.record.timestamp)
  }
  const holdsAll = (files: Array<{ name: string, timestamp: number, delivered: boolean }>): boolean => {
    const m = new Map(files.map(f => [f.name, f]))
    return [...expected].every(([n, ts]) => m.get(n)?.timestamp === ts && m.get(n)?.delivered === true)
  }
  await waitUntil('the others holding every update', async () => {
    const lists = await Promise.all(dm.nodes.filter(n => n.i !== victim).map(async n => await n.client!.listFiles()))
    return lists.every(holdsAll)
  }, 120_000)
  await sleep(1000)
  const tSpawn = Date.now()
  dm.spawn(victim)
  await dm.ready(victim)
  const tReady = Date.now()
  const ok = await waitUntil('catch-up', async () => holdsAll(await dm.client(victim).listFiles()), 120_000, 20)
  const tSeen = Date.now()
  // when the content landed: the delivered files' mtimes (written just before the rename)
  const stateFiles = join(dm.nodes[victim].dir, 'state', 'files')
  const tDone = ok ? Math.max(...names.map(n => statSync(join(stateFiles, n)).mtimeMs)) : NaN
  const since = (await dm.client(victim).getStatus()).peers.map(p => p.since).filter(s => s >= tSpawn)
  const firstConn = since.length > 0 ? Math.min(...since) : NaN
  await dm.watch(victim)
  return {
    catchup_updates: 100,
    catchup_wave_submit_ms_p50: round(percentile(waveMs, 50)),
    catchup_files: names.length,
    catchup_ok: ok,
    catchup_from_start_ms: round(tDone - tSpawn, 0),
    catchup_from_reconnect_ms: round(tDone - firstConn, 0),
    catchup_api_ready_ms: round(tReady - tSpawn, 0),
    catchup_observed_ms: round(tSeen - tSpawn, 0)
  }
}

/** How long the burst may take: submitting, then waiting for every node to agree. */
const BURST_LIMITS = { quick: { submit: 15_000, converge: 45_000 }, full: { submit: 300_000, converge: 300_000 } }

async function dmBurst (dm: DmCluster, key: SigningKey, N: number, names: string[], limits: { submit: number, converge: number }): Promise<Obj> {
  const origin = 0
  const records = Array.from({ length: 1000 }, (_, k) => {
    const content = randomBytes(KiB)
    return { record: signRecord(key, { name: names[k % names.length], content, timestamp: nextTs() }), content }
  })
  // per node and name: the newest version seen on its WatchFiles stream, and when
  const seen = dm.nodes.map(() => new Map<string, { ts: number, at: number }>())
  const off = dm.listen((i, e, at) => {
    if (e.kind !== 'UPDATED' || !e.version.name.startsWith('bench/f')) return
    const prev = seen[i].get(e.version.name)
    if (prev === undefined || prev.ts < e.version.timestamp) seen[i].set(e.version.name, { ts: e.version.timestamp, at })
  })
  const accepted: typeof records = []
  let next = 0; let refused = 0
  const t0 = performance.now()
  try {
    // 32 in flight (fewer than the 100 names, so two versions of one name are never in flight together)
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < records.length && performance.now() - t0 < limits.submit) {
        const r = records[next++]
        try { await dm.client(origin).updateFile(r.record, r.content); accepted.push(r) } catch { refused++ }
      }
    }))
    const tAcc = performance.now()
    const final = new Map<string, number>()
    for (const r of accepted) final.set(r.record.name, Math.max(final.get(r.record.name) ?? 0, r.record.timestamp))
    const doneAt = (i: number): number => {
      let last = 0
      for (const [name, ts] of final) {
        const v = seen[i].get(name)
        if (v === undefined || v.ts < ts) return NaN
        last = Math.max(last, v.at)
      }
      return last
    }
    while (performance.now() - tAcc < limits.converge && dm.nodes.some(n => Number.isNaN(doneAt(n.i)))) await sleep(100)
    const done = dm.nodes.map(n => doneAt(n.i))
    const all = done.every(Number.isFinite)
    const lists = await Promise.all(dm.nodes.map(async n => await n.client!.listFiles()))
    const agreeing = lists.filter(l => { const m = new Map(l.map(f => [f.name, f.timestamp])); return [...final].every(([n, ts]) => m.get(n) === ts) }).length
    return {
      burst_updates: records.length,
      burst_names: names.length,
      burst_submitted: next,
      burst_accepted: accepted.length,
      burst_refused: refused,
      burst_truncated: next < records.length,
      burst_submit_ms: round(tAcc - t0, 0),
      burst_accepted_per_s: round(accepted.length / ((tAcc - t0) / 1000), 1),
      burst_converge_ms: all ? round(Math.max(...done) - t0, 0) : null,
      burst_converge_after_last_accept_ms: all ? round(Math.max(0, Math.max(...done) - tAcc), 0) : null,
      burst_converge_limit_ms: limits.converge,
      burst_nodes_agreeing: agreeing
    }
  } finally { off() }
}

// ---------------------------------------------------------------------- main ---------
/** Returns false when it handed over to a copy of itself in a fresh network namespace. */
async function main (): Promise<boolean> {
  const args = parseArgs(process.argv.slice(2))
  const ver = versions()
  if (process.env.DM_BENCH_INNER !== '1' && args.netns) {
    if (reexecInNamespace()) return false
    say('warning: cannot create network namespaces (unshare failed); running on the shared loopback')
  }
  const root = mkdtempSync(join(args.tmp, 'dm-bench-'))
  let cleaning: Promise<void> | undefined
  const cleanup = async (): Promise<void> => {
    cleaning ??= (async () => {
      await stopAll(5000)
      if (args.keep) say(`kept ${root}`)
      else rmSync(root, { recursive: true, force: true })
    })()
    await cleaning
  }
  let interrupted = false
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (interrupted) return
      interrupted = true
      say(`${sig}: stopping every process the bench started`)
      const force = setTimeout(() => { killAllNow(); process.exit(130) }, 15_000)
      void cleanup().finally(() => { clearTimeout(force); process.exit(130) })
    })
  }
  process.on('exit', () => { killAllNow(); if (!args.keep && existsSync(root)) rmSync(root, { recursive: true, force: true }) })

  let iso: Isolation | undefined
  try {
    iso = await isolate(args.netns)
    say(`mode ${args.quick ? 'quick' : 'full'}, N in {${args.ns.join(', ')}}, ${iso.isolated ? 'two private network namespaces' : 'shared host loopback'}`)
    const key = generateSigningKey()
    const started = new Date()
    const out: Results = {
      schema: 1,
      date: started.toISOString(),
      command: `npm run bench${process.argv.slice(2).length > 0 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
      mode: args.quick ? 'quick' : 'full',
      machine: { hostname: hostname(), cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', memory_gb: round(totalmem() / 2 ** 30, 1), kernel: release(), loadavg_1m_start: round(loadavg()[0], 2), state_fsync_ms_p50: round(await fsyncProbe(root), 2), state_dir_base: args.tmp },
      versions: ver,
      method: {
        byte_counters: iso.method,
        datamesher_delivery: 'time from UpdateFile on the origin until the WatchFiles UPDATED event of every node (streams opened before) reached the bench',
        serf_delivery: 'time from the RPC "event" call on the origin until every agent\'s handler recorded $EPOCHREALTIME (a bash script per event, as serf runs handlers)',
        rounds: `${args.rounds} per system after 2 warm-up rounds, alternating which system goes first, same random origin node for both`,
        p99: 'nearest rank; with 20 to 30 rounds it is the slowest or second-slowest round',
        idle: `${args.settle} s settle, then ${args.window} s window with both systems up; CPU from /proc/<pid>/stat utime+stime, RSS from VmRSS, bytes from lo tx of each system's namespace / N`,
        large_file_wire: 'lo tx bytes of the data-mesher namespace during the transfer, minus the background rate measured for 3 s just before; includes QUIC/TCP, Noise and yamux framing and the announce/sync traffic of the update',
        catchup: 'one node stopped; 100 updates at node 0 (5 waves, each a new version of all 20 files submitted together) spread to the others; node restarted: from its spawn, and from its first peer connection, until the mtime of the last of the 20 delivered files',
        burst: `1,000 pre-signed 1 KiB updates over 100 names, 32 UpdateFile calls in flight at node 0 (quick: submitting stops after ${BURST_LIMITS.quick.submit / 1000} s and waiting ${BURST_LIMITS.quick.converge / 1000} s after; full: ${BURST_LIMITS.full.submit / 1000} s and ${BURST_LIMITS.full.converge / 1000} s); converged = every node's WatchFiles showed the newest accepted version of all names; checked again with ListFiles on every node`,
        cpu_per_update: 'utime+stime of all nodes of a system over the phase, minus the idle rate over the same time, per update and node; serf: the agent only (its handler runs, a bash process per event, are reported apart)',
        wire_per_update: 'lo tx bytes of each system\'s namespace over the small-update phase, minus the idle rate, per update and node (serf\'s includes the bench\'s RPC call, ~100 B)',
        quiesce: 'after every round, the next starts only when both systems are back to their background CPU (at most 5 s), so neither is measured while the other still works',
        formed: 'data-mesher: after all daemons answer, until every node has min(3, N-1) peers; serf: after all agents started, until every agent sees N alive members',
        topology: 'node 0 knows nobody; node i (both systems) joins through one random earlier node (a random tree); seed ' + String(args.seed),
        runs: `${args.runs} run(s) of each size, each with fresh clusters; every figure is the median over the runs (their [min, max] in results.<N>.spread, each run in results.<N>.runs); the ratios to serf are taken per run, then their median`,
        floor: 'dist/bench/floor.js, started in the daemons\' namespace with their node flags for the idle window: imports every package of package.json\'s dependencies, holds the young generation as the bin does, does nothing; its VmRSS and RssAnon',
        cpu_floor: 'right after the daemons\' cost phase, with both systems idle: N relays (dist/bench/relay-floor.js, the daemon\'s createNode: QUIC and TCP + Noise + Yamux as the daemon configures them) in the daemons\' namespace with their node flags and environment, connected as the daemons were at that moment (GetStatus peers; dialled on TCP), a breadth-first spanning tree of that graph eager; the same number of 1 KiB updates at random relays, each relay verifying the Ed25519 signature, writing through the daemon\'s DiskStore (stage + commit: 4 fsyncs; measured a second time without it) and passing on the FULL record on its tree links at once and an announce/3.1.0 notice to each other link after 250 ms ±50% unless that peer had told it first; utime+stime of the relays over the phase minus their idle rate, per update and node, as cpu_per_update, after as many warm-up updates as the daemons had taken before their cost phase',
        start_floor: 'before the daemons start: node runs dist/bundle/data-mesher.mjs --version N times, 4 at a time as the daemons are started (Node starts, compiles and evaluates the one file with every package in it, exits); the ratio start_floor is to serf\'s start_all',
        daemon_launch: `${Object.entries(DAEMON_ENV).map(([k, v]) => `${k}=${v} `).join('')}node ${DAEMON_NODE_FLAGS.join(' ')} dist/bundle/data-mesher.mjs daemon (the one-file build package.json's bin runs; the environment is the systemd unit's, nixos/service-settings.json)`.replace('node  ', 'node ')
      },
      results: {}
    }
    const ctx: Ctx = { args, key, iso, root }
    for (const [slot, N] of args.ns.entries()) {
      const runs: SizeRun[] = []
      for (let k = 0; k < args.runs; k++) {
        if (args.runs > 1) say(`N=${N}: run ${k + 1} of ${args.runs}`)
        const r = await runSize(ctx, N, slot, k)
        runs.push({ ...r, ratio: ratios(r.datamesher, r.serf) })
        await sleep(2000)
      }
      out.results[String(N)] = aggregateRuns(runs)
    }
    out.machine.loadavg_1m_end = round(loadavg()[0], 2)
    out.duration_s = round((Date.now() - started.getTime()) / 1000, 0)
    printReport(out)
    const stamp = started.toISOString().replace(/[:]/g, '').replace(/\..*/, '')
    const json = JSON.stringify(out, (_k, v) => typeof v === 'number' && !Number.isFinite(v) ? null : v, 2) + '\n'
    if (args.out !== undefined) writeFileSync(args.out, json)
    else {
      mkdirSync(RESULTS_DIR, { recursive: true })
      writeFileSync(join(RESULTS_DIR, `${stamp}-${out.mode}.json`), json)
      writeFileSync(join(RESULTS_DIR, 'latest.json'), json)
      say(`wrote bench/results/${stamp}-${out.mode}.json and bench/results/latest.json`)
    }
  } finally {
    await cleanup()
  }
  return true
}

/** The broadcast tree's counters summed over the cluster (GetStatus, src/mesh/announce.ts). */
async function announceCounters (dm: DmCluster, N: number): Promise<{ full: number, duplicates: number, noticeBytes: number, notices: number }> {
  const all = await Promise.all(Array.from({ length: N }, async (_, i) => (await dm.client(i).getStatus()).counters))
  const total = (k: string): number => all.reduce((a, c) => a + (c[k] ?? 0), 0)
  return { full: total('announce.full_received'), duplicates: total('announce.duplicates'), noticeBytes: total('announce.ihave_bytes'), notices: total('announce.ihave_sent') }
}

/**
 * Per update and node: full copies received (ideal 1: each of the N − 1 receivers gets
 * one), of which duplicates, and the "I have" notices sent (messages and bytes).
 */
function treeCost (a: { full: number, duplicates: number, noticeBytes: number, notices: number }, b: typeof a, updates: number, N: number): { fullCopies: number, duplicates: number, noticeBytes: number, noticesSent: number } {
  return {
    fullCopies: (b.full - a.full) / (updates * (N - 1)),
    duplicates: (b.duplicates - a.duplicates) / (updates * (N - 1)),
    noticeBytes: (b.noticeBytes - a.noticeBytes) / (updates * N),
    noticesSent: (b.notices - a.notices) / (updates * N)
  }
}

/** The daemons' connection graph as it is now: for each node, the indices of its peers (GetStatus). */
async function daemonGraph (dm: DmCluster, N: number): Promise<number[][]> {
  const st = await Promise.all(Array.from({ length: N }, async (_, i) => await dm.client(i).getStatus()))
  return st.map(s => [...new Set(s.peers.map(p => dm.indexOfPeer(p.peerId)).filter(j => j >= 0))])
}

/**
 * The floor of CPU per update per node (issue 22; bench/relay-floor.ts): N relays with the
 * daemon's network stack, in the daemons' namespace with their node flags and environment,
 * linked as the daemons are linked right now (a breadth-first tree of that graph eager),
 * take COST_UPDATES updates of 1 KiB at random relays, measured as the daemons are
 * (costPerUpdate: utime+stime of the relays over the phase, minus their idle rate, per
 * update and node) while the daemons and serf are idle, after as many updates to warm up
 * as the daemons had taken before theirs; then as many again with the relays' store write
 * off (the durable write's share of the floor). Then the relays are stopped.
 */
async function relayFloorCost (ctx: Ctx, N: number, root: string, graph: number[][], random: () => number, warmups: number): Promise<Obj> {
  say(`N=${N}: the floor of CPU per update: ${N} relays of the daemon's stack, linked as the daemons are, ${COST_UPDATES} updates`)
  const floor = await RelayFloor.start({ n: N, root: join(root, 'relays'), basePort: 0, nsPrefix: ctx.iso.dmPrefix, nodeFlags: DAEMON_NODE_FLAGS, env: DAEMON_ENV })
  try {
    const links = relayLinks(graph)
    await floor.link(links)
    let taken = 0
    const publish = async (prefix: string, k: number): Promise<void> => {
      const content = randomBytes(KiB)
      floor.publish(Math.floor(random() * N), signRecord(ctx.key, { name: `bench/${prefix}${k}`, content, timestamp: nextTs() }), content)
    }
    const measure = async (prefix: string): Promise<UpdateCost> => {
      const cost = await costPerUpdate(floor.pids(), ctx.iso.dmNet, N, async k => { await publish(prefix, k) }, async () => {
        if (!await floor.stored(taken + COST_UPDATES, 120_000)) say('warning: the relays did not all take every update within 120 s')
      })
      taken += COST_UPDATES
      return cost
    }
    // warm-up: the daemons had taken 2 + rounds small updates before their cost phase, so
    // their code was compiled by then; a fresh relay's would still be interpreted (a first
    // quick run without this measured the floor 1.3× the daemon's figure)
    for (let k = 0; k < warmups; k++) { await publish('relay-warm', k); await sleep(150) }
    taken = warmups
    if (!await floor.stored(taken, 120_000)) say('warning: the relays did not all take the warm-up updates within 120 s')
    await sleep(1000)
    const before = await floor.counts()
    const cost = await measure('relay')
    const after = await floor.counts()
    // the same again with the store's write off: how much of the floor is the durable write
    await floor.durable(false)
    const network = await measure('relay-nostore')
    const per = (k: keyof RelayCounts, nodes: number): number => round((after[k] - before[k]) / (COST_UPDATES * nodes), 2)
    return {
      small_update_cpu_floor_ms_per_node: round(cost.cpuMs, 2),
      small_update_cpu_floor_without_store_ms_per_node: round(network.cpuMs, 2),
      small_update_floor_links_mean: round(2 * links.length / N, 1),
      small_update_floor_full_copies_per_node: per('fullReceived', N - 1),
      small_update_floor_notices_sent_per_node: per('ihaveSent', N),
      small_update_floor_stored_per_node: per('stored', N)
    }
  } finally {
    await floor.stop()
  }
}

/** data-mesher / serf for every comparable figure (lower is better for data-mesher in all). */
const RATIOS: Record<string, string> = {
  small_update_p50: 'small_update_p50_ms',
  small_update_p99: 'small_update_p99_ms',
  small_update_mean: 'small_update_mean_ms',
  small_update_cpu_per_node: 'small_update_cpu_ms_per_node',
  small_update_wire_bytes_per_node: 'small_update_wire_bytes_per_node',
  idle_cpu: 'idle_cpu_pct',
  idle_rss: 'idle_rss_mb',
  idle_tx_bytes_per_s: 'idle_tx_bytes_per_s',
  idle_tx_packets_per_s: 'idle_tx_packets_per_s',
  start_all: 'start_all_ms'
}

/** a / b rounded, or null when either is not a figure (or b is not above 0). */
function ratio (a: unknown, b: unknown): number | null {
  return typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && b > 0 ? round(a / b, 3) : null
}

function ratios (d: Obj, s: Obj): Obj {
  const r: Obj = {}
  for (const [name, k] of Object.entries(RATIOS)) r[name] = ratio(d[k], s[k])
  // the floor of CPU per update (the relays: the same messages over the same stack) against serf's agent,
  // and the daemon against that floor
  r.small_update_cpu_floor = ratio(d.small_update_cpu_floor_ms_per_node, s.small_update_cpu_ms_per_node)
  r.small_update_cpu_over_floor = ratio(d.small_update_cpu_ms_per_node, d.small_update_cpu_floor_ms_per_node)
  // the start floor (one file loaded N times) against serf's whole start
  r.start_floor = ratio(d.start_floor_ms, s.start_all_ms)
  return r
}

main().then(finished => { if (finished) process.exit(0) }, async err => {
  say(`failed: ${(err as Error).stack ?? String(err)}`)
  await stopAll(5000).catch(() => {})
  process.exit(1)
})
