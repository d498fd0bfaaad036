// A fleet in the middle of a rolling upgrade: nodes that speak announce/3.2.0 (the reshape
// flood's MARK and WANT) beside nodes of the older release, which handle announce/3.1.0
// and 3.0.0 only and have no reshape flood (MeshOptions.announceProtocols and
// announceReshapeInterval 0 stand for it). Ten nodes: seven in this process (three of
// them old) and three 3.2.0 daemons in processes of their own, so that they can be killed
// (SIGKILL: their links are LOST at the nodes that stay, src/mesh/link-ends.ts), which is
// what makes a 3.2.0 node want a reshape. The daemons admit n0 only (allowed_nodes): their
// one link each is a tree link, so n0 surely loses three eager links (in a full mesh the
// daemons' links to n0 may be lazy by then, and whether n0 wants a reshape would be
// chance). No anti-entropy (a sync interval of 10 min): the tree alone spreads. Checked: every node gets every update; a link between a 3.2.0
// node and an old one speaks 3.1.0 both ways; after the kill the 3.2.0 part floods, the
// old nodes get the flood's copies in 3.1.0's format (no flags byte, which an old node
// would read as a broken record) and every update still; no node punishes another.
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.js'
import { tapFulls, type TappedFull } from './announce-tap.js'
import { startNode, type RunningNode } from '../helpers/daemon.ts'
import { encodeBase64Key } from '../../src/crypto/keys.js'
import { recordId, type SignedRecord } from '../../src/crypto/record.js'
import { decodeFull, encodeFull, formatOf } from '../../src/mesh/announce.js'
import { readIdentity } from '../../src/mesh/identity.js'
import { PROTOCOLS } from '../../src/mesh/settings.js'
import { WireError } from '../../src/mesh/wire.js'
import type { Config } from '../../src/config/config.js'

let cluster: Cluster | undefined
const daemons: RunningNode[] = []
afterEach(async () => {
  await Promise.allSettled(daemons.splice(0).map(async d => await d.stop('SIGKILL')))
  await cluster?.close()
  cluster = undefined
})

const NAMES = ['a.txt', 'b.txt', 'c.txt']
/** the older release: announce/3.1.0 and 3.0.0, no reshape flood */
const OLD = { announceProtocols: [PROTOCOLS.announceHops, PROTOCOLS.announce], settings: { announceReshapeInterval: 0 } }
const isAnnounce = (protocol: string | undefined): boolean => protocol?.startsWith('/data-mesher/announce/') === true

let k = 0
async function update (origin: TestNode, nodes: TestNode[]): Promise<SignedRecord> {
  const r = await origin.upload({ name: NAMES[k % NAMES.length], content: bytes(`update ${k++} from ${origin.name}`) })
  await converged(r, nodes, 30_000)
  return r
}

