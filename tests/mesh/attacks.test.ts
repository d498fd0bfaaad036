// Hostile peers against a small honest cluster (issue 7, "Hostile peers"): each attack runs
// against 4 honest in-process nodes (star bootstrap, full mesh once peer exchange ran)
// plus one hand-driven rogue (tests/mesh/rogue.ts). Every test measures how long an
// honest update takes to reach all 4 nodes WITHOUT the attacker (baseline) and WITH it,
// in the same test, prints both, and asserts that the attacked number stays within
// 10 × baseline + 5 s (plus the protocol deadline the attack is allowed to cost), that
// the attacker is cut off within bounded time, and that heap growth stays bounded.
//
// The tests wait on conditions; the only sleeps are the attacker's own pacing.
import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Stream } from '@libp2p/interface'
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.js'
import { Rogue } from './rogue.js'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { encodeRecord, signRecord, type SignedRecord } from '../../src/crypto/record.js'
import { DEFAULT_MESH_SETTINGS, PROTOCOLS, type MeshSettings } from '../../src/mesh/settings.js'
import { concat, encodeVarint, frame, u32, u64 } from '../../src/mesh/wire.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const MiB = 1024 * 1024
const D = DEFAULT_MESH_SETTINGS

let cluster: Cluster | undefined
const rogues: Rogue[] = []
let stopAttack: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.allSettled(stopAttack.splice(0).map(async s => await s()))
  await Promise.allSettled(rogues.splice(0).map(async r => await r.stop()))
  await cluster?.close(); cluster = undefined
})

