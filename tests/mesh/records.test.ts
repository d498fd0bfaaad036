import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.js'
import { Rogue } from './rogue.js'
import { encodeRecord, signRecord } from '../../src/crypto/record.js'

let cluster: Cluster | undefined
let rogue: Rogue | undefined
afterEach(async () => { await rogue?.stop(); rogue = undefined; await cluster?.close(); cluster = undefined })

async function chain (c: Cluster, n: number): Promise<TestNode[]> {
  const nodes: TestNode[] = []
  for (let i = 0; i < n; i++) nodes.push(await c.add(`n${i}`, { bootstrap: i === 0 ? [] : [nodes[i - 1].hostPort] }))
  await connected(nodes)
  return nodes
}

it('a deletion spreads; a replayed older version, from a returning node or a peer, changes nothing', async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const nodes = await chain(cluster, 3)
  const [n0, , n2] = nodes
  const stale = await cluster.add('stale', { bootstrap: [n0.hostPort] })
  const v1 = await n0.upload({ name: 'a.txt', content: bytes('version 1') })
  await converged(v1, [...nodes, stale])
  await stale.stop() // keeps v1 on its disk

  const del = await n2.upload({ name: 'a.txt', tombstone: true })
  await converged(del, nodes)
  for (const n of nodes) {
    expect(n.replica.isDelivered('a.txt')).toBe(false)
    expect(await n.content('a.txt')).toBeUndefined()
  }

  // a peer pushes the old version straight at n1: ignored, and not a punishable offence
  rogue = await Rogue.start()
  await rogue.announce(nodes[1], [encodeRecord(v1)])
  await waitFor(() => nodes[1].mesh.stats().announce.fullReceived >= 1, 'n1 received the replay')
  // the node that was away comes back with v1: it offers it by anti-entropy and learns the deletion
  await stale.start()
  await converged(del, [...nodes, stale])
  await Promise.all(nodes.map(async n => await n.mesh.syncNow()))
  for (const n of [...nodes, stale]) {
    expect(n.has(del), n.name).toBe(true)
    expect(await n.content('a.txt')).toBeUndefined()
  }
  expect(rogue.connectedTo(nodes[1])).toBe(true)
  expect(nodes[1].mesh.stats().peers.penalized).toBe(0)
})

it('expiry: a version ends on every node at its time, and a node joining later gets the record but not the file', async () => {
  cluster = new Cluster({ transports: ['quic'] })
  const nodes = await chain(cluster, 3)
  const expires = Date.now() + 1500
  const r = await nodes[1].upload({ name: 'b.txt', content: bytes('temporary grant'), expires })
  await converged(r, nodes)
  await waitFor(() => nodes.every(n => !n.replica.isDelivered('b.txt')), 'b.txt expired everywhere', nodes)
  expect(Date.now()).toBeGreaterThanOrEqual(expires)
  for (const n of nodes) expect(n.has(r)).toBe(true) // the record stays, so no older version can come back

  const late = await cluster.add('late', { bootstrap: [nodes[2].hostPort] })
  await converged(r, [late])
  expect(late.replica.isDelivered('b.txt')).toBe(false)
  expect(late.mesh.stats().fetch.fetched).toBe(0) // an expired version needs no content
})

it('a record from the future is held back on every node (content included) and released everywhere when its time comes', async () => {
  cluster = new Cluster({ transports: ['tcp'], maxClockSkew: 1_000 })
  const nodes = await chain(cluster, 3)
  const [n0, n1, n2] = nodes
  const future = signRecord(cluster.signer, { name: 'c.txt', content: bytes('from the future'), timestamp: Date.now() + 6_000 })
  expect((await n0.replica.submit(future, bytes('from the future'), 'api')).outcome).toBe('held')
  // not announced (not accepted yet), but anti-entropy carries it, and its content, to the others
  const holds = (n: TestNode): boolean => n.replica.listHeld().some(h => Buffer.from(h.signature).equals(future.signature))
  await waitFor(() => holds(n1) && holds(n2), 'n1 and n2 hold it back too', nodes)
  expect(n1.replica.get('c.txt')).toBeUndefined()
  expect(Date.now()).toBeLessThan(future.timestamp - 1_000) // still before its release
  await converged(future, nodes)
  for (const n of nodes) expect((await n.content('c.txt'))?.toString()).toBe('from the future')
})