it('3.2.0 and 3.1.0 nodes in one fleet: 3.1.0 on the mixed links, every update by the tree, the flood after a kill reaches the old nodes unflagged, nobody punished', async () => {
  // a peer target above the fleet: no link is trimmed (n0 has 9 peers)
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 600_000, settings: { targetPeers: 10 } })
  const x = await cluster.add('n0') // 3.2.0: the origin, whose eager neighbours are killed
  const nodes: TestNode[] = [x]
  for (let i = 1; i < 7; i++) nodes.push(await cluster.add(`n${i}`, { bootstrap: [x.hostPort], ...(i % 2 === 0 ? OLD : {}) }))
  const old = nodes.filter((_, i) => i > 0 && i % 2 === 0)
  const fresh = nodes.filter(n => !old.includes(n))
  const oldIds = new Set(old.map(n => n.peerId))
  // what the old nodes read on their announce streams, as the bytes came
  const tapped = new Map<TestNode, TappedFull[]>(old.map(n => [n, []]))
  for (const n of old) for (const p of [PROTOCOLS.announceHops, PROTOCOLS.announce]) await tapFulls(n, p, tapped.get(n)!)

  // three 3.2.0 daemons (the built CLI), neighbours of n0 only
  const files = Object.fromEntries(NAMES.map(n => [n, [encodeBase64Key(cluster!.signer.publicKey)]]))
  const daemonCluster = { transports: ['tcp'], interfaces: ['lo'], profile: 'test', sync_interval: '10m', bootstrap_nodes: [x.hostPort], allowed_nodes: [x.mesh.status().publicKey] }
  for (let i = 0; i < 3; i++) daemons.push(await startNode({ files, logLevel: 'warn', cluster: daemonCluster }))
  const victims = await Promise.all(daemons.map(async d => (await readIdentity({ stateDir: d.stateDir, cluster: {} } as unknown as Config)).peerId.toString()))
  await connected(nodes, 4, 60_000)
  await waitFor(() => victims.every(v => x.mesh.status().peers.some(p => p.peerId === v)), 'n0 took the three daemons', [], 60_000)

  // (1) the tree, from n0: its links to its neighbours are the shortest paths, so they stay eager
  let last: SignedRecord | undefined
  for (let i = 0; i < 6; i++) last = await update(x, nodes)
  for (const d of daemons) {
    await waitFor(async () => (await d.client.getFile(last!.name).catch(() => undefined))?.content.toString() === `update ${k - 1} from n0`, 'a daemon has the last update')
  }
  for (let i = 0; i < 6; i++) await update(nodes[(i + 1) % nodes.length], nodes) // every in-process node an origin, old ones too

  // (2) the protocol each link negotiated, at both ends: 3.2.0 only between two 3.2.0 nodes
  let mixed = { oldToNew: 0, newToOld: 0 }
  for (const n of nodes) {
    for (const c of n.mesh.libp2p.getConnections()) {
      const peerOld = oldIds.has(c.remotePeer.toString())
      for (const s of c.streams.filter(s => isAnnounce(s.protocol))) {
        const want = old.includes(n) || peerOld ? PROTOCOLS.announceHops : PROTOCOLS.announceReshape
        expect(s.protocol, `${n.name} ${s.direction} with ${c.remotePeer.toString()}`).toBe(want)
        if (old.includes(n) && !peerOld) mixed = s.direction === 'outbound' ? { ...mixed, oldToNew: mixed.oldToNew + 1 } : { ...mixed, newToOld: mixed.newToOld + 1 }
      }
    }
  }
  expect(mixed.oldToNew).toBeGreaterThan(0)
  expect(mixed.newToOld).toBeGreaterThan(0)
  // no flood yet: no link was lost
  expect(nodes.map(n => n.mesh.stats().announce.reshapes + n.mesh.stats().announce.reshapesFollowed)).toEqual(nodes.map(() => 0))

  // the daemons punished nobody either (they are killed next); they read their copies
  for (const d of daemons) {
    const counters = (await d.client.getStatus()).counters
    expect(Object.entries(counters).filter(([key, v]) => (key === 'peers.penalized' || key.startsWith('punishments.')) && Number(v) > 0)).toEqual([])
    expect(Number(counters['announce.full_received'])).toBeGreaterThan(0)
  }

  // (3) n0's eager neighbours killed: lost links, and n0 wants a reshape
  expect(victims.filter(v => x.mesh.links().eager.includes(v))).toHaveLength(3)
  const lostBefore = x.mesh.stats().announce.linksLost
  for (const d of daemons) d.proc.kill('SIGKILL')
  await waitFor(() => x.mesh.stats().announce.linksLost >= lostBefore + 3, 'n0 saw the three links lost')
  for (const taps of tapped.values()) taps.length = 0
  const flooded = await update(x, nodes)
  expect(x.mesh.stats().announce.reshapes).toBe(1) // n0 flooded its next version
  expect(fresh.slice(1).some(n => n.mesh.stats().announce.reshapesFollowed > 0)).toBe(true) // a 3.2.0 neighbour flooded it on
  expect(old.map(n => n.mesh.stats().announce.reshapes + n.mesh.stats().announce.reshapesFollowed)).toEqual(old.map(() => 0))

  // The flood's copies at the old nodes: n0 sends its flooded version to every peer in
  // full, each a copy its core marks (the flood's); to an old node it goes on a 3.1.0
  // stream, as a 3.1.0 FULL. A flags byte there would be read as the hop count
  // and shift the record by a byte: a broken record, a protocol violation.
  expect(() => decodeFull(encodeFull(flooded, 1, true), 'hops')).toThrow(WireError)
  const id = Buffer.from(recordId(flooded))
  const isFlooded = (t: TappedFull): boolean => Buffer.from(recordId(decodeFull(t.head, formatOf(t.protocol)).record)).equals(id)
  const neighbours = old.filter(n => n.mesh.status().peers.some(p => p.peerId === x.peerId))
  await waitFor(() => neighbours.every(n => tapped.get(n)!.some(t => t.from === x.peerId && isFlooded(t))), 'every old neighbour of n0 read its flood copy')
  let fromNew = 0
  for (const [n, taps] of tapped) {
    for (const t of taps) {
      expect(t.protocol, `${n.name} read a FULL on`).toBe(PROTOCOLS.announceHops)
      expect(() => decodeFull(t.head, 'hops'), `${n.name}: a FULL from ${t.from}`).not.toThrow()
      if (!oldIds.has(t.from) && isFlooded(t)) fromNew++
    }
  }

  // and the tree goes on, every in-process node an origin once more
  for (let i = 0; i < nodes.length; i++) await update(nodes[i], nodes)

  for (const n of nodes) {
    const s = n.mesh.stats()
    expect(s.sync.recordsReceived, `${n.name}: records by anti-entropy`).toBe(0)
    expect(s.peers.penalized, `${n.name}: peers penalized`).toBe(0)
    expect(s.punishments, `${n.name}: punishments`).toEqual({})
  }
  console.log(`mixed fleet: ${fromNew} FULLs of the flooded version from 3.2.0 nodes at the ${old.length} old nodes; ` +
    `${mixed.oldToNew} old→new and ${mixed.newToOld} new→old announce streams on 3.1.0; ` +
    `followed by ${fresh.filter(n => n.mesh.stats().announce.reshapesFollowed > 0).length} of ${fresh.length - 1}`)
}, 300_000)
