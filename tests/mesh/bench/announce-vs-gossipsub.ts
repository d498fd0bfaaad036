// Measurement behind docs/DECISIONS.md "Eager spread: hand-made push, not gossipsub".
// Runs N bare libp2p nodes (TCP, loopback, random graph) in this process and spreads M
// signed records (~400 bytes) from random nodes, once with the mesh's announce protocol
// (src/mesh/announce.ts: forward after verifying, to every connected peer) and once with
// @libp2p/gossipsub (validator verifies, then gossipsub forwards to its mesh). Content
// fetch is left out: both would fetch the same way.
//
//   npx vite-node tests/mesh/bench/announce-vs-gossipsub.ts [N] [M]
import '../../../src/polyfill.ts'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import pino from 'pino'
import { generateSigningKey } from '../../../src/crypto/keys.js'
import { decodeRecord, encodeRecord, signRecord, verifyRecordSignature, type SignedRecord } from '../../../src/crypto/record.js'
import { Announcer, type Arrival } from '../../../src/mesh/announce.js'
import { DEFAULT_MESH_SETTINGS, PROTOCOLS } from '../../../src/mesh/settings.js'
import type { MeshLibp2p } from '../../../src/mesh/node.js'

const N = Number(process.argv[2] ?? 30)
const M = Number(process.argv[3] ?? 100)
const DIALS = 4 // each node dials this many random others (average degree ≈ 8, as targetPeers)
const TOPIC = 'data-mesher/records'
const WARMUP = 3000
const log = pino({ level: 'silent' })
const key = generateSigningKey()

type Mode = 'push' | 'gossipsub'

interface Node { lib: Libp2p<any>, seen: Map<string, number>, send: (r: SignedRecord) => Promise<void> }

let wake: (() => void) | undefined
function mark (seen: Map<string, number>, k: string): void {
  if (seen.has(k)) return
  seen.set(k, performance.now())
  wake?.()
}

async function makeLibp2p (withGossip: boolean): Promise<Libp2p<any>> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 1000, maxConnections: 64 },
    services: (withGossip
      ? { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false, msgIdFn: (m) => m.data.subarray(-64) }) }
      : { identify: identify() }) as Record<string, (components: any) => unknown>
  })
}

const sigKey = (r: SignedRecord): string => Buffer.from(r.signature).toString('hex')

async function build (mode: Mode): Promise<Node[]> {
  const nodes: Node[] = []
  for (let i = 0; i < N; i++) {
    const lib = await makeLibp2p(mode === 'gossipsub')
    const seen = new Map<string, number>()
    const node: Node = { lib, seen, send: async () => {} }
    if (mode === 'push') {
      const onRecord = (r: SignedRecord, from: PeerId): Arrival => {
        const k = sigKey(r)
        if (seen.has(k)) return 'duplicate'
        if (!verifyRecordSignature(r)) return 'dropped'
        mark(seen, k)
        announcer.broadcast(r, undefined, from.toString())
        return 'new'
      }
      const ctx = { libp2p: lib as unknown as MeshLibp2p, settings: DEFAULT_MESH_SETTINGS, log, punish: () => {}, admits: () => true }
      const announcer: Announcer = new Announcer(ctx, { onRecord, judgeNotice: () => 'stale', forGraft: async () => undefined })
      await lib.handle(PROTOCOLS.announce, announcer.handle)
      node.send = async (r) => { seen.set(sigKey(r), performance.now()); announcer.broadcast(r) }
    } else {
      const ps = lib.services.pubsub as GossipSub
      ps.subscribe(TOPIC)
      ps.topicValidators.set(TOPIC, (_peer, msg) => {
        const r = decodeRecord(msg.data)
        return verifyRecordSignature(r) ? TopicValidatorResult.Accept : TopicValidatorResult.Reject
      })
      ps.addEventListener('message', (evt) => {
        mark(seen, sigKey(decodeRecord(evt.detail.data)))
      })
      node.send = async (r) => { seen.set(sigKey(r), performance.now()); await ps.publish(TOPIC, encodeRecord(r)) }
    }
    nodes.push(node)
  }
  for (const [i, n] of nodes.entries()) {
    const others = nodes.filter((_, j) => j !== i).sort(() => Math.random() - 0.5).slice(0, DIALS)
    for (const o of others) await n.lib.dial(o.lib.getMultiaddrs()[0]).catch(() => {})
  }
  return nodes
}

function pct (a: number[], p: number): number {
  const s = [...a].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]
}

async function run (mode: Mode): Promise<void> {
  const nodes = await build(mode)
  const degree = nodes.reduce((a, n) => a + n.lib.getPeers().length, 0) / N
  await new Promise(resolve => setTimeout(resolve, WARMUP)) // identify done, gossipsub meshes formed (heartbeat 1 s)
  const times: number[] = []
  let missed = 0
  let deliveries = 0
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  for (let m = 0; m < M; m++) {
    const r = signRecord(key, { name: 'bench', content: Buffer.from(`v${m}`), timestamp: Date.now() + m })
    const from = nodes[Math.floor(Math.random() * N)]
    const t0 = performance.now()
    await from.send(r)
    const k = sigKey(r)
    const deadline = t0 + 5000
    while (nodes.some(n => !n.seen.has(k)) && performance.now() < deadline) {
      await new Promise<void>(resolve => { wake = resolve; setTimeout(resolve, 50) })
    }
    deliveries += nodes.filter(n => n.seen.has(k)).length
    if (nodes.some(n => !n.seen.has(k))) { missed++; continue }
    times.push(Math.max(...nodes.map(n => n.seen.get(k)!)) - t0)
  }
  const cpu = process.cpuUsage(cpu0)
  const wall = performance.now() - wall0
  const ms = (v: number | undefined): string => v === undefined ? '-' : `${v.toFixed(1)} ms`
  console.log(`${mode.padEnd(9)} N=${N} degree≈${degree.toFixed(1)} M=${M}: to all nodes p50 ${ms(pct(times, 50))}, p99 ${ms(pct(times, 99))}, ` +
    `first ${ms(times[0])}, records not at every node after 5 s: ${missed}, node deliveries ${(100 * deliveries / (N * M)).toFixed(1)}%, cpu ${((cpu.user + cpu.system) / 1000 / M).toFixed(1)} ms/record (all nodes), wall ${(wall / 1000).toFixed(1)} s`)
  await Promise.all(nodes.map(async n => await n.lib.stop()))
}

await run('push')
await run('gossipsub')
await run('push')
await run('gossipsub')
