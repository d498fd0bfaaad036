// Issue 11, F2: a fetch names the exact version it wants. A signer (the attacker holds a
// key for the name) signs R2 with the sha256 of the current content but size + 1 and a
// newer timestamp, and announces it without content. Before, every node fetched
// (name, sha256) from every peer, the honest peers served the current bytes (22 for a
// record of 23) and were punished for it: three nodes ended up with 1 peer each instead
// of 2. Now a peer serves only the version asked for, answers "not here" otherwise, and
// "not here" is never punished.
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.js'
import { RogueSet } from './rogue.js'
import { encodeRecord, signedBytes, type SignedRecord, type UnsignedRecord } from '../../src/crypto/record.js'
import { frame } from '../../src/mesh/wire.js'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

/** R2: what the attacker signs with its key for `honest.name` — same hash, one byte longer, newer. */
function crafted (honest: SignedRecord): SignedRecord {
  const unsigned: UnsignedRecord = { name: honest.name, timestamp: honest.timestamp + 1000, expires: 0, tombstone: false, size: honest.size + 1, sha256: honest.sha256 }
  const key = cluster!.signer
  return { ...unsigned, signer: key.publicKey, signature: key.sign(signedBytes(unsigned)) }
}

it('F2: a record with the current content\'s sha256 but another size, announced without content, costs no honest connection and no penalty; the honest version stays', async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const nodes: TestNode[] = [await cluster.add('h0')]
  for (let i = 1; i < 3; i++) nodes.push(await cluster.add(`h${i}`, { bootstrap: [nodes[0].hostPort] }))
  await connected(nodes, 2)
  const [h0] = nodes

  // the honest versions: a small file (travels inline) and a large one (travels by fetch)
  const small = await h0.upload({ name: 'a.txt', content: bytes('honest content, 22 b..'), timestamp: Date.now() - 10_000 })
  const big = await h0.upload({ name: 'big.bin', content: new Uint8Array(100 * 1024).fill(7), timestamp: Date.now() - 10_000 })
  await converged(small, nodes)
  await converged(big, nodes)
  const peersBefore = nodes.map(n => n.mesh.status().peers.map(p => p.peerId).sort())

  // the attacker: a peer holding the signer key; it answers "not here" to every fetch
  const r = await rogues.start()
  let asked = 0
  await r.serveFetch(async (_request, stream) => {
    asked++
    await r.write(stream, frame(Uint8Array.of(1)))
    await stream.close()
  })
  const evil = [crafted(small), crafted(big)]
  for (const e of evil) expect(Buffer.from(e.sha256).equals(evil[0] === e ? small.sha256 : big.sha256)).toBe(true)
  const failedBefore = nodes.map(n => n.mesh.stats().offers.failed)
  for (const n of nodes) await r.announce(n, evil.map(encodeRecord)) // no inline content
  // every node tried every source it had for both crafted records, and gave up
  await waitFor(() => nodes.every((n, i) => n.mesh.stats().offers.failed - failedBefore[i] >= evil.length),
    'every node gave up on both crafted records', [], 60_000)
  expect(asked).toBeGreaterThanOrEqual(nodes.length * evil.length)

  // no honest connection was lost, nobody was punished, the honest versions are in place
  expect(nodes.map(n => n.mesh.stats().peers.penalized)).toEqual([0, 0, 0])
  for (const [i, n] of nodes.entries()) {
    const now = n.mesh.status().peers.map(p => p.peerId)
    for (const id of peersBefore[i]) expect(now).toContain(id)
    expect(n.has(small)).toBe(true)
    expect(n.has(big)).toBe(true)
    expect((await n.content('a.txt'))?.equals(bytes('honest content, 22 b..'))).toBe(true)
  }
  // and the cluster still converges on an honest update
  const next = await nodes[2].upload({ name: 'a.txt', content: bytes('the next honest version'), timestamp: Date.now() })
  await converged(next, nodes)
})
