import { afterEach, describe, expect, it } from 'vitest'
import { Cluster, bytes, converged, connected, type TestNode } from './helpers.js'
import type { Transport } from '../../src/config/config.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

async function chain (c: Cluster, n: number): Promise<TestNode[]> {
  const nodes: TestNode[] = []
  for (let i = 0; i < n; i++) nodes.push(await c.add(`n${i}`, { bootstrap: i === 0 ? [] : [nodes[i - 1].hostPort] }))
  return nodes
}

async function star (c: Cluster, n: number): Promise<TestNode[]> {
  const hub = await c.add('hub')
  const nodes = [hub]
  for (let i = 1; i < n; i++) nodes.push(await c.add(`n${i}`, { bootstrap: [hub.hostPort] }))
  return nodes
}

describe.each<Transport>(['tcp', 'quic'])('%s-only cluster', (transport) => {
  it('3 nodes in a chain converge on an upload at the far end', async () => {
    cluster = new Cluster({ transports: [transport] })
    const nodes = await chain(cluster, 3)
    await connected(nodes)
    const r = await nodes[2].upload({ name: 'a.txt', content: bytes('hello from n2') })
    await converged(r, nodes)
    for (const n of nodes) expect((await n.content('a.txt'))?.toString()).toBe('hello from n2')
    for (const n of nodes) for (const p of n.mesh.status().peers) expect(p.address).toContain(transport === 'quic' ? '/quic-v1' : '/tcp/')
  })

  it('10 nodes in a star converge on an upload at a leaf', async () => {
    cluster = new Cluster({ transports: [transport] })
    const nodes = await star(cluster, 10)
    await connected(nodes)
    const r = await nodes[9].upload({ name: 'b.txt', content: bytes('from a leaf') })
    await converged(r, nodes)
  })
})
