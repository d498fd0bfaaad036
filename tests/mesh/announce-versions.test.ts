// announce/3.1.0 (hop counts) beside announce/3.0.0, against a real daemon: the daemon
// offers 3.1.0 first and writes the format of the id a peer selected (a peer that
// handles only 3.0.0 reads what it always read), reads either, carries a FULL's hop count
// on with one more, and shapes the tree with them (proto/tree.ts): a duplicate by a
// shorter path prunes the link the version came by; once in the tree, a new peer starts
// lazy, and a node with no eager link left grafts a new peer at once (a bare GRAFT).
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, waitFor } from './helpers.js'
import { RogueSet, type AnnounceLog, type Rogue } from './rogue.js'
import { encodeFull } from '../../src/mesh/announce.js'
import { PROTOCOLS } from '../../src/mesh/settings.js'
import { frame } from '../../src/mesh/wire.js'
import { signRecord } from '../../src/crypto/record.js'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => { await rogues.stopAll(); await cluster?.close(); cluster = undefined })

/** A rogue that handles the announce ids given (and no other), recording what a node sends it. */
async function listener (protocols: string[]): Promise<{ rogue: Rogue, got: AnnounceLog }> {
  const rogue = await rogues.start()
  return { rogue, got: await rogue.listenAnnounce(protocols) }
}

it('the node writes announce/3.0.0 to a peer that handles only it and 3.1.0 (hop 0: made here) to one that handles 3.1.0', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0')
  const old = await listener([PROTOCOLS.announce])
  const now = await listener([PROTOCOLS.announceHops])
  await old.rogue.dial(n0)
  await now.rogue.dial(n0)
  await waitFor(() => n0.mesh.links().eager.length === 2, 'n0 sees both rogues')
  const r = await n0.upload({ name: 'a.txt', content: bytes('v1') })
  await waitFor(() => old.got.full.length === 1 && now.got.full.length === 1, 'both got the full record')
  expect(old.got.full[0]).toMatchObject({ hops: undefined, protocol: PROTOCOLS.announce, record: { timestamp: r.timestamp } })
  expect(now.got.full[0]).toMatchObject({ hops: 0, protocol: PROTOCOLS.announceHops, record: { timestamp: r.timestamp } })
  expect(n0.mesh.stats().peers.penalized).toBe(0)
})

it('a FULL\'s hop count travels on with one more; a duplicate that came by a shorter path prunes the link the version came by', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0')
  const sender = await listener([PROTOCOLS.announceHops])
  const next = await listener([PROTOCOLS.announceHops])
  const old = await listener([PROTOCOLS.announce])
  const shorter = await listener([PROTOCOLS.announceHops])
  for (const l of [sender, next, old, shorter]) await l.rogue.dial(n0)
  await waitFor(() => n0.mesh.links().eager.length === 4, 'n0 sees the four rogues')

  const content = bytes('from afar')
  const r = signRecord(cluster.signer, { name: 'a.txt', content, timestamp: Date.now() })
  await sender.rogue.send(n0, PROTOCOLS.announceHops, [frame(encodeFull(r, 9)), frame(content)])
  await waitFor(() => next.got.full.length === 1 && old.got.full.length === 1, 'n0 passed it on')
  expect(next.got.full[0].hops).toBe(10)
  expect(old.got.full[0].hops).toBe(undefined) // 3.0.0: no hop count
  await waitFor(() => n0.replica.get('a.txt')?.timestamp === r.timestamp, 'n0 stored it')

  // the same version again, 1 + 1 hops from its origin against 10: the sender's link is pruned, this one kept
  await shorter.rogue.send(n0, PROTOCOLS.announceHops, [frame(encodeFull(r, 1)), frame(content)])
  await waitFor(() => sender.got.prunes === 1, 'n0 pruned the longer path')
  expect(shorter.got.prunes).toBe(0)
  expect(n0.mesh.links().eager).toContain(shorter.rogue.peerId)
  expect(n0.mesh.links().lazy).toContain(sender.rogue.peerId)
  expect(n0.mesh.stats().announce.reparented).toBe(1)
  expect(n0.mesh.stats().peers.penalized).toBe(0)
})

it('once a version went through, a new peer starts lazy; a node whose last eager peer left grafts the next one at once (bare GRAFT)', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0')
  const first = await listener([PROTOCOLS.announceHops])
  await first.rogue.dial(n0)
  await waitFor(() => n0.mesh.links().eager.length === 1, 'n0 sees the first rogue')
  await n0.upload({ name: 'a.txt', content: bytes('v1') })
  await waitFor(() => first.got.full.length === 1, 'the first rogue got v1 in full')
  await first.rogue.stop()
  await waitFor(() => n0.mesh.links().eager.length === 0, 'the first rogue is gone')

  // n0 is in the tree with no eager link: the next peer is grafted at once
  const second = await listener([PROTOCOLS.announceHops])
  await second.rogue.dial(n0)
  await waitFor(() => second.got.bareGrafts === 1, 'n0 grafted the second rogue')
  expect(n0.mesh.links().eager).toEqual([second.rogue.peerId])
  // with an eager link, the next peer starts lazy: it hears of v2 by notice only
  const third = await listener([PROTOCOLS.announceHops])
  await third.rogue.dial(n0)
  await waitFor(() => n0.mesh.links().lazy.includes(third.rogue.peerId), 'the third rogue is lazy')
  const v2 = await n0.upload({ name: 'a.txt', content: bytes('v2') })
  await waitFor(() => second.got.full.length === 1 && third.got.ihave.length === 1, 'v2 went out')
  expect(second.got.full[0].record.timestamp).toBe(v2.timestamp)
  expect(third.got.ihave[0]).toMatchObject({ name: 'a.txt', timestamp: v2.timestamp, hops: 0 })
  expect(third.got.full).toEqual([])
  expect(third.got.bareGrafts).toBe(0)
})
