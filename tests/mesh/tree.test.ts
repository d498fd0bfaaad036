// The broadcast tree (announce/3.0.0, src/mesh/proto/tree.ts) in a real 10-node
// cluster: once duplicates have pruned it, a node receives about one full copy of each
// update; when the tree is cut during a broadcast (eager neighbours stopped, links hung
// up), the notices and anti-entropy still bring every update to every node.
import { recordId } from '../../src/crypto/record.js'
import { afterEach, describe, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.js'
import { RogueSet, type AnnounceLog, type Rogue } from './rogue.js'
import type { MeshStats } from '../../src/mesh/index.js'
import { encodeGraft, encodeIhave } from '../../src/mesh/announce.js'
import { DEFAULT_MESH_SETTINGS, PROTOCOLS } from '../../src/mesh/settings.js'
import { frame } from '../../src/mesh/wire.js'
import { signRecord, type SignedRecord } from '../../src/crypto/record.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const N = 10
const NAMES = ['a.txt', 'b.txt', 'c.txt']

async function tenNodes (syncInterval: number, settings: Partial<typeof DEFAULT_MESH_SETTINGS> = {}): Promise<TestNode[]> {
  cluster = new Cluster({ transports: ['tcp'], syncInterval, settings })
  const nodes: TestNode[] = [await cluster.add('n0')]
  for (let i = 1; i < N; i++) nodes.push(await cluster.add(`n${i}`, { bootstrap: [nodes[i % 3 === 0 ? 0 : i - 1].hostPort] }))
  await connected(nodes, 4, 60_000)
  return nodes
}

let k = 0
/** One update at `origin` (random by default), awaited on every node in `on`. */
async function update (nodes: TestNode[], on = nodes, origin = nodes[Math.floor(Math.random() * nodes.length)]): Promise<void> {
  const r = await origin.upload({ name: NAMES[k % NAMES.length], content: bytes(`update ${k++} from ${origin.name}`) })
  await converged(r, on, 30_000)
}

const sum = (stats: MeshStats[], f: (s: MeshStats) => number): number => stats.reduce((a, s) => a + f(s), 0)

it('after the tree settles, each node receives about one full copy of each update (flooding sent one per peer)', async () => {
  const nodes = await tenNodes(60_000) // anti-entropy out of the way: the tree alone spreads
  for (let i = 0; i < 8; i++) await update(nodes) // warm-up: duplicates prune the links
  const before = nodes.map(n => n.mesh.stats())
  const UPDATES = 20
  for (let i = 0; i < UPDATES; i++) await update(nodes)
  await new Promise(resolve => setTimeout(resolve, 500)) // late duplicates and notices are counted too
  const after = nodes.map(n => n.mesh.stats())
  const delta = (f: (s: MeshStats) => number): number => sum(after, f) - sum(before, f)
  // each update reaches N - 1 nodes
  const fullPerNode = delta(s => s.announce.fullReceived) / (UPDATES * (N - 1))
  const duplicatesPerNode = delta(s => s.announce.duplicates) / (UPDATES * (N - 1))
  const degree = nodes.reduce((a, n) => a + n.mesh.status().peers.length, 0) / N
  console.log(`tree: ${fullPerNode.toFixed(2)} full copies and ${duplicatesPerNode.toFixed(2)} duplicates per update per node ` +
    `(mean degree ${degree.toFixed(1)}; ${delta(s => s.announce.ihaveSent)} notices in ${delta(s => s.announce.ihaveBytes)} bytes, ` +
    `${delta(s => s.announce.grafts)} grafts, ${delta(s => s.announce.prunes)} prunes)`)
  expect(fullPerNode).toBeGreaterThanOrEqual(0.9) // the tree, not anti-entropy, delivered
  // measured 1.00 and 0.00 (the 2.0.0 flood: 8.8 full copies); slack for grafts that a loaded host makes early
  expect(fullPerNode).toBeLessThan(2)
  expect(duplicatesPerNode).toBeLessThan(1)
  expect(delta(s => s.announce.ihaveSent)).toBeGreaterThan(0)
  expect(degree).toBeGreaterThanOrEqual(4) // flooding would have sent each node about degree - 1 copies
  expect(sum(after, s => s.peers.penalized)).toBe(0)

  // Updates one at a time, each notice sent before the next update: a notice waits
  // announceIhaveDelay, and by then the end of a lazy link that got the version last has
  // heard of it from the other end, so it does not answer with a notice of its own. (Sent
  // at once, as notices were first, each lazy link carried one each way: ~2 per update.)
  const lazyLinks = nodes.reduce((a, n) => a + n.mesh.links().lazy.length, 0) / 2
  const sentBefore = sum(nodes.map(n => n.mesh.stats()), s => s.announce.ihaveSent)
  const ONE_BY_ONE = 10
  for (let i = 0; i < ONE_BY_ONE; i++) {
    await update(nodes)
    await new Promise(resolve => setTimeout(resolve, DEFAULT_MESH_SETTINGS.announceIhaveDelay + 150))
  }
  const perLink = (sum(nodes.map(n => n.mesh.stats()), s => s.announce.ihaveSent) - sentBefore) / ONE_BY_ONE / lazyLinks
  console.log(`tree: ${lazyLinks} lazy links; one update at a time: ${perLink.toFixed(2)} notices per lazy link per update`)
  expect(perLink).toBeGreaterThan(0.5) // every lazy link still hears of every version
  expect(perLink).toBeLessThan(1.5) // measured in-process: 1.91–1.98 with notices sent at once (dd654fc), 1.43–1.76 after a fixed 250 ms wait, 1.11–1.19 with the wait jittered
}, 240_000)

it('10 nodes, eager neighbours stopped during a broadcast: the notices graft the tree back and every running node gets every update, with no anti-entropy round', async () => {
  // No periodic sync: only the tree can repair. Notices go out after 20 ms here, not the
  // default 250: this test is about the graft, and with the default wait the survivors'
  // new connections (eager from the start, with a sync on connect) can bring the update
  // before a notice plus announceGraftTimeout would, leaving nothing to graft (it failed
  // so in CI; the next test checks delivery under cuts with the default settings).
  const nodes = await tenNodes(60_000, { announceIhaveDelay: 20 })
  for (let i = 0; i < 8; i++) await update(nodes)
  const graftsBefore = sum(nodes.map(n => n.mesh.stats()), s => s.announce.grafts)
  for (let round = 0; round < 3; round++) {
    const running = nodes.filter(n => n.running)
    // an origin with lazy links left to notify, and (at most three of) its eager neighbours to cut
    const origin = running.find(n => n.mesh.links().lazy.length > 0 && n.mesh.links().eager.length > 0) ?? running[0]
    const cut = running.filter(n => origin.mesh.links().eager.includes(n.peerId)).slice(0, 3)
    const rest = running.filter(n => !cut.includes(n))
    // the eager links die as the update goes out: stopped first, so that on a loaded host the
    // update cannot slip through them before they go (then no graft would be needed)
    await Promise.all(cut.map(async n => await n.stop()))
    const r = origin.upload({ name: NAMES[round % NAMES.length], content: bytes(`cut round ${round}`) })
    await r
    const t0 = Date.now()
    await converged(await r, rest, 10_000)
    const took = Date.now() - t0
    console.log(`round ${round}: ${cut.length} eager neighbours of ${origin.name} stopped; ${rest.length} running nodes had the update ${took} ms later`)
    // a graft is due 250 ms after the first notice; the next sync round would be a minute away
    expect(took).toBeLessThan(3_000)
    await Promise.all(cut.map(async n => await n.start())) // back for the next round (they catch up by sync on connect)
    await connected(nodes, 3, 60_000)
    await converged(await r, nodes, 30_000)
  }
  expect(sum(nodes.map(n => n.mesh.stats()), s => s.announce.grafts)).toBeGreaterThan(graftsBefore)
}, 300_000)

it('10 nodes, links hung up during a broadcast: every node has every update within about one sync interval', async () => {
  const SYNC = 1_500
  const nodes = await tenNodes(SYNC)
  for (let i = 0; i < 8; i++) await update(nodes)
  for (let round = 0; round < 5; round++) {
    const origin = nodes[Math.floor(Math.random() * N)]
    const eager = nodes.filter(n => origin.mesh.links().eager.includes(n.peerId))
    const r = origin.upload({ name: NAMES[round % NAMES.length], content: bytes(`hang-up round ${round}`) })
    // every link of every eager neighbour of the origin goes down while the update is on its way
    const hangUps = eager.flatMap(n => n.mesh.libp2p.getPeers().map(async p => await n.mesh.libp2p.hangUp(p).catch(() => {})))
    await Promise.all([r, ...hangUps])
    const t0 = Date.now()
    await converged(await r, nodes, 20_000)
    const took = Date.now() - t0
    console.log(`round ${round}: links of ${eager.length} eager neighbours of ${origin.name} cut; all ${N} nodes had the update ${took} ms later`)
    expect(took).toBeLessThan(3 * SYNC + 2_000) // about one sync interval, generous on a loaded host
    await connected(nodes, 3, 60_000)
  }
  expect(sum(nodes.map(n => n.mesh.stats()), s => s.peers.penalized)).toBe(0)
}, 300_000)

describe('hostile peers and the tree messages', () => {
  const rogues = new RogueSet()
  afterEach(async () => { await rogues.stopAll() })

  /** A rogue that records every announce message a node sends it. */
  async function listeningRogue (): Promise<{ rogue: Rogue, got: AnnounceLog }> {
    const rogue = await rogues.start()
    return { rogue, got: await rogue.listenAnnounce() }
  }

  it('B1: GRAFT repeated for the same version brings it once per connection (no amplification: ~70 bytes asking for up to 64 KiB)', async () => {
    cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
    const n0 = await cluster.add('n0')
    const record = await n0.upload({ name: 'a.txt', content: new Uint8Array(60 * 1024).fill(3) })
    const { rogue, got } = await listeningRogue()
    const graft = frame(encodeGraft('a.txt', recordId(record)))
    await rogue.send(n0, PROTOCOLS.announce, Array.from({ length: 50 }, () => graft))
    await waitFor(() => got.full.length >= 1, 'n0 answered the graft')
    await new Promise(resolve => setTimeout(resolve, 1_000)) // room for more answers, if any were coming
    expect(got.full.length).toBe(1)
    expect(Buffer.from(recordId(got.full[0].record)).equals(recordId(record))).toBe(true)
    expect(n0.mesh.stats().peers.penalized).toBe(0) // a GRAFT is no offence
    expect(n0.mesh.links().eager).toContain(rogue.peerId)
  })

  it('B2: notices of unaccepted names, older versions or the current version are ignored; one of a newer version lacking here is grafted once, after the graft timeout', async () => {
    cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
    const n0 = await cluster.add('n0')
    const current = await n0.upload({ name: 'a.txt', content: bytes('current') })
    const { rogue, got } = await listeningRogue()
    const older = signRecord(cluster.signer, { name: 'a.txt', content: bytes('older'), timestamp: current.timestamp - 1 })
    const junk = signRecord(cluster.signer, { name: 'not-configured.txt', content: bytes('x'), timestamp: current.timestamp + 1 })
    const newer = signRecord(cluster.signer, { name: 'a.txt', content: bytes('newer'), timestamp: current.timestamp + 1 })
    const notices = (rs: SignedRecord[]): Uint8Array => frame(encodeIhave(rs))
    const t0 = Date.now()
    // a flood of the same notices is one wait and one graft
    await rogue.send(n0, PROTOCOLS.announce, [notices([older, junk, current]), ...Array.from({ length: 20 }, () => notices([newer]))])
    await waitFor(() => got.grafts.length >= 1, 'n0 grafted the rogue for the newer version')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(DEFAULT_MESH_SETTINGS.announceGraftTimeout - 20)
    await new Promise(resolve => setTimeout(resolve, 1_000))
    expect(got.grafts).toEqual([{ name: 'a.txt', id: recordId(newer) }])
    expect(n0.mesh.stats().announce.ihaveReceived).toBe(23)
    expect(n0.mesh.stats().peers.penalized).toBe(0)
  })
})
