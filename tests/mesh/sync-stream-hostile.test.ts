// sync/5.0.0's long-lived stream against hostile peers (issue 22). A started round keeps
// every bound of 4.0.0: a request or a round that stops is cut after syncStallTimeout,
// garbage is the peer's fault. Only the wait between rounds has no stall timeout: a
// responder holds an idle stream until syncIdleTimeout, at most maxInboundStreams.sync
// of them per connection; over its budget a round is answered "not now", the stream kept.
// As initiator, a node drops a stream whose responder stalls or speaks out of turn, and
// opens a new one for the next round.
import { createHash } from 'node:crypto'
import { randomBytes } from 'node:crypto'
import type { Stream } from '@libp2p/interface'
import { afterEach, expect, it } from 'vitest'
import { Cluster, connected, waitFor, type TestNode } from './helpers.js'
import { RogueSet, type Rogue } from './rogue.js'
import { PROTOCOLS } from '../../src/mesh/settings.js'
import { StreamReader, concat, frame, u32 } from '../../src/mesh/wire.js'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

const STALL = 2_000
const IDLE_TIMEOUT = 8_000
const EQUAL = Uint8Array.of(0)
const DIFFER = Uint8Array.of(1)
const NOT_NOW = Uint8Array.of(2)
/** an empty index's digest (the node here holds nothing): a request with it is answered equal */
const EMPTY_HELLO = frame(concat([createHash('sha256').update(new Uint8Array(0)).digest(), u32(0)]))
const OTHER_HELLO = frame(concat([new Uint8Array(32), u32(0)]))

async function node (settings = {}): Promise<TestNode> {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000, settings: { syncStallTimeout: STALL, syncIdleTimeout: IDLE_TIMEOUT, ...settings } })
  return await cluster.add('n0')
}

async function open (r: Rogue, n0: TestNode): Promise<{ stream: Stream, reader: StreamReader, opened: number }> {
  const stream = await r.open(n0, PROTOCOLS.syncStream)
  expect(stream.protocol).toBe(PROTOCOLS.syncStream)
  return { stream, reader: new StreamReader(stream, Date.now() + 60_000, 1 << 20), opened: Date.now() }
}

it('a 5.0.0 stream that sends nothing, half a request, or stops inside a round is cut after syncStallTimeout, unpunished; garbage is punished', async () => {
  const n0 = await node()
  const r = await rogues.start()
  await r.dial(n0)
  await connected([n0])
  const penalized = n0.mesh.stats().peers.penalized

  const silent = await open(r, n0)
  const silentCut = await r.gone(silent.stream) - silent.opened
  const half = await open(r, n0)
  await r.write(half.stream, EMPTY_HELLO.subarray(0, 10))
  const halfCut = await r.gone(half.stream) - half.opened
  const stopped = await open(r, n0)
  await r.write(stopped.stream, OTHER_HELLO)
  expect(await stopped.reader.frame(1)).toEqual(DIFFER)
  for (;;) { const f = await stopped.reader.frame(1024); if (f === undefined) throw new Error('ended in the summary'); if (f.length === 0) break }
  const asked = Date.now() // the node now waits for our records: none come
  const stoppedCut = await r.gone(stopped.stream) - asked
  console.log(`[sync-stream-hostile] cut after ${silentCut} (nothing), ${halfCut} (half a request), ${stoppedCut} ms (inside a round); stall ${STALL} ms, idle timeout ${IDLE_TIMEOUT} ms`)
  // the stall timeout, not the idle timeout (generous bounds: a busy host's timers run late)
  for (const cut of [silentCut, halfCut, stoppedCut]) {
    expect(cut).toBeGreaterThanOrEqual(STALL - 250) // (the node starts waiting a little before the rogue sees the stream open)
    expect(cut).toBeLessThan(IDLE_TIMEOUT)
  }
  expect(n0.mesh.stats().peers.penalized).toBe(penalized)
  expect(r.connectedTo(n0)).toBe(true)

  const garbage = await open(r, n0)
  await r.write(garbage.stream, frame(randomBytes(10)))
  await waitFor(() => n0.mesh.stats().peers.penalized > penalized && !r.connectedTo(n0), 'n0 cut off the rogue')
}, 60_000)

