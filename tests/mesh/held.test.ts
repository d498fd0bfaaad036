// Issue 11, F1: a version held back for later (dated in the future) must never hide a
// newer current version, neither from eager spread nor from anti-entropy.
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, converged, waitFor, type TestNode } from './helpers.js'
import { signRecord, type SignedRecord } from '../../src/crypto/record.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const holds = (n: TestNode, r: SignedRecord): boolean => {
  const h = n.replica.getHeld(r.name)
  return h !== undefined && Buffer.from(h.signature).equals(r.signature)
}

it('F1: a version scheduled an hour ahead does not stop a newer current version from spreading (eager spread, and anti-entropy both ways)', async () => {
  // periodic anti-entropy is out of the way (60 s): only eager spread and the sync run on
  // every new connection can carry a version within the few seconds allowed below
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  // b is one of a's bootstrap entries, so a redials b when b comes back (a does not
  // redial a peer that only ever dialed it: issue 18, docs/PROTOCOLS.md §9)
  const b = await cluster.make('b')
  const a = await cluster.add('a', { bootstrap: [b.hostPort] })
  const v1 = await a.upload({ name: 'a.txt', content: bytes('v1') })
  const scheduled = signRecord(cluster.signer, { name: 'a.txt', content: bytes('scheduled'), timestamp: Date.now() + 3_600_000 })
  expect((await a.replica.submit(scheduled, bytes('scheduled'), 'api')).outcome).toBe('held')
  b.opts.bootstrap = [a.hostPort]
  await b.start()
  const c = await cluster.add('c', { bootstrap: [a.hostPort] })
  await converged(v1, [b, c])
  await waitFor(() => holds(b, scheduled) && holds(c, scheduled), 'b and c hold the scheduled version back', [b, c])

  // an urgent fix, in the present: accepted on a, and on every node within seconds
  const v2 = await a.upload({ name: 'a.txt', content: bytes('v2: urgent fix') })
  const t0 = Date.now()
  await converged(v2, [b, c], 10_000)
  console.log(`F1: v2 reached b and c by eager spread in ${Date.now() - t0} ms while a version was held`)
  for (const n of [a, b, c]) {
    expect((await n.content('a.txt'))?.toString()).toBe('v2: urgent fix')
    expect(holds(n, scheduled), n.name).toBe(true) // still scheduled for later
  }

  // anti-entropy: b and c miss v3; both come back holding v2 and the scheduled version
  await b.stop()
  await c.stop()
  const v3 = await a.upload({ name: 'a.txt', content: bytes('v3') })
  // b comes back with no bootstrap node: a redials it, so a starts the sync
  b.opts.bootstrap = []
  await b.start()
  await converged(v3, [b], 15_000)
  // c comes back on a new port: a cannot find it, c dials a, so c starts the sync
  const c2 = await cluster.add('c2', { dir: c.dir, bootstrap: [a.hostPort] })
  await converged(v3, [c2], 15_000)
  for (const n of [a, b, c2]) {
    expect((await n.content('a.txt'))?.toString()).toBe('v3')
    expect(holds(n, scheduled), n.name).toBe(true)
  }
  // and the nodes now agree: a sync round finds nothing to exchange
  const before = b.mesh.stats().sync
  await b.mesh.syncNow()
  expect(b.mesh.stats().sync.equal).toBeGreaterThan(before.equal)
})