async function rogue (): Promise<Rogue> {
  const r = await Rogue.start()
  rogues.push(r)
  return r
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** 4 honest nodes: h1..h3 bootstrap from h0; waits for the full mesh (peer exchange). */
async function honest (settings: Partial<MeshSettings> = {}): Promise<TestNode[]> {
  cluster = new Cluster({ transports: ['tcp'], settings })
  const nodes = [await cluster.add('h0')]
  for (let i = 1; i < 4; i++) nodes.push(await cluster.add(`h${i}`, { bootstrap: [nodes[0].hostPort] }))
  await connected(nodes, 3)
  return nodes
}

let seq = 0
/** ms from an honest upload (at `from`) until all `nodes` have it. */
async function spread (nodes: TestNode[], from: TestNode, name = 'e.txt'): Promise<number> {
  seq++
  const t0 = performance.now()
  const r = await from.upload({ name, content: bytes(`${name} #${seq} from ${from.name}`), timestamp: Date.now() + seq })
  await converged(r, nodes, 25_000)
  return Math.round(performance.now() - t0)
}

/** Median of 3 spreads, from h3, h2, h1 in turn. */
async function spreads (nodes: TestNode[], name = 'e.txt'): Promise<number> {
  const t: number[] = []
  for (let i = 0; i < 3; i++) t.push(await spread(nodes, nodes[3 - i], name))
  return t.sort((a, b) => a - b)[1]
}

function report (attack: string, base: number, attacked: number, extra = 0, more = ''): void {
  const bound = 10 * base + 5000 + extra
  console.log(`[attacks] ${attack}: convergence baseline ${base} ms, with attacker ${attacked} ms (bound ${bound} ms)${more}`)
  expect(attacked).toBeLessThan(bound)
}

/** heapUsed growth over an attack: peak (sampled every 50 ms) and after a full GC, in MiB. */
class Heap {
  private readonly start: number
  private peak: number
  private readonly timer: NodeJS.Timeout
  constructor () {
    gc()
    this.start = process.memoryUsage().heapUsed
    this.peak = this.start
    this.timer = setInterval(() => { this.peak = Math.max(this.peak, process.memoryUsage().heapUsed) }, 50)
  }

  stop (): { peak: number, after: number, text: string } {
    clearInterval(this.timer)
    gc()
    const peak = Math.round((this.peak - this.start) / MiB)
    const after = Math.round((process.memoryUsage().heapUsed - this.start) / MiB)
    return { peak, after, text: `; heap +${peak} MiB peak, +${after} MiB after GC` }
  }
}

function penalties (nodes: TestNode[]): number[] { return nodes.map(n => n.mesh.stats().peers.penalized) }

/** `node` penalized the rogue, dropped its connection, and refuses a new one before any protocol runs. */
async function cutOff (r: Rogue, node: TestNode, timeout = 15_000): Promise<number> {
  const t0 = performance.now()
  await waitFor(() => node.mesh.stats().peers.penalized > 0 && !r.heldBy(node) && !r.connectedTo(node), `${node.name} cut off the rogue`, [], timeout)
  const took = Math.round(performance.now() - t0)
  let opened = false
  try {
    await r.open(node, PROTOCOLS.peers)
    opened = true
  } catch {}
  expect(opened).toBe(false)
  expect(node.mesh.status().peers.some(p => p.peerId === r.peerId)).toBe(false)
  return took
}

/** `n` records for names no node configures; their signatures are garbage (authorization refuses before verifying). */
function junkRecords (n: number): Uint8Array[] {
  const key = generateSigningKey()
  const template = signRecord(key, { name: 'junk/0', content: bytes('junk') })
  return Array.from({ length: n }, (_, i) => encodeRecord({ ...template, name: `junk/${i}`, signature: randomBytes(64) }))
}

it('flood: thousands of replayed, duplicate and unconfigured-name records (announce and sync) are absorbed in bounded memory and honest updates converge; past the per-stream cap the flooder is cut off', async () => {
  const nodes = await honest()
  const [h0, h1] = nodes
  const base = await spreads(nodes)

  // what a flooder has: an old and the current genuine version of a.txt, and junk names
  const old = await h0.upload({ name: 'a.txt', content: bytes('old a'), timestamp: Date.now() - 60_000 })
  const cur = await h0.upload({ name: 'a.txt', content: bytes('current a'), timestamp: Date.now() })
  await converged(cur, nodes)
  const junk = junkRecords(D.syncMaxRecords)
  const material = [encodeRecord(old), encodeRecord(cur)]
  const pick = (i: number): Uint8Array => i % 4 < 2 ? material[i % 2] : junk[i % junk.length]

  const r = await rogue()
  for (const n of nodes) await r.dial(n)
  await waitFor(() => nodes.every(n => n.mesh.status().peers.some(p => p.peerId === r.peerId)), 'the rogue is a peer of every node')
  const received0 = nodes.map(n => n.mesh.stats().announce.received)
  const heap = new Heap()
  let stop = false
  let sent = 0
  let syncRounds = 0
  const open = new Set<Stream>()
  const stream = async (n: TestNode, protocol: string): Promise<Stream> => {
    const s = await r.open(n, protocol)
    open.add(s)
    void r.gone(s).then(() => open.delete(s))
    return s
  }
  // announce: per node, 4 streams at a time (the per-connection cap), 256 records each (the per-stream cap), back to back
  const pumps = nodes.flatMap(n => Array.from({ length: D.maxInboundStreams.announce }, async (_, p) => {
    let i = p * 997
    while (!stop) {
      const batch = concat(Array.from({ length: D.announceMaxRecords }, () => frame(pick(i++))))
      try {
        const s = await stream(n, PROTOCOLS.announce)
        if (await r.write(s, batch)) sent += D.announceMaxRecords
        await s.close({ signal: AbortSignal.timeout(10_000) }).catch(() => {})
      } catch { await sleep(20) } // attacker's pacing after a reset
    }
  }))
  // sync: per node, 2 streams at a time, each pushing the maximum 65 536 unconfigured-name records
  const junkChunks: Uint8Array[] = []
  for (let i = 0; i < junk.length; i += 1024) junkChunks.push(concat(junk.slice(i, i + 1024).map(frame)))
  const syncPumps = nodes.flatMap(n => Array.from({ length: D.maxInboundStreams.sync }, async () => {
    while (!stop) {
      try {
        const s = await stream(n, PROTOCOLS.sync)
        await r.write(s, frame(concat([randomBytes(32), u32(0)])))
        for (const chunk of junkChunks) if (stop || !await r.write(s, chunk)) break
        await r.write(s, frame(new Uint8Array(0)))
        await s.close({ signal: AbortSignal.timeout(10_000) }).catch(() => {})
        syncRounds++
      } catch { await sleep(20) }
    }
  }))
  const halt = async (): Promise<void> => {
    stop = true
    for (const s of open) s.abort(new Error('attack over'))
    await Promise.allSettled([...pumps, ...syncPumps])
  }
  stopAttack.push(halt)

  const dbg = setInterval(() => console.log('DBG', Date.now() % 100000, sent, syncRounds, JSON.stringify(nodes.map(n => [n.mesh.stats().announce.received, n.mesh.stats().offers, n.mesh.stats().sync.recordsReceived])), Math.round(process.memoryUsage().heapUsed / MiB)), 2000)
  stopAttack.push(async () => { clearInterval(dbg) })
  await waitFor(() => syncRounds >= 2 && sent >= 8 * D.announceMaxRecords, 'the flood is under way', [], 20_000)
  console.log('DBG under way')
  const attacked = await spreads(nodes)
  await halt()
  const mem = heap.stop()
  const absorbed = nodes.reduce((a, n, i) => a + n.mesh.stats().announce.received - received0[i], 0)
  report('flood (announce + sync)', base, attacked, 0,
    `${mem.text}; ${sent} records announced, ${absorbed} read by the nodes, ${syncRounds} sync floods of ${junk.length} records`)

  // replays, duplicates and names a node does not configure are not punishable (config skew, lagging peers)
  expect(penalties(nodes)).toEqual([0, 0, 0, 0])
  expect(mem.peak).toBeLessThan(400)
  expect(mem.after).toBeLessThan(32)
  for (const n of nodes) expect(n.replica.get('junk/0')).toBeUndefined()

  // one record past the per-stream cap: cut off
  await r.announce(h1, junk.slice(0, D.announceMaxRecords + 1))
  const took = await cutOff(r, h1)
  console.log(`[attacks] flood past announceMaxRecords=${D.announceMaxRecords}: cut off in ${took} ms`)
})

it('stream flood: 10 × maxInboundStreams at once on every protocol — the surplus is reset at once, the rest cut at the protocol deadline; honest updates converge', async () => {
  const timeouts = { announceTimeout: 10_000, fetchHeaderTimeout: 10_000, syncTimeout: 10_000, peerExchangeTimeout: 10_000 }
  const nodes = await honest(timeouts) // syncTimeout: 30 s by default, 10 s here to keep the test short
  const [h0] = nodes
  const base = await spreads(nodes)
  const r = await rogue()
  const limits = D.maxInboundStreams
  const deadline: Record<keyof typeof limits, number> = {
    announce: timeouts.announceTimeout, fetch: timeouts.fetchHeaderTimeout, sync: timeouts.syncTimeout, peers: timeouts.peerExchangeTimeout
  }
  const heap = new Heap()
  const t0 = Date.now()
  const opened: Array<{ kind: keyof typeof limits, stream: Stream, gone: Promise<number> }> = []
  let refused = 0
  await Promise.all((Object.keys(limits) as Array<keyof typeof limits>).flatMap(kind =>
    Array.from({ length: 10 * limits[kind] }, async () => {
      try {
        const stream = await r.open(h0, PROTOCOLS[kind])
        opened.push({ kind, stream, gone: r.gone(stream) })
      } catch { refused++ }
    })))
  // within 3 s at most maxInboundStreams per protocol survive; the surplus is reset
  const alive = (kind: keyof typeof limits): number => opened.filter(o => o.kind === kind && o.stream.status === 'open').length
  await waitFor(() => (Object.keys(limits) as Array<keyof typeof limits>).every(k => alive(k) <= limits[k]), 'only maxInboundStreams per protocol survive', [], 3_000)
  const survivors = Object.fromEntries((Object.keys(limits) as Array<keyof typeof limits>).map(k => [k, alive(k)]))

  // honest updates while the rogue holds every slot it can get
  const attacked = await spreads(nodes)

  // and the survivors are cut at their protocol deadline
  const lifetimes = await Promise.all(opened.map(async o => ({ kind: o.kind, ms: await o.gone - t0 })))
  for (const { kind, ms } of lifetimes) expect(ms).toBeLessThan(deadline[kind] + 5_000)
  const mem = heap.stop()
  report('stream flood', base, attacked, 0,
    `${mem.text}; ${opened.length + refused} streams opened, survivors ${JSON.stringify(survivors)}, ` +
    `longest lifetime ${JSON.stringify(Object.fromEntries((Object.keys(limits) as Array<keyof typeof limits>).map(k => [k, Math.max(...lifetimes.filter(l => l.kind === k).map(l => l.ms))])))} ms`)
  expect(mem.after).toBeLessThan(32)
  // nothing of the rogue is left open on h0
  await waitFor(() => h0.mesh.libp2p.getConnections().filter(c => c.remotePeer.toString() === r.peerId).every(c => c.streams.length === 0),
    'no stream of the rogue left on h0', [], 5_000)
  expect(penalties(nodes)).toEqual([0, 0, 0, 0]) // opening streams is not an offence: the cap and the deadlines bound it
})
