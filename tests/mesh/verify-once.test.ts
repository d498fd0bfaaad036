// Verify once (issue 14): content is hashed, and a signature verified, once where the
// bytes enter a node (the API, an inline announcement, a fetch), then travels on as
// verified — the replica does not hash or verify again what the mesh already checked.
// Counted with the rule's own work counters (src/rule/which-version-wins.ts `work`),
// which see every signature check and content hash the rule does in this process.
import { afterEach, expect, it } from 'vitest'
import { work } from '../../src/rule/which-version-wins.js'
import { Cluster, bytes, connected, converged, waitFor } from './helpers.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

it('an inline update costs one content hash and one signature check per node it enters (the origin\'s API, then one per hop)', async () => {
  // long sync interval: only the broadcast tree carries the updates
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 3_600_000 })
  const a = await cluster.add('a')
  const b = await cluster.add('b', { bootstrap: [a.hostPort] })
  await connected([a, b])
  const updates = 10
  const before = { ...work }
  for (let k = 0; k < updates; k++) {
    const r = await a.upload({ name: 'a.txt', content: bytes(`version ${k} `.repeat(40)) })
    await converged(r, [a, b])
  }
  // per update: a's API submit checks it (1), b checks the inline copy where it enters (1);
  // b's replica and both stores' re-check under the lock do not hash or verify again
  expect(work.contentHashes - before.contentHashes).toBe(2 * updates)
  expect(work.signatureChecks - before.signatureChecks).toBe(2 * updates)
}, 60_000)

it('in a full mesh of 4, copies of an update from several peers are not verified again: one signature check and one hash per node', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 3_600_000 })
  const a = await cluster.add('a')
  const others = [await cluster.add('b', { bootstrap: [a.hostPort] }), await cluster.add('c', { bootstrap: [a.hostPort] }), await cluster.add('d', { bootstrap: [a.hostPort] })]
  const nodes = [a, ...others]
  await waitFor(() => nodes.every(n => n.mesh.status().peers.length === 3), 'a full mesh of 4')
  const updates = 10
  const before = { ...work }
  const copies = nodes.reduce((sum, n) => sum + n.mesh.stats().announce.fullReceived, 0)
  for (let k = 0; k < updates; k++) {
    const r = await nodes[k % nodes.length].upload({ name: 'b.txt', content: bytes(`update ${k} `.repeat(40)) })
    await converged(r, nodes)
  }
  const received = nodes.reduce((sum, n) => sum + n.mesh.stats().announce.fullReceived, 0) - copies
  console.log(`[verify-once] ${received} full copies received for ${updates} updates × 3 receivers`)
  expect(work.signatureChecks - before.signatureChecks).toBe(4 * updates)
  expect(work.contentHashes - before.contentHashes).toBe(4 * updates)
}, 90_000)
