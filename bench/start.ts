// `npm run build && node dist/bench/start.js [--n 25 --runs 5 --settle 10 --bin NAME=FILE …]`:
// the bench's "starting all daemons" alone (issue 22). N daemons started as the bench
// starts them (bench/lib/dm-cluster.ts `startAll`: 4 at a time, each until it serves;
// node i joins through one random earlier node, the bench's seed), then:
//   - the wall time of startAll and the CPU of all daemons (utime+stime from /proc) at its end;
//   - after `--settle` more seconds, the CPU again (so work moved later than "all serve"
//     still shows), the connections the daemons hold (GetStatus peers, summed over nodes / 2)
//     and the counters of what opened streams meanwhile (peer exchange asked/answered,
//     sync rounds, dials).
// With several `--bin NAME=FILE` (bundles, each in dist/bundle/ so that it finds
// node_modules and proto/ as the shipped one does), runs alternate between them
// (A B A B …), so that both see the same host. The host is shared: compare CPU sums.
// Runs itself in a fresh network namespace (unshare --net) so its ports meet nobody's.
import '../src/polyfill.js'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, loadavg } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { encodeBase64Key, generateSigningKey } from '../src/crypto/keys.js'
import { BUNDLE_BIN, DmCluster } from './lib/dm-cluster.js'
import { sleep, stopAll, totalCpu } from './lib/procs.js'
import { median, rng } from './lib/stats.js'
import { packageRoot } from '../src/package-root.js'

function arg (name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback
}

if (process.argv.includes('--help')) {
  console.log('node dist/bench/start.js [--n 25] [--runs 5] [--settle 10] [--parallel 4] [--seed 1] [--bin NAME=FILE ...] [--no-netns]')
  process.exit(0)
}

interface Row { bin: string, wallMs: number, cpuAtServeS: number, cpuSettledS: number, connections: number, maxPeers: number, counters: Record<string, number>, load: number }

async function once (bin: string, file: string, n: number, seed: number, settleS: number, parallel: number): Promise<Row> {
  const root = mkdtempSync(join(tmpdir(), 'dm-start-'))
  const random = rng(seed * 1000 + n) // the bench's topology for this N (bench/run.ts)
  const key = generateSigningKey()
  const dm = new DmCluster({
    root,
    n,
    basePort: 21000,
    bootstrapOf: Array.from({ length: n }, (_, i) => i === 0 ? [] : [Math.floor(random() * i)]),
    signerPublicKey: encodeBase64Key(key.publicKey),
    names: ['bench/small', 'bench/large', ...Array.from({ length: 100 }, (_, i) => `bench/f${i}`)],
    nsPrefix: [],
    bin: file
  })
  try {
    const load = loadavg()[0]
    const t = performance.now()
    await dm.startAll(parallel)
    const wallMs = performance.now() - t
    const pids = dm.pids()
    const cpuAtServeS = totalCpu(pids)
    await sleep(settleS * 1000)
    const cpuSettledS = totalCpu(pids)
    const st = await Promise.all(dm.nodes.map(async nd => await nd.client!.getStatus()))
    const counters: Record<string, number> = {}
    for (const s of st) for (const [k, v] of Object.entries(s.counters)) counters[k] = (counters[k] ?? 0) + v
    const degrees = st.map(s => s.peers.length)
    return { bin, wallMs, cpuAtServeS, cpuSettledS, connections: degrees.reduce((a, b) => a + b, 0) / 2, maxPeers: Math.max(...degrees), counters, load }
  } finally {
    await dm.stopAll()
    rmSync(root, { recursive: true, force: true })
  }
}

const COUNTERS = ['peers.dials', 'peer_exchange.asked', 'peer_exchange.answered', 'sync.rounds', 'sync.answered', 'sync.streams_opened', 'peers.trimmed', 'peers.guests_released']

async function main (): Promise<void> {
  const n = Number(arg('n', '25'))
  const runs = Number(arg('runs', '5'))
  const settleS = Number(arg('settle', '10'))
  const parallel = Number(arg('parallel', '4'))
  const seed = Number(arg('seed', '1'))
  const given = process.argv.flatMap((a, i) => a === '--bin' ? [process.argv[i + 1]] : [])
  const bins = (given.length > 0 ? given : [`bundle=${BUNDLE_BIN}`]).map(v => {
    const at = v.indexOf('=')
    const file = v.slice(at + 1)
    return { name: v.slice(0, at), file: isAbsolute(file) ? file : join(packageRoot(), file) }
  })
  const rows: Row[] = []
  try {
    for (let r = 0; r < runs; r++) {
      for (const b of (r & 1) === 0 ? bins : [...bins].reverse()) {
        const row = await once(b.name, b.file, n, seed, settleS, parallel)
        rows.push(row)
        const c = COUNTERS.map(k => `${k.split('.').pop()} ${row.counters[k] ?? 0}`).join(', ')
        console.log(`${b.name.padEnd(10)} run ${r + 1}: start ${row.wallMs.toFixed(0)} ms, CPU at serve ${row.cpuAtServeS.toFixed(2)} s, +${settleS} s ${row.cpuSettledS.toFixed(2)} s; connections ${row.connections} (max per node ${row.maxPeers}); ${c}; load ${row.load.toFixed(2)}`)
      }
    }
  } finally {
    await stopAll()
  }
  const fmt = (xs: number[], d: number): string => `${median(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}]`
  console.log(`\nmedians [min–max] over ${runs} runs, N = ${n}:`)
  for (const b of bins) {
    const rs = rows.filter(r => r.bin === b.name)
    console.log(`${b.name.padEnd(10)} start ${fmt(rs.map(r => r.wallMs), 0)} ms; CPU at serve ${fmt(rs.map(r => r.cpuAtServeS), 2)} s; settled ${fmt(rs.map(r => r.cpuSettledS), 2)} s; connections ${fmt(rs.map(r => r.connections), 1)}; ` +
      COUNTERS.map(k => `${k.split('.').pop()} ${fmt(rs.map(r => r.counters[k] ?? 0), 0)}`).join(', '))
  }
}

// a fresh network namespace: the daemons' ports on a loopback of their own
if (process.env.DM_START_INNER !== '1' && !process.argv.includes('--no-netns')) {
  const user = process.getuid?.() === 0 ? ['--net'] : ['--map-root-user', '--net']
  const child = spawn('unshare', [...user, '--', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, DM_START_INNER: '1' } })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { try { child.kill(sig) } catch {} })
  child.on('exit', code => process.exit(code ?? 1))
} else {
  if (process.env.DM_START_INNER === '1') {
    const ip = ['ip', '/usr/sbin/ip', '/sbin/ip'].find(c => spawnSync(c, ['-V']).status === 0)
    if (ip === undefined || spawnSync(ip, ['link', 'set', 'lo', 'up']).status !== 0) throw new Error('cannot bring up lo in the namespace')
  }
  await main()
}
