// announce/3.2.0 against a real daemon: the reshape flood's MARK on a FULL and WANT on an
// IHAVE (docs/PROTOCOLS.md §5; proto/tree.ts ReshapeOptions, on by default). A marked new
// version is flooded on to every peer, marked to 3.2.0 peers (a 3.1.0 peer gets its FULL
// without a mark); a want on a notice makes the node flood its own next version; flags it
// does not know are a protocol violation. Without the mark or the want, the same versions
// go to lazy peers as notices only.
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, waitFor, type TestNode } from './helpers.js'
import { RogueSet, type AnnounceLog, type Rogue } from './rogue.js'
import { encodeFull, encodeIhave } from '../../src/mesh/announce.js'
import { PROTOCOLS } from '../../src/mesh/settings.js'
import { frame } from '../../src/mesh/wire.js'
import { signRecord } from '../../src/crypto/record.js'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => { await rogues.stopAll(); await cluster?.close(); cluster = undefined })

async function listener (protocols: string[]): Promise<{ rogue: Rogue, got: AnnounceLog }> {
  const rogue = await rogues.start()
  return { rogue, got: await rogue.listenAnnounce(protocols) }
}

/** n0 in the tree (v1 went to its one eager peer), then `n` rogues of each protocol list connected: lazy links. */
async function lazyPeers (n0: TestNode, lists: string[][]): Promise<Array<{ rogue: Rogue, got: AnnounceLog }>> {
  const first = await listener([PROTOCOLS.announceReshape])
  await first.rogue.dial(n0)
  await waitFor(() => n0.mesh.links().eager.length === 1, 'n0 sees the first rogue')
  await n0.upload({ name: 'a.txt', content: bytes('v1') })
  await waitFor(() => first.got.full.length === 1, 'the first rogue got v1')
  const out = []
  for (const protocols of lists) {
    const l = await listener(protocols)
    await l.rogue.dial(n0)
    await waitFor(() => n0.mesh.links().lazy.includes(l.rogue.peerId), 'a later rogue is lazy')
    out.push(l)
  }
  return out
}

it('a marked FULL of a new version is flooded on: marked to 3.2.0 peers, in full to a 3.1.0 one; unmarked, lazy peers get a notice', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0')
  const [sender, a, b, old] = await lazyPeers(n0, [[PROTOCOLS.announceReshape], [PROTOCOLS.announceReshape], [PROTOCOLS.announceReshape], [PROTOCOLS.announceHops]])

  const plain = bytes('unmarked')
  const r1 = signRecord(cluster.signer, { name: 'b.txt', content: plain, timestamp: Date.now() })
  await sender.rogue.send(n0, PROTOCOLS.announceReshape, [frame(encodeFull(r1, 0, false)), frame(plain)])
  await waitFor(() => [a, b, old].every(l => l.got.ihave.some(n => n.name === 'b.txt')), 'the lazy peers were told of the unmarked version')
  expect([a, b, old].map(l => l.got.full.filter(f => f.record.name === 'b.txt').length)).toEqual([0, 0, 0])

  const content = bytes('marked')
  const r2 = signRecord(cluster.signer, { name: 'c.txt', content, timestamp: Date.now() })
  await sender.rogue.send(n0, PROTOCOLS.announceReshape, [frame(encodeFull(r2, 0, true)), frame(content)])
  await waitFor(() => [a, b, old].every(l => l.got.full.some(f => f.record.name === 'c.txt')), 'n0 flooded the marked version on')
  const c = (l: { got: AnnounceLog }): { hops: number | undefined, mark: boolean } => { const f = l.got.full.find(f => f.record.name === 'c.txt')!; return { hops: f.hops, mark: f.mark } }
  expect(c(a)).toEqual({ hops: 1, mark: true })
  expect(c(b)).toEqual({ hops: 1, mark: true })
  expect(c(old)).toEqual({ hops: 1, mark: false }) // 3.1.0: in full, but no mark can be said
  expect(n0.mesh.stats().announce.reshapesFollowed).toBe(1)
  expect(n0.mesh.stats().peers.penalized).toBe(0)
})

it('a WANT on a notice makes the node flood its own next version, marked; before it, lazy peers get notices', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0')
  const [wanter, a, old] = await lazyPeers(n0, [[PROTOCOLS.announceReshape], [PROTOCOLS.announceReshape], [PROTOCOLS.announceHops]])

  await n0.upload({ name: 'b.txt', content: bytes('before the want') })
  await waitFor(() => [a, old].every(l => l.got.ihave.some(n => n.name === 'b.txt')), 'the lazy peers were told of b.txt')
  expect(a.got.full.filter(f => f.record.name === 'b.txt')).toEqual([])

  const v1 = n0.replica.get('a.txt')!
  await wanter.rogue.send(n0, PROTOCOLS.announceReshape, [frame(encodeIhave([v1], [1], true))])
  await waitFor(() => n0.mesh.stats().announce.ihaveReceived > 0, 'n0 read the notice')
  await n0.upload({ name: 'c.txt', content: bytes('after the want') })
  await waitFor(() => [wanter, a, old].every(l => l.got.full.some(f => f.record.name === 'c.txt')), 'n0 flooded c.txt')
  for (const l of [wanter, a]) expect(l.got.full.find(f => f.record.name === 'c.txt')).toMatchObject({ hops: 0, mark: true })
  expect(old.got.full.find(f => f.record.name === 'c.txt')).toMatchObject({ hops: 0, mark: false })
  expect(n0.mesh.stats().announce.reshapes).toBe(1)
  expect(n0.mesh.stats().peers.penalized).toBe(0)
})

it('3.2.0: a flag the node does not know is a protocol violation', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0')
  const [rogue] = await lazyPeers(n0, [[PROTOCOLS.announceReshape]])
  const v1 = n0.replica.get('a.txt')!
  const m = encodeIhave([v1], [1], false)
  m[1] = 0x02
  await rogue.rogue.send(n0, PROTOCOLS.announceReshape, [frame(m)])
  await waitFor(() => n0.mesh.stats().peers.penalized === 1, 'n0 punished the rogue')
})
