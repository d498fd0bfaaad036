import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.js'
import type { SignedRecord } from '../../src/crypto/record.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const NAMES = ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt']

async function expectExactly (nodes: TestNode[], newest: Map<string, SignedRecord>): Promise<void> {
  for (const n of nodes) {
    for (const [name, r] of newest) {
      expect(n.has(r), `${n.name} has the newest ${name}`).toBe(true)
      expect((await n.content(name))?.toString()).toBe(`${name} v${r.timestamp}`)
    }
    expect(n.replica.list().length).toBe(newest.size)
  }
}

it('a node stopped during 50 updates to 5 files converges to exactly the newest versions; a wiped node gets everything', async () => {
  cluster = new Cluster({ transports: ['tcp', 'quic'] })
  const nodes: TestNode[] = []
  for (let i = 0; i < 4; i++) nodes.push(await cluster.add(`n${i}`, { bootstrap: i === 0 ? [] : [nodes[0].hostPort] }))
  await connected(nodes, 3)
  const [n0, n1, n2, n3] = nodes
  const newest = new Map<string, SignedRecord>()
  const base = Date.now()
  for (let i = 0; i < 50; i++) {
    if (i === 5) await n3.stop() // stopped in the middle of the updates
    const name = NAMES[i % NAMES.length]
    const at = [n0, n1, n2][i % 3]
    const timestamp = base + i
    newest.set(name, await at.upload({ name, timestamp, content: bytes(`${name} v${timestamp}`) }))
  }
  const live = [n0, n1, n2]
  for (const r of newest.values()) await converged(r, live)
  await n3.restart()
  for (const r of newest.values()) await converged(r, nodes)
  await expectExactly(nodes, newest)

  // a node whose disk was wiped (identity included) rejoins as a new peer and receives everything
  const oldId = n2.peerId
  await n2.restart({ wipe: true })
  expect(n2.peerId).not.toBe(oldId)
  expect(n2.replica.list().length).toBe(0)
  for (const r of newest.values()) await converged(r, nodes)
  await expectExactly(nodes, newest)
  await waitFor(() => !n0.mesh.status().peers.some(p => p.peerId === oldId), 'the old identity is gone from n0', [], 30_000)
})
