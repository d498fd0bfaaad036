// `npm run bench:flags [-- --n 5 --rounds 3 --updates 40 --variant 'name=--flag,--flag' …]`
// (a variant's token `@modules` starts the module tree, dist/src/cli/bin.js, instead of the bundle):
// node/V8 flags on a small cluster (issue 22). For each variant, in turn and `rounds`
// times: N daemons started with the flags (as the bench starts them), the mesh formed,
// 10 s settle, then 10 s idle (CPU % of a core, RSS, RssAnon per node), then `updates`
// 1 KiB updates at 5/s from random origins (CPU per update per node, the idle rate
// taken out; RSS and RssAnon after). Prints every run and the medians. Run it in a
// network namespace of its own so that its ports meet nobody's:
//   unshare --map-root-user --net sh -c 'ip link set lo up && node dist/bench/flags.js'
import '../src/polyfill.js'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, loadavg } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { encodeBase64Key, generateSigningKey } from '../src/crypto/keys.js'
import { signRecord } from '../src/crypto/record.js'
import { BUNDLE_BIN, DmCluster, MODULES_BIN } from './lib/dm-cluster.js'
import { rssAnonBytes, rssBytes, sleep, stopAll, totalCpu } from './lib/procs.js'
import { mean, median, rng } from './lib/stats.js'

function arg (name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback
}
const N = Number(arg('n', '5'))
const ROUNDS = Number(arg('rounds', '3'))
const UPDATES = Number(arg('updates', '40'))
const given = process.argv.flatMap((a, i) => a === '--variant' ? [process.argv[i + 1]] : [])
const variants = (given.length > 0
  ? given
  : ['default=', 'semi1=--max-semi-space-size=1', 'semi4=--max-semi-space-size=4', 'optsize=--optimize-for-size', 'old96=--max-old-space-size=96']
).map(v => {
  // a variant is name=flag,flag…; the token @modules runs the module tree instead of the bundle
  const at = v.indexOf('='); const tokens = v.slice(at + 1).split(',').filter(f => f !== '')
  return { name: v.slice(0, at), flags: tokens.filter(t => t !== '@modules'), bin: tokens.includes('@modules') ? MODULES_BIN : BUNDLE_BIN }
})

const key = generateSigningKey()
const MiB = 1024 * 1024
interface Row { startMs: number, startCpuS: number, idleCpuPct: number, idleRss: number, idleAnon: number, cpuMsPerUpdate: number, loadRss: number, loadAnon: number }
const rows = new Map<string, Row[]>(variants.map(v => [v.name, []]))
const names = Array.from({ length: 20 }, (_, i) => `bench/f${i}`)

async function once (flags: string[], bin: string, seed: number): Promise<Row> {
  const root = mkdtempSync(join(tmpdir(), 'dm-flags-'))
  const random = rng(seed)
  const dm = new DmCluster({
    root,
    n: N,
    basePort: 21000,
    bootstrapOf: Array.from({ length: N }, (_, i) => i === 0 ? [] : [Math.floor(random() * i)]),
    signerPublicKey: encodeBase64Key(key.publicKey),
    names,
    nsPrefix: [],
    nodeFlags: flags,
    bin
  })
  try {
    const t = performance.now()
    await dm.startAll()
    const startMs = performance.now() - t
    const startCpuS = totalCpu(dm.pids()) / N
    await dm.watchAll()
    const want = Math.min(3, N - 1)
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline && !(await Promise.all(dm.nodes.map(async n => (await n.client!.getStatus()).peers.length >= want))).every(x => x)) await sleep(250)
    await sleep(10_000)
    const pids = dm.pids()
    const c0 = totalCpu(pids); const t0 = performance.now()
    await sleep(10_000)
    const c1 = totalCpu(pids); const t1 = performance.now()
    const idleRate = (c1 - c0) / ((t1 - t0) / 1000)
    const idleRss = mean(pids.map(rssBytes)) / MiB; const idleAnon = mean(pids.map(rssAnonBytes)) / MiB
    const seen = new Map<string, Set<number>>(); const stamps = new Map<string, number>()
    const off = dm.listen((i, e) => { if (e.kind === 'UPDATED' && stamps.get(e.version.name) === e.version.timestamp) seen.get(e.version.name)?.add(i) })
    const c2 = totalCpu(pids); const t2 = performance.now()
    for (let k = 0; k < UPDATES; k++) {
      const name = names[k % names.length]; const content = randomBytes(1024); const timestamp = Date.now() * 1000 + k
      stamps.set(name, timestamp); seen.set(name, new Set())
      await dm.client(Math.floor(random() * N)).updateFile(signRecord(key, { name, content, timestamp }), content)
      await sleep(200)
    }
    const until = Date.now() + 60_000
    while (Date.now() < until && ![...stamps.keys()].every(n => seen.get(n)?.size === N)) await sleep(50)
    off()
    await sleep(2_000)
    const c3 = totalCpu(pids); const t3 = performance.now()
    return {
      startMs,
      startCpuS,
      idleCpuPct: idleRate / N * 100,
      idleRss,
      idleAnon,
      cpuMsPerUpdate: ((c3 - c2) - idleRate * (t3 - t2) / 1000) * 1000 / (UPDATES * N),
      loadRss: mean(pids.map(rssBytes)) / MiB,
      loadAnon: mean(pids.map(rssAnonBytes)) / MiB
    }
  } finally {
    await dm.stopAll()
    rmSync(root, { recursive: true, force: true })
  }
}

const f = (x: number, d = 1): string => x.toFixed(d)
try {
  console.log(`N=${N}, ${ROUNDS} rounds, ${UPDATES} updates at 5/s; load average ${loadavg().map(x => x.toFixed(1)).join(' ')}`)
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      const row = await once(v.flags, v.bin, 1000 + r)
      rows.get(v.name)!.push(row)
      console.log(`  round ${r + 1} ${v.name.padEnd(8)} start all ${f(row.startMs, 0)} ms, ${f(row.startCpuS, 2)} s CPU/node, idle ${f(row.idleCpuPct, 2)}% RSS ${f(row.idleRss)} (anon ${f(row.idleAnon)}) MB, ${f(row.cpuMsPerUpdate, 2)} ms CPU/update/node, after load RSS ${f(row.loadRss)} (anon ${f(row.loadAnon)}) MB; load ${loadavg()[0].toFixed(1)}`)
    }
  }
  console.log('medians:')
  for (const v of variants) {
    const rs = rows.get(v.name)!
    const m = (k: keyof Row): number => median(rs.map(x => x[k]))
    console.log(`  ${v.name.padEnd(8)} ${([v.bin === MODULES_BIN ? 'modules' : '', ...v.flags].join(' ').trim() || '(none)').padEnd(30)} start all ${f(m('startMs'), 0)} ms, ${f(m('startCpuS'), 2)} s CPU/node, idle ${f(m('idleCpuPct'), 2)}% RSS ${f(m('idleRss'))} anon ${f(m('idleAnon'))} MB, ${f(m('cpuMsPerUpdate'), 2)} ms/update, loaded RSS ${f(m('loadRss'))} anon ${f(m('loadAnon'))} MB`)
  }
} finally {
  await stopAll(5000)
}
