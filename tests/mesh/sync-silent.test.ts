// A sync peer that says nothing costs a round seconds, not syncTimeout (issue 23, the
// "5% hostile members" scenario; tests/sim/README.md, Finding 3). A node's timer round
// with a silent peer fails after syncStallTimeout (5 s), a round with another peer starts
// at once, and the silent peer is backed off — not punished. A peer that is slow but keeps
// sending is not cut by the stall timeout.
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, waitFor } from './helpers.js'
import { RogueSet } from './rogue.js'
import { signRecord } from '../../src/crypto/record.js'
import { DEFAULT_MESH_SETTINGS as D, PROTOCOLS } from '../../src/mesh/settings.js'
import { encodeEntry, CURRENT_SLOT } from '../../src/mesh/sync-summary.js'
import { StreamReader, frame } from '../../src/mesh/wire.js'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

const END = frame(new Uint8Array(0))

it('a node whose sync round hangs on a silent peer still gets a record it missed from an honest peer within seconds, not after syncTimeout; the silent peer is not punished', async () => {
  // a's timer fires every 300 ms ±20%; b's only after a minute (b must not be the one to
  // repair a: its own round would hand a the record whatever a's timer does)
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const a = await cluster.add('a', { syncInterval: 300 })
  // (b answers all of a's rounds: a round closed unanswered by b's pacing would count as
  // failed and back b off too, and a's 300 ms timer is far beyond that pace)
  const b = await cluster.add('b', { bootstrap: [a.hostPort], settings: { syncAnswerBurst: 1_000 } })
  // the rogue takes the sync protocol, reads the request and answers nothing, ever
  const r = await rogues.start()
  const hellos: number[] = [] // when a asked (b may learn of the rogue and ask it too)
  await r.libp2p.handle(PROTOCOLS.sync, async (stream, connection) => {
    const reader = new StreamReader(stream, Date.now() + 60_000, 1024)
    if ((await reader.frame(36).catch(() => undefined)) !== undefined && connection.remotePeer.toString() === a.peerId) hellos.push(Date.now())
    await r.gone(stream)
  }, { maxInboundStreams: 1024 })
  await r.dial(a) // inbound at a: a starts no round on it, only its timer picks it
  await waitFor(() => a.mesh.status().peers.length >= 2 && b.mesh.status().peers.length >= 1, 'a connected to b and the rogue')
  const penalized = a.mesh.stats().peers.penalized
  // a's timer picks one of its two peers at random on every tick: soon the rogue, and
  // then that round hangs on it
  await waitFor(() => hellos.length > 0, 'a asked the rogue for a sync round', [], 20_000)
  // now b gets a record a does not have, by a way that leaves a out: b takes it as if a had
  // sent it (b's tree then passes it on to everyone but a, as when an announcement to a
  // was lost). Only anti-entropy can bring it to a.
  const missed = signRecord(cluster.signer, { name: 'a.txt', content: bytes('missed by the tree'), timestamp: Date.now() - 1_000 })
  expect((await b.replica.submit(missed, bytes('missed by the tree'), `peer:${a.peerId}`)).outcome).toBe('accepted')
  const t0 = Date.now()
  const BOUND = D.syncTimeout / 2 // before: a waited for the rogue until syncTimeout (30 s), its timer with it
  await waitFor(() => a.has(missed), `a got the record it missed, by anti-entropy with b, within ${BOUND} ms`, [a], BOUND)
  const took = Date.now() - t0
  const s = a.mesh.stats().sync
  console.log(`[sync-silent] a got the missed record ${took} ms after b had it (rogue asked ${Date.now() - hellos[0]} ms ago); a's sync: ${JSON.stringify({ rounds: s.rounds, failed: s.failed, retried: s.retried, exchanged: s.exchanged })}`)
  expect(s.failed).toBeGreaterThanOrEqual(1) // the round with the rogue
  expect(s.retried).toBeGreaterThanOrEqual(1) // and one with b at once
  expect(hellos.length).toBe(1) // the rogue is backed off: a did not ask it again
  // silence is not an offence: the rogue keeps its connection and is not penalized
  expect(a.mesh.stats().peers.penalized).toBe(penalized)
  expect(r.connectedTo(a)).toBe(true)
}, 60_000)

it('a responder that is slow but keeps sending is not cut by the stall timeout: its round completes past syncStallTimeout', async () => {
  const STALL = 2_000
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000, settings: { syncStallTimeout: STALL } })
  const n0 = await cluster.add('n0')
  await n0.upload({ name: 'a.txt', content: bytes('v1') })
  const r = await rogues.start()
  let sentFor = 0
  await r.serveSync(async (reader, stream) => {
    await reader.frame(36) // the node's request
    const started = Date.now()
    stream.send(frame(Uint8Array.of(1))) // differ
    // a summary trickled out, one entry per STALL / 4 (a busy host may delay a timer a little): 3 × STALL in all
    for (let i = 0; i < 12; i++) {
      await new Promise(resolve => setTimeout(resolve, STALL / 4))
      stream.send(frame(encodeEntry({ name: `unconfigured-${i}.txt`, tag: CURRENT_SLOT, timestamp: Date.now(), id: new Uint8Array(32).fill(i) })))
    }
    stream.send(END)
    sentFor = Date.now() - started
    for (let ends = 0; ends < 3;) { // the records we lack, the floors we lack, the ids wanted
      const f = await reader.frame(1024)
      if (f === undefined) throw new Error('the node closed early')
      if (f.length === 0) ends++
    }
    stream.send(END) // no records
    stream.send(END) // no floors
    await stream.close()
  })
  await r.dial(n0)
  await waitFor(() => n0.mesh.status().peers.length >= 1, 'n0 connected to the rogue')
  const before = n0.mesh.stats().sync
  await n0.mesh.syncNow()
  const after = n0.mesh.stats().sync
  expect(sentFor).toBeGreaterThan(2 * STALL)
  expect(after.failed - before.failed).toBe(0)
  expect(after.exchanged - before.exchanged).toBe(1)
  expect(after.recordsSent - before.recordsSent).toBe(1) // a.txt, which the rogue lacks
}, 60_000)