it('between rounds a 5.0.0 stream waits past the stall timeout until syncIdleTimeout; over budget a round is answered "not now" on the open stream; a third stream on a connection is refused', async () => {
  const n0 = await node({ syncAnswerBurst: 2, syncAnswerInterval: 600_000 })
  const r = await rogues.start()
  await r.dial(n0)
  await connected([n0])
  const penalized = n0.mesh.stats().peers.penalized

  const kept = await open(r, n0)
  await r.write(kept.stream, EMPTY_HELLO)
  expect(await kept.reader.frame(1)).toEqual(EQUAL) // round 1, the stream stays open
  // a second stream that sends nothing: its cut marks that a stall timeout has passed
  const probe = await open(r, n0)
  // a third sync/5.0.0 stream on this connection is over maxInboundStreams.sync (2): reset unanswered
  const answered = n0.mesh.stats().sync.answered
  const third = await r.open(n0, PROTOCOLS.syncStream).catch(() => undefined)
  if (third !== undefined) {
    await r.write(third, EMPTY_HELLO)
    await r.gone(third)
  }
  expect(probe.stream.status).toBe('open') // the third went first: by the limit, not a timeout
  expect(n0.mesh.stats().sync.answered).toBe(answered)
  await r.gone(probe.stream)
  expect(Date.now() - probe.opened).toBeGreaterThanOrEqual(STALL - 250) // (the node starts waiting a little before the rogue sees the stream open)
  expect(kept.stream.status).toBe('open') // idle since round 1, longer than the stall timeout: kept

  await r.write(kept.stream, EMPTY_HELLO)
  expect(await kept.reader.frame(1)).toEqual(EQUAL) // round 2 on the same stream: the last of the budget
  const paced = n0.mesh.stats().sync.paced
  await r.write(kept.stream, EMPTY_HELLO)
  expect(await kept.reader.frame(1)).toEqual(NOT_NOW) // round 3: over budget
  await r.write(kept.stream, OTHER_HELLO)
  expect(await kept.reader.frame(1)).toEqual(NOT_NOW) // round 4: still over, still open
  const last = Date.now()
  expect(n0.mesh.stats().sync.paced).toBe(paced + 2)
  expect(kept.stream.status).toBe('open')

  // idle: dropped at syncIdleTimeout, not punished
  const idle = await r.gone(kept.stream) - last
  console.log(`[sync-stream-hostile] an idle 5.0.0 stream dropped ${idle} ms after its last round (idle timeout ${IDLE_TIMEOUT} ms)`)
  expect(idle).toBeGreaterThanOrEqual(IDLE_TIMEOUT - 250)
  expect(n0.mesh.stats().peers.penalized).toBe(penalized)
  expect(r.connectedTo(n0)).toBe(true)
}, 60_000)

it('as initiator, a node drops a 5.0.0 stream whose responder stalls (next round: a new stream) or speaks between rounds (its fault)', async () => {
  const n0 = await node()
  const r = await rogues.start()
  const streams: Array<{ stream: Stream, reader: StreamReader }> = []
  const hello = async (i: number): Promise<void> => {
    await waitFor(async () => streams.length > i, `n0 opened stream ${i}`)
    expect((await streams[i].reader.frame(36))?.length).toBe(36)
  }
  await r.libp2p.handle(PROTOCOLS.syncStream, (stream) => {
    streams.push({ stream, reader: new StreamReader(stream, Date.now() + 60_000, 1 << 20) })
  }, { maxInboundStreams: 16 })
  await r.dial(n0)
  await connected([n0])
  const penalized = n0.mesh.stats().peers.penalized

  let round = n0.mesh.syncNow()
  await hello(0)
  streams[0].stream.send(frame(EQUAL))
  await round
  round = n0.mesh.syncNow()
  await hello(0) // the next round on the same stream
  await round // not answered: failed after the stall timeout
  await waitFor(() => streams[0].stream.status !== 'open', 'n0 dropped the stalled stream')
  expect(n0.mesh.stats().sync).toMatchObject({ rounds: 2, equal: 1, failed: 1, streamsOpened: 1, streamsReused: 1 })

  round = n0.mesh.syncNow()
  await hello(1) // a new stream
  streams[1].stream.send(frame(EQUAL))
  await round
  // out of turn, before any request: the stream is aborted as the bytes arrive, and it is the rogue's fault
  streams[1].stream.send(frame(new Uint8Array(5)))
  await waitFor(() => n0.mesh.stats().peers.penalized > penalized, 'n0 punished the rogue')
  await waitFor(() => streams[1].stream.status !== 'open', 'n0 dropped the stream')
  expect(n0.mesh.stats().sync).toMatchObject({ rounds: 3, equal: 2, failed: 1, streamsOpened: 2, streamsReused: 1 })
}, 60_000)
