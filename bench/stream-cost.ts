// `npm run build && node dist/bench/stream-cost.js [--ops 100 --batches 5 --listed 10]`:
// the CPU (both ends, one process) of what a new connection costs the daemons at start
// (issue 22): the connection itself (TCP + Noise + Yamux + identify both ways, then hung
// up), a /ipfs/ping stream (the ping the daemon ran at open, from both ends), and a peer
// exchange (/data-mesher/peers/1.0.0, asked and answered by the daemon's own
// PeerExchange) whose answerer holds `--listed` other peers. The nodes are the daemon's
// (createNode of src/mesh/node.ts, TCP, default settings) on loopback. Batches of each
// kind take turns so that all see the same host; the figure is the median batch's CPU
// per operation (`--noise library` runs Noise with the library's crypto instead of
// src/mesh/noise-crypto.ts). A start's share: multiply by how many a start does (bench/start.ts).
import '../src/polyfill.js'
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import type { PeerId } from '@libp2p/interface'
import { generateSigningKey } from '../src/crypto/keys.js'
import { identityFromKey } from '../src/mesh/identity.js'
import { createNode, type MeshLibp2p } from '../src/mesh/node.js'
import { Admission } from '../src/mesh/admission.js'
import { DEFAULT_MESH_SETTINGS, PROTOCOLS } from '../src/mesh/settings.js'
import { PeerExchange } from '../src/mesh/peer-exchange.js'
import type { Config } from '../src/config/config.js'
import { noiseCrypto } from '../src/mesh/noise-crypto.js'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { median } from './lib/stats.js'

function arg (name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback
}
const OPS = Number(arg('ops', '100'))
const BATCHES = Number(arg('batches', '5'))
const LISTED = Number(arg('listed', '10'))
/** --only KIND[,KIND]: measure only these (e.g. under --cpu-prof) */
const ONLY = arg('only', '').split(',').filter(k => k !== '')

// --noise library: Noise with the library's own crypto (before src/mesh/noise-crypto.ts), for an A/B
if (arg('noise', 'ours') === 'library') Object.assign(noiseCrypto, defaultCrypto)

const s = DEFAULT_MESH_SETTINGS
const log = pino({ level: 'silent' })
const config = { cluster: { transports: ['tcp'], interfaces: ['lo'], port: 0 } } as unknown as Config

async function node (): Promise<MeshLibp2p> {
  const identity = identityFromKey(generateSigningKey())
  const n = await createNode(config, identity, new Admission([], identity.peerId.toString()), s)
  await n.start()
  return n
}

function exchange (n: MeshLibp2p): PeerExchange {
  const px = new PeerExchange({ libp2p: n, settings: s, log, punish: () => {}, admits: () => true })
  void n.handle(PROTOCOLS.peers, px.handle, { maxInboundStreams: s.maxInboundStreams.peers })
  return px
}

const a = await node()
const b = await node()
const others = await Promise.all(Array.from({ length: LISTED }, async () => await node()))
const pxA = exchange(a)
exchange(b)
for (const o of others) await o.dial(b.getMultiaddrs())

/** resolves once `n` saw identify of `peer` complete */
async function identified (n: MeshLibp2p, peer: PeerId): Promise<void> {
  await new Promise<void>(resolve => {
    const on = (e: CustomEvent<{ peerId: PeerId }>): void => { if (e.detail.peerId.equals(peer)) { n.removeEventListener('peer:identify', on); resolve() } }
    n.addEventListener('peer:identify', on)
  })
}

const all: Record<string, () => Promise<void>> = {
  connection: async () => {
    const both = Promise.all([identified(a, b.peerId), identified(b, a.peerId)])
    await a.dial(b.getMultiaddrs())
    await both
    await a.hangUp(b.peerId)
  },
  ping: async () => { await a.services.ping.ping(b.peerId) },
  'peer-exchange': async () => { await pxA.ask(b.peerId) }
}
const kinds = Object.fromEntries(Object.entries(all).filter(([k]) => ONLY.length === 0 || ONLY.includes(k)))

const perOp = new Map<string, number[]>(Object.keys(kinds).map(k => [k, []]))
for (let batch = 0; batch < BATCHES; batch++) {
  for (const [kind, op] of Object.entries(kinds)) {
    if (kind !== 'connection' && a.getConnections(b.peerId).length === 0) {
      const both = Promise.all([identified(a, b.peerId), identified(b, a.peerId)])
      await a.dial(b.getMultiaddrs())
      await both
    }
    if (kind === 'connection') await a.hangUp(b.peerId)
    await op() // warm
    const c0 = process.cpuUsage(); const t0 = performance.now()
    for (let i = 0; i < OPS; i++) await op()
    const c = process.cpuUsage(c0); const t = performance.now() - t0
    perOp.get(kind)!.push((c.user + c.system) / 1000 / OPS)
    console.log(`batch ${batch + 1} ${kind}: ${((c.user + c.system) / 1000 / OPS).toFixed(3)} ms CPU per op (${(t / OPS).toFixed(2)} ms wall)`)
  }
}
if (kinds['peer-exchange'] !== undefined && pxA.counters.asked < OPS) throw new Error(`peer exchange: only ${pxA.counters.asked} answers`)
console.log(`\nmedian [min–max] of ${BATCHES} batches of ${OPS}, CPU of both ends per operation (peer exchange answered with ${LISTED} peers listed):`)
for (const [kind, xs] of perOp) console.log(`${kind.padEnd(14)} ${median(xs).toFixed(3)} ms [${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}]`)
await Promise.all([a, b, ...others].map(async n => await n.stop()))
