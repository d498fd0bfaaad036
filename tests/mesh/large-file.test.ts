import { randomBytes, createHash } from 'node:crypto'
import { afterEach, expect, it } from 'vitest'
import { Cluster, converged, connected, type TestNode } from './helpers.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

it.each(['tcp', 'quic'] as const)('%s: a 10 MiB file reaches every node with identical bytes, its content crossing each link once', async (transport) => {
  // few connections per node, so the file has to be relayed by nodes that fetched it; no
  // trimming during the test (a connection closed mid-transfer would count a second crossing)
  cluster = new Cluster({ transports: [transport], settings: { targetPeers: 2, maxPeers: 4, trimGrace: 300_000 } })
  const nodes: TestNode[] = []
  for (let i = 0; i < 8; i++) nodes.push(await cluster.add(`n${i}`, { bootstrap: i === 0 ? [] : [nodes[i - 1].hostPort] }))
  await connected(nodes)
  const content = randomBytes(10 * 1024 * 1024)
  const digest = createHash('sha256').update(content).digest('hex')
  const t0 = Date.now()
  const r = await nodes[0].upload({ name: 'big.bin', content })
  await converged(r, nodes, 60_000)
  const took = Date.now() - t0
  for (const n of nodes) {
    const got = await n.content('big.bin')
    expect(got?.length).toBe(content.length)
    expect(createHash('sha256').update(got!).digest('hex')).toBe(digest)
  }
  const stats = nodes.map(n => n.mesh.stats().fetch)
  // every node but the uploader fetched the content exactly once, from exactly one peer
  expect(stats[0].fetched).toBe(0)
  for (const s of stats.slice(1)) expect(s.fetched).toBe(1)
  const served = stats.reduce((a, s) => a + s.served, 0)
  const servedBytes = stats.reduce((a, s) => a + s.servedBytes, 0)
  expect(served).toBe(nodes.length - 1)
  expect(servedBytes).toBe((nodes.length - 1) * content.length)
  console.log(`${transport}: 10 MiB to ${nodes.length} nodes in ${took} ms; served by: ${stats.map(s => s.served).join(',')}`)
}, 90_000)
