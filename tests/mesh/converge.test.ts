import { afterEach, describe, expect, it } from 'vitest'
import { Cluster, bytes, converged, connected, waitFor, type TestNode } from './helpers.js'
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

describe('joining', () => {
  it('a 10-node chain learns the cluster by peer exchange (each node knew only its predecessor)', async () => {
    cluster = new Cluster()
    const nodes = await chain(cluster, 10)
    // the last node was told only about n8; it ends up with more peers than that
    await waitFor(() => nodes[9].mesh.status().peers.length >= 4 && nodes[0].mesh.status().peers.length >= 4, 'n0 and n9 know ≥ 4 peers')
    const r = await nodes[0].upload({ name: 'c.txt', content: bytes('end to end') })
    await converged(r, nodes)
    for (const n of nodes) expect(n.mesh.status().peers.length).toBeLessThanOrEqual(9)
  })

  it('bootstrap entries may be [v6]:port, a hostname, or a multiaddr with /p2p/; a bootstrap node down at start is retried', async () => {
    // TCP only: a dial to a closed TCP port fails at once (a QUIC one waits for its handshake timeout)
    cluster = new Cluster({ transports: ['tcp'] })
    const hub = await cluster.make('hub')
    const hubId = (await cluster.identityOf(hub)).peerId
    // started before the hub exists: its dials fail and are retried with backoff
    const early = await cluster.add('early', { bootstrap: [hub.hostPort] })
    await waitFor(() => early.mesh.stats().peers.dialFailures >= 2, 'early retried the bootstrap node')
    hub.opts.bootstrap = [hub.hostPort, early.hostPort] // clan style: every node lists all, itself included
    await hub.start()
    const v6 = await cluster.add('v6', { bootstrap: [`[::1]:${hub.port}`] })
    const dns = await cluster.add('dns', { bootstrap: [`localhost:${hub.port}`] })
    const ma = await cluster.add('ma', { bootstrap: [`/ip4/127.0.0.1/tcp/${hub.port}/p2p/${hubId}`] })
    const nodes = [hub, early, v6, dns, ma]
    await waitFor(() => [early, v6, dns, ma].every(n => n.mesh.status().peers.some(p => p.peerId === hubId)), 'every node reached the hub')
    const r = await early.upload({ name: 'd.txt', content: bytes('joined') })
    await converged(r, nodes)
    expect(hub.mesh.stats().peers.dialFailures).toBeLessThanOrEqual(1) // it tried itself once, then never again
  })

  it('connections stay bounded: a hub every node bootstraps to sheds the surplus, and the cluster stays connected', async () => {
    cluster = new Cluster({ transports: ['tcp'], settings: { targetPeers: 3, maxPeers: 5, trimGrace: 1_000 } })
    const nodes = await star(cluster, 12)
    await waitFor(() => nodes.every(n => { const k = n.mesh.status().peers.length; return k >= 1 && k <= 5 }), 'every node has 1–5 peers')
    expect(nodes[0].mesh.stats().peers.trimmed).toBeGreaterThan(0)
    const r = await nodes[7].upload({ name: 'a.txt', content: bytes('bounded') })
    await converged(r, nodes)
  })

  it('a lost connection is re-established', async () => {
    cluster = new Cluster({ transports: ['tcp'] })
    const a = await cluster.add('a')
    const b = await cluster.add('b', { bootstrap: [a.hostPort] })
    await connected([a, b])
    await b.mesh.libp2p.hangUp(a.mesh.libp2p.peerId) // as if the network dropped it
    await waitFor(() => a.mesh.status().peers.length === 0, 'dropped')
    await connected([a, b], 1, 15_000)
    const r = await a.upload({ name: 'e.txt', content: bytes('again') })
    await converged(r, [a, b])
  })
})
