// Issue 18, item 1: one peer's backlog never delays another peer's records. A sender
// whose fetch slots are all held by versions it will not serve also relays a genuine
// large update first; the same update from an honest peer must not wait behind that
// sender's queue (it is queued for the honest peer's turn as well, and the first turn
// takes it).
import { afterEach, expect, it } from 'vitest'
import { generateSigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { encodeRecord, signRecord } from '../../src/crypto/record.ts'
import { DEFAULT_MESH_SETTINGS as D } from '../../src/mesh/settings.ts'
import { Cluster, connected, converged, waitFor } from './helpers.ts'
import { RogueSet } from './rogue.ts'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

it('a large update relayed first by a peer whose fetch slots are stalled is fetched in an honest sender\'s turn at once', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0', { namespaces: ['machines'] })
  const n1 = await cluster.add('n1', { namespaces: ['machines'], bootstrap: [n0.hostPort] })
  await connected([n0, n1], 1)
  const r = await rogues.start()
  await r.dial(n1)
  await waitFor(() => n1.mesh.status().peers.some(p => p.peerId === r.peerId), 'the rogue is a peer of n1')
  const asked: number[] = []
  await r.serveFetch(() => { asked.push(Date.now()) }) // never answers

  // namespace files (no network: any key may publish its own) that the rogue never
  // serves: as many as it may have fetched at once, so each of its fetch slots is stalled
  const ns = Array.from({ length: D.fetchPerPeerSlots }, () => generateSigningKey())
  await r.announce(n1, ns.map(k => encodeRecord(signRecord(k, { name: `machines/${base64url(k.publicKey)}`, content: new Uint8Array(100 * 1024), timestamp: Date.now() }))))
  await waitFor(() => asked.length >= D.fetchPerPeerSlots, 'the rogue\'s fetch slots are all taken')

  // the admin's large update reaches n1 from the rogue first (no content: it is fetched), then from n0
  const content = new Uint8Array(200 * 1024).fill(5)
  const record = signRecord(cluster.signer, { name: 'big.bin', content, timestamp: Date.now() })
  await r.announce(n1, [encodeRecord(record)])
  await waitFor(() => n1.mesh.stats().queues.fetchWaiting >= 1, 'the update waits in the rogue\'s fetch queue')
  const t0 = performance.now()
  expect(await n0.replica.submit(record, content, 'api')).toMatchObject({ outcome: 'accepted' })
  await converged(record, [n0, n1], 30_000)
  const took = Math.round(performance.now() - t0)
  console.log(`[fair-turns] the update was stored on n1 ${took} ms after n0 had it, with the rogue's ${D.fetchPerPeerSlots} fetch slots stalled (fetch header deadline ${D.fetchHeaderTimeout} ms)`)
  expect(took).toBeLessThan(D.fetchHeaderTimeout / 2)
})
