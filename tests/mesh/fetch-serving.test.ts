// Serving fetches within bounds (issue 11, F7, mesh part): fetches served at once are
// capped per peer and in total, the surplus is answered "busy", a "busy" answer is no
// offence (the fetcher asks the next peer, or again at the next sync round), and a peer
// that reads nothing loses its slot after fetchServeStallTimeout.
import type { Stream } from '@libp2p/interface'
import { afterEach, expect, it } from 'vitest'
import { Cluster, connected, converged, waitFor, type TestNode } from './helpers.js'
import { RogueSet } from './rogue.js'
import { encodeRecord, signRecord } from '../../src/crypto/record.js'
import { encodeRequest } from '../../src/mesh/fetch.js'
import { PROTOCOLS } from '../../src/mesh/settings.js'
import { frame } from '../../src/mesh/wire.js'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

it('a peer answering "busy" is not punished: the content comes from another peer', async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const nodes: TestNode[] = [await cluster.add('h0')]
  for (let i = 1; i < 3; i++) nodes.push(await cluster.add(`h${i}`, { bootstrap: [nodes[0].hostPort] }))
  await connected(nodes, 2)
  const [h0, ...others] = nodes
  const r = await rogues.start()
  let asked = 0
  await r.serveFetch(async (_request, stream) => {
    asked++
    await r.write(stream, frame(Uint8Array.of(2))) // busy
    await stream.close()
  })
  const content = new Uint8Array(200 * 1024).fill(3) // above the inline limit: fetched
  const record = signRecord(cluster.signer, { name: 'big.bin', content, timestamp: Date.now() })
  for (const n of others) await r.announce(n, [encodeRecord(record)]) // the rogue is asked first
  await waitFor(() => asked >= others.length, 'the rogue was asked by every node it announced to')
  await h0.upload({ name: 'big.bin', content, timestamp: record.timestamp })
  await converged(record, nodes)
  expect(nodes.map(n => n.mesh.stats().peers.penalized)).toEqual([0, 0, 0])
  for (const n of others) expect(r.heldBy(n)).toBe(true)
})

it('serve slots: beyond fetchServeMaxPerPeer / fetchServeMaxTotal a request is answered busy; a reader that takes nothing loses its slot after fetchServeStallTimeout, and an honest node then gets the file', async () => {
  const STALL = 2_000
  cluster = new Cluster({ transports: ['tcp'], settings: { fetchServeMaxPerPeer: 2, fetchServeMaxTotal: 2, fetchServeStallTimeout: STALL } })
  const h0 = await cluster.add('h0')
  const content = new Uint8Array(2 * 1024 * 1024).fill(9) // far more than one stream window: the writes block
  const record = await h0.upload({ name: 'big.bin', content })

  // a peer opens 3 fetch streams for it and never reads them
  const r = await rogues.start()
  const opened: number[] = []
  const gone: Array<Promise<number>> = []
  for (let i = 0; i < 3; i++) {
    const s: Stream = await r.open(h0, PROTOCOLS.fetch)
    s.pause()
    opened.push(Date.now())
    s.send(frame(encodeRequest(record)))
    await s.close().catch(() => {})
    gone.push(r.gone(s))
  }
  await waitFor(() => h0.mesh.stats().fetch.busy >= 1, 'the third stream was answered busy')
  expect(h0.mesh.stats().fetch.busy).toBe(1)

  // an honest node joins now: both slots are taken, so it hears "busy" until the stalled streams are cut
  const t0 = Date.now()
  const h1 = await cluster.add('h1', { bootstrap: [h0.hostPort] })
  await converged(record, [h1], 30_000)
  const took = Date.now() - t0
  const cut = (await Promise.all(gone.slice(0, 2))).map((t, i) => t - opened[i])
  console.log(`[fetch-serving] stalled streams cut after ${cut.join(', ')} ms (fetchServeStallTimeout ${STALL} ms); the honest node got the file after ${took} ms; busy answers ${h0.mesh.stats().fetch.busy}`)
  for (const ms of cut) expect(ms).toBeLessThan(STALL + 4_000)
  expect(h0.mesh.stats().fetch.busy).toBeGreaterThanOrEqual(1)
  expect((await h1.content('big.bin'))?.equals(content)).toBe(true)
  // slowness and "busy" are no offence on either side
  expect([h0, h1].map(n => n.mesh.stats().peers.penalized)).toEqual([0, 0])
  expect(r.heldBy(h0)).toBe(true)
})
