// announce/3.1.0 (hop counts) beside announce/3.0.0, against a real daemon: the daemon
// offers 3.1.0 first and writes the format of the id a peer selected (a peer that
// handles only 3.0.0 reads what it always read), reads either, carries a FULL's hop count
// on with one more, and moves a link when a notice shows a shorter path (the tree's
// optimisation, proto/tree.ts): a bare GRAFT to the notifier, a PRUNE to the sender.
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, waitFor } from './helpers.js'
import { RogueSet, type Rogue } from './rogue.js'
import { MAX_MESSAGE_FRAME, decodeFull, decodeIhave, encodeFull, encodeIhave, formatOf, type Notice } from '../../src/mesh/announce.js'
import { PROTOCOLS } from '../../src/mesh/settings.js'
import { StreamReader, frame } from '../../src/mesh/wire.js'
import { signRecord, type SignedRecord } from '../../src/crypto/record.js'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => { await rogues.stopAll(); await cluster?.close(); cluster = undefined })

interface Got { full: Array<{ record: SignedRecord, hops: number | undefined, protocol: string }>, ihave: Notice[], bareGrafts: number, prunes: number }

/** A rogue that handles the announce ids given (and no other), recording what a node sends it, decoded in the format of the id selected. */
async function listener (protocols: string[]): Promise<{ rogue: Rogue, got: Got }> {
  const rogue = await rogues.start()
  const got: Got = { full: [], ihave: [], bareGrafts: 0, prunes: 0 }
  await rogue.libp2p.handle(protocols, async (stream) => {
    const format = formatOf(stream.protocol)
    const reader = new StreamReader(stream, Date.now() + 60_000, 4 * 1024 * 1024)
    try {
      for (;;) {
        const head = await reader.frame(MAX_MESSAGE_FRAME)
        if (head === undefined) return
        if (head[0] === 0x01) { await reader.frame(1024 * 1024); got.full.push({ ...decodeFull(head, format), protocol: stream.protocol }) }
        if (head[0] === 0x02) got.ihave.push(...decodeIhave(head, format))
        if (head[0] === 0x03 && head.length === 1) got.bareGrafts++
        if (head[0] === 0x04) got.prunes++
      }
    } catch { stream.abort(new Error('rogue reader done')) }
  }, { maxInboundStreams: 16 })
  return { rogue, got }
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

it('a FULL\'s hop count travels on with one more; a notice of a path shorter by more than the threshold grafts its notifier (bare GRAFT) and prunes the sender', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000, settings: { announceOptimizeThreshold: 2 } }) // off by default
  const n0 = await cluster.add('n0')
  const sender = await listener([PROTOCOLS.announceHops])
  const next = await listener([PROTOCOLS.announceHops])
  const old = await listener([PROTOCOLS.announce])
  const notifier = await listener([PROTOCOLS.announceHops])
  for (const l of [sender, next, old, notifier]) await l.rogue.dial(n0)
  await waitFor(() => n0.mesh.links().eager.length === 4, 'n0 sees the four rogues')
  // the notifier's link is lazy (its PRUNE), so it is sent notices only
  await notifier.rogue.send(n0, PROTOCOLS.announceHops, [frame(Uint8Array.of(0x04))])
  await waitFor(() => n0.mesh.links().lazy.includes(notifier.rogue.peerId), 'the notifier is lazy')

  const content = bytes('from afar')
  const r = signRecord(cluster.signer, { name: 'a.txt', content, timestamp: Date.now() })
  await sender.rogue.send(n0, PROTOCOLS.announceHops, [frame(encodeFull(r, 9)), frame(content)])
  await waitFor(() => next.got.full.length === 1 && old.got.full.length === 1, 'n0 passed it on')
  expect(next.got.full[0].hops).toBe(10)
  expect(old.got.full[0].hops).toBe(undefined) // 3.0.0: no hop count
  expect(n0.mesh.links().eager).toContain(sender.rogue.peerId)
  // passed on while being written: a notice is judged against what is stored
  await waitFor(() => n0.replica.get('a.txt')?.timestamp === r.timestamp, 'n0 stored it')

  // a path 1 + 1 hops long against 10: the notifier is grafted, the sender pruned
  await notifier.rogue.send(n0, PROTOCOLS.announceHops, [frame(encodeIhave([r], [1]))])
  await waitFor(() => notifier.got.bareGrafts === 1 && sender.got.prunes === 1, 'n0 grafted the notifier and pruned the sender')
  expect(n0.mesh.links().eager).toContain(notifier.rogue.peerId)
  expect(n0.mesh.links().lazy).toContain(sender.rogue.peerId)
  expect(n0.mesh.stats().announce.optimized).toBe(1)
  expect(n0.mesh.stats().peers.penalized).toBe(0)
})
