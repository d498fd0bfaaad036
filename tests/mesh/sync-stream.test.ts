// sync/5.0.0 (issue 22): the rounds of one initiator with one responder follow one another
// on one long-lived stream, so an idle round that ends EQUAL costs two frames, not a
// stream's opening, multistream-select and closing. Negotiated beside sync/4.0.0: a node
// asks for 5.0.0 first and falls back to 4.0.0 (a round per stream) for an older peer,
// and answers either.
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, waitFor, type TestNode } from './helpers.js'
import { RogueSet } from './rogue.js'
import { signRecord } from '../../src/crypto/record.js'
import { PROTOCOLS } from '../../src/mesh/settings.js'
import { StreamReader, concat, frame, u32 } from '../../src/mesh/wire.js'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

const END = frame(new Uint8Array(0))

/** the ids of `from`'s open sync streams to `to` in `direction` of the protocol given (libp2p's own view of the connections) */
function syncStreams (from: TestNode, to: TestNode, protocol: string, direction: 'inbound' | 'outbound'): string[] {
  return from.mesh.libp2p.getConnections()
    .filter(c => c.remotePeer.toString() === to.peerId && c.status === 'open')
    .flatMap(c => c.streams)
    .filter(s => s.protocol === protocol && s.direction === direction && s.status === 'open')
    .map(s => s.id)
}

it('idle rounds reuse one stream; a record one side missed is repaired on it; after the idle close the next round opens a new one', async () => {
  const IDLE = 5_000 // (the rounds below come well within it, the repair's fetch included)
  // the timers stay out of it (a minute, ±20%): every round here is a's syncNow
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000, settings: { syncIdleClose: IDLE, syncAnswerBurst: 1_000 } })
  const a = await cluster.add('a')
  const b = await cluster.add('b', { bootstrap: [a.hostPort] })
  await connected([a, b])
  // b dialed: its round on the new connection is its own (b → a); a → b is what is counted here
  await waitFor(() => b.mesh.stats().sync.rounds >= 1 && b.mesh.stats().sync.streamsOpened === 1, 'b\'s round on connecting')

  const ROUNDS = 6
  let ids = new Set<string>()
  for (let i = 0; i < ROUNDS; i++) {
    await a.mesh.syncNow()
    for (const id of syncStreams(a, b, PROTOCOLS.syncStream, 'outbound')) ids.add(id)
  }
  let s = a.mesh.stats().sync
  expect(s).toMatchObject({ rounds: ROUNDS, equal: ROUNDS, failed: 0, streamsOpened: 1, streamsReused: ROUNDS - 1 })
  expect(ids.size).toBe(1) // libp2p saw one stream of a's carry all the rounds
  expect(syncStreams(b, a, PROTOCOLS.syncStream, 'inbound')).toHaveLength(1)
  expect(syncStreams(a, b, PROTOCOLS.sync, 'outbound')).toEqual([]) // no 4.0.0 stream
  expect(b.mesh.stats().sync.answered).toBeGreaterThanOrEqual(ROUNDS)

  // a record a missed (b takes it as if a had sent it, so b's tree does not send it back to a): repaired on the same stream
  const missed = signRecord(cluster.signer, { name: 'a.txt', content: bytes('missed by the tree'), timestamp: Date.now() - 1_000 })
  expect((await b.replica.submit(missed, bytes('missed by the tree'), `peer:${a.peerId}`)).outcome).toBe('accepted')
  // and one b missed
  const theirs = signRecord(cluster.signer, { name: 'b.txt', content: bytes('missed by b'), timestamp: Date.now() - 1_000 })
  expect((await a.replica.submit(theirs, bytes('missed by b'), `peer:${b.peerId}`)).outcome).toBe('accepted')
  await a.mesh.syncNow()
  await waitFor(() => a.has(missed) && b.has(theirs), 'each got the record it missed by a\'s round', [a, b], 10_000)
  for (const id of syncStreams(a, b, PROTOCOLS.syncStream, 'outbound')) ids.add(id)
  s = a.mesh.stats().sync
  expect(s).toMatchObject({ exchanged: 1, failed: 0, streamsOpened: 1, streamsReused: ROUNDS })
  expect(ids.size).toBe(1)
  // the round after the exchange is equal, still on the same stream
  await a.mesh.syncNow()
  expect(a.mesh.stats().sync).toMatchObject({ equal: ROUNDS + 1, streamsOpened: 1 })

  // idle for syncIdleClose: a closes its stream, and b its side of it
  await waitFor(() => syncStreams(a, b, PROTOCOLS.syncStream, 'outbound').length === 0 && syncStreams(b, a, PROTOCOLS.syncStream, 'inbound').length === 0, 'the idle stream closed at both ends', [], IDLE + 10_000)
  await a.mesh.syncNow()
  const reopened = syncStreams(a, b, PROTOCOLS.syncStream, 'outbound')
  expect(reopened).toHaveLength(1)
  expect(ids.has(reopened[0])).toBe(false)
  expect(a.mesh.stats().sync).toMatchObject({ equal: ROUNDS + 2, failed: 0, streamsOpened: 2 })
  expect(a.mesh.stats().peers.penalized + b.mesh.stats().peers.penalized).toBe(0)
}, 60_000)

