// `npm run bench:profile [-- --n 25 --updates 20 --transports tcp,quic --idle --out DIR]`:
// where a data-mesher node's CPU goes. Starts N daemons on loopback as the bench does
// (each joins through one random earlier node), sends 5 warm-up updates, then records a
// V8 CPU profile of every daemon (bench/lib/cpu-profile-hook.ts) while 1 KiB updates go to
// random origins 700 ms apart (or, with --idle, over 20 s of nothing). Prints the CPU per
// update per node (the idle rate measured just before subtracted), the mesh counters per
// update and node, and the busy samples by package with each one's top functions by self
// time. The .cpuprofile files stay in DIR (`--analyse DIR` prints their breakdown again).
// The profiler at least doubles the CPU (more at small N): compare shares, not absolute figures.
import '../src/polyfill.js'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encodeBase64Key, generateSigningKey } from '../src/crypto/keys.js'
import { signRecord } from '../src/crypto/record.js'
import { DmCluster, MODULES_BIN } from './lib/dm-cluster.js'
import { sleep, totalCpu } from './lib/procs.js'

const HOOK = fileURLToPath(new URL('./lib/cpu-profile-hook.js', import.meta.url))

function arg (name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback
}
const N = Number(arg('n', '25'))
const UPDATES = Number(arg('updates', '20'))
const transports = arg('transports', 'quic,tcp').split(',')
const idleOnly = process.argv.includes('--idle')
// --analyse DIR: only print the breakdown of the .cpuprofile files a run left in DIR
if (process.argv.includes('--analyse')) { printBreakdown(arg('analyse', '.')); process.exit(0) }
const out = arg('out', mkdtempSync(join(tmpdir(), 'dm-profile-')))
mkdirSync(out, { recursive: true })

const key = generateSigningKey()
const root = mkdtempSync(join(tmpdir(), 'dm-profile-nodes-'))
const names = Array.from({ length: 20 }, (_, i) => `bench/f${i}`)
const dm = new DmCluster({
  root,
  n: N,
  basePort: 21000, // below the ephemeral range, as in the bench
  bootstrapOf: Array.from({ length: N }, (_, i) => i === 0 ? [] : [Math.floor(Math.random() * i)]),
  signerPublicKey: encodeBase64Key(key.publicKey),
  names,
  nsPrefix: [],
  // the module tree, not the bundle: a sample's file then names its package
  bin: MODULES_BIN
})
for (const n of dm.nodes) writeFileSync(n.config, readFileSync(n.config, 'utf8').replace('[cluster]\n', `[cluster]\ntransports = ${JSON.stringify(transports)}\n`))
process.env.NODE_OPTIONS = `--import ${HOOK} ${process.env.NODE_OPTIONS ?? ''}`
process.env.DM_PROFILE_DIR = out

const seen = new Map<string, Set<number>>()
const stamps = new Map<string, number>()
async function update (k: number): Promise<void> {
  const name = names[k % names.length]; const content = randomBytes(1024); const timestamp = Date.now() + k
  stamps.set(name, timestamp); seen.set(name, new Set())
  await dm.client(Math.floor(Math.random() * N)).updateFile(signRecord(key, { name, content, timestamp }), content)
}
async function counters (): Promise<Record<string, number>> {
  const sum: Record<string, number> = {}
  for (const n of dm.nodes) for (const [k, v] of Object.entries((await n.client!.getStatus()).counters)) sum[k] = (sum[k] ?? 0) + v
  return sum
}
const toggleProfilers = (pids: number[]): void => { for (const p of pids) process.kill(p, 'SIGUSR2') }

try {
  await dm.startAll()
  await dm.watchAll()
  dm.listen((i, e) => { if (e.kind === 'UPDATED' && stamps.get(e.version.name) === e.version.timestamp) seen.get(e.version.name)?.add(i) })
  await sleep(15_000) // the mesh forms
  const pids = dm.pids()
  for (let k = 0; k < 5; k++) { await update(names.length - 1 - k); await sleep(700) } // warm-up: streams open, code optimised
  await sleep(3_000)
  const c0 = totalCpu(pids); const t0 = Date.now()
  await sleep(5_000)
  const c1 = totalCpu(pids); const t1 = Date.now()
  const idleCores = (c1 - c0) / ((t1 - t0) / 1000)
  console.log(`N=${N}, transports ${transports.join('+')}: idle ${(idleCores / N * 100).toFixed(2)}% of a core per node`)
  toggleProfilers(pids)
  if (idleOnly) {
    await sleep(20_000)
  } else {
    const k0 = await counters()
    const c2 = totalCpu(pids); const t2 = Date.now()
    for (let k = 0; k < UPDATES; k++) { await update(k); await sleep(700) }
    while (!names.slice(0, UPDATES).every(n => seen.get(n)?.size === N)) await sleep(50)
    await sleep(2_000)
    const c3 = totalCpu(pids); const t3 = Date.now()
    const perUpdate = ((c3 - c2) - idleCores * (t3 - t2) / 1000) * 1000 / (UPDATES * N)
    console.log(`CPU per update per node: ${perUpdate.toFixed(2)} ms (with the profiler on, which costs more than the work at small N: compare shares, not this figure)`)
    const k1 = await counters()
    console.log('per update and node: ' + Object.keys(k1).filter(k => k1[k] !== k0[k]).map(k => `${k} ${((k1[k] - (k0[k] ?? 0)) / (UPDATES * N)).toFixed(2)}`).join(', '))
  }
  toggleProfilers(pids)
  await sleep(2_000) // the profiles are written
  printBreakdown(out)
  console.log(`profiles: ${out}`)
} finally {
  await dm.stopAll()
  rmSync(root, { recursive: true, force: true })
}

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

/**
 * Busy samples of all profiles by where the sampled function lives (a package, our file,
 * Node, or native), and under each of the biggest groups its top functions by self time.
 */
function printBreakdown (dir: string, groups = 25, perGroup = 3): void {
  const by = new Map<string, number>()
  const fns = new Map<string, Map<string, number>>()
  let busy = 0
  for (const f of readdirSync(dir).filter(f => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile
    const nodes = new Map(p.nodes.map(n => [n.id, n]))
    p.samples.forEach((s, i) => {
      const { functionName, url, lineNumber } = nodes.get(s)!.callFrame
      if (functionName === '(idle)') return
      const dt = p.timeDeltas[i + 1] ?? 0
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]
      const where = pkg ?? (url.includes('/dist/') ? url.split('/dist/')[1] : url.startsWith('node:') ? 'node' : `(${functionName})`)
      by.set(where, (by.get(where) ?? 0) + dt)
      const fn = `${functionName === '' ? '(anonymous)' : functionName} ${url.split('/').pop() ?? ''}:${lineNumber + 1}`
      const m = fns.get(where) ?? new Map<string, number>()
      m.set(fn, (m.get(fn) ?? 0) + dt)
      fns.set(where, m)
      busy += dt
    })
  }
  console.log(`busy samples by where the code lives (${(busy / 1e6).toFixed(1)} s of CPU in all), with the top functions by self time:`)
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, groups)) {
    console.log(`  ${(v / busy * 100).toFixed(1).padStart(5)}%  ${k}`)
    if (k.startsWith('(')) continue
    for (const [fn, t] of [...fns.get(k)!].sort((a, b) => b[1] - a[1]).slice(0, perGroup)) console.log(`           ${(t / busy * 100).toFixed(1).padStart(5)}%  ${fn}`)
  }
}