it('an older peer (sync/4.0.0 only) still syncs with a new node, both ways: a round per stream', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000, settings: { syncAnswerBurst: 1_000 } })
  const a = await cluster.add('a')
  const old = await cluster.add('old', { bootstrap: [a.hostPort] })
  await connected([a, old])
  await old.mesh.libp2p.unhandle(PROTOCOLS.syncStream) // "old" now answers 4.0.0 only
  const missed = signRecord(cluster.signer, { name: 'a.txt', content: bytes('on the old node'), timestamp: Date.now() - 1_000 })
  expect((await old.replica.submit(missed, bytes('on the old node'), `peer:${a.peerId}`)).outcome).toBe('accepted')
  const before = a.mesh.stats().sync
  await a.mesh.syncNow()
  await waitFor(() => a.has(missed), 'a got the record from the old node by a 4.0.0 round', [a], 10_000)
  await a.mesh.syncNow()
  await a.mesh.syncNow()
  const s = a.mesh.stats().sync
  // a round per stream: three opened, none kept or reused, none of 5.0.0
  expect(s.streamsOpened - before.streamsOpened).toBe(3)
  expect(s.streamsReused).toBe(0)
  expect(s.exchanged - before.exchanged).toBe(1)
  expect(s.equal - before.equal).toBe(2)
  expect(s.failed).toBe(0)
  await waitFor(() => syncStreams(a, old, PROTOCOLS.sync, 'outbound').length === 0, 'the 4.0.0 streams closed')
  expect(syncStreams(a, old, PROTOCOLS.syncStream, 'outbound')).toEqual([])

  // the other way: an initiator that speaks 4.0.0 only (a rogue, by hand) gets a round answered and closed as 4.0.0 did
  const r = await rogues.start()
  await r.dial(a)
  const stream = await r.open(a, PROTOCOLS.sync)
  expect(stream.protocol).toBe(PROTOCOLS.sync)
  const reader = new StreamReader(stream, Date.now() + 10_000, 1 << 20)
  const answered = a.mesh.stats().sync.answered
  stream.send(frame(concat([new Uint8Array(32), u32(0)]))) // a digest that differs
  expect(await reader.frame(1)).toEqual(Uint8Array.of(1)) // differ
  let entries = 0
  for (;;) { const f = await reader.frame(1024); if (f === undefined) throw new Error('ended in the summary'); if (f.length === 0) break; entries++ }
  expect(entries).toBe(1) // a.txt
  stream.send(END) // no records
  stream.send(END) // no floors
  stream.send(END) // wants nothing
  await stream.close()
  expect(await reader.frame(1024)).toEqual(new Uint8Array(0)) // no records
  expect(await reader.frame(1024)).toEqual(new Uint8Array(0)) // no floors
  await reader.end() // and a closed its side after them: 4.0.0
  expect(a.mesh.stats().sync.answered).toBe(answered + 1)
  expect(a.mesh.stats().peers.penalized).toBe(0)
}, 60_000)
