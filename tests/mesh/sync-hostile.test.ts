// sync/4.0.0 against hostile peers: only what was named in a summary may be asked for,
// and only what was asked for may be sent. Anything else is the peer's fault.
import { randomBytes } from 'node:crypto'
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, waitFor, type TestNode } from './helpers.js'
import { RogueSet, type Rogue } from './rogue.js'
import { encodeRecord, recordId, signRecord } from '../../src/crypto/record.js'
import { PROTOCOLS } from '../../src/mesh/settings.js'
import { encodeEntry, CURRENT_SLOT } from '../../src/mesh/sync-summary.js'
import { StreamReader, concat, frame, u32 } from '../../src/mesh/wire.js'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

const END = frame(new Uint8Array(0))

async function punished (r: Rogue, node: TestNode, before: number): Promise<void> {
  await waitFor(() => node.mesh.stats().peers.penalized > before && !r.connectedTo(node), `${node.name} cut off the rogue`)
}

/** Reads frames up to an empty one; returns how many came before it. */
async function untilEnd (reader: StreamReader, max: number): Promise<number> {
  for (let n = 0; ; n++) {
    const f = await reader.frame(max)
    if (f === undefined) throw new Error('stream ended before the end marker')
    if (f.length === 0) return n
  }
}

it('a responder that sends a record the node did not ask for is cut off; the one it asked for was not taken from it', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0')
  await n0.upload({ name: 'a.txt', content: bytes('v1'), timestamp: Date.now() - 10_000 })
  const wanted = signRecord(cluster.signer, { name: 'a.txt', content: bytes('v2'), timestamp: Date.now() - 5_000 })
  const other = signRecord(cluster.signer, { name: 'b.txt', content: bytes('not asked for'), timestamp: Date.now() - 5_000 })
  const r = await rogues.start()
  let asked: Uint8Array | undefined
  await r.serveSync(async (reader, stream) => {
    await reader.frame(36) // hello
    stream.send(frame(Uint8Array.of(1)))
    stream.send(frame(encodeEntry({ name: 'a.txt', tag: CURRENT_SLOT, timestamp: wanted.timestamp, id: recordId(wanted) })))
    stream.send(END)
    await untilEnd(reader, 1024) // the records the node thinks we lack
    await untilEnd(reader, 1024) // the floors it thinks we lack (4.0.0)
    asked = await reader.frame(32)
    await untilEnd(reader, 32)
    stream.send(frame(encodeRecord(other))) // not the one asked for
    stream.send(END)
    await stream.close()
  })
  await r.dial(n0)
  await connected([n0])
  const before = n0.mesh.stats().peers.penalized
  await n0.mesh.syncNow()
  await punished(r, n0, before)
  expect(Buffer.from(asked!).equals(Buffer.from(recordId(wanted)))).toBe(true) // it asked for exactly the newer version
  expect(n0.replica.get('b.txt')).toBeUndefined()
}, 60_000)

it('an initiator that wants a record id not in the node\'s summary is cut off and gets nothing', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0')
  const held = await n0.upload({ name: 'a.txt', content: bytes('v1') })
  const r = await rogues.start()
  const stream = await r.open(n0, PROTOCOLS.sync)
  const reader = new StreamReader(stream, Date.now() + 10_000, 1 << 20)
  stream.send(frame(concat([randomBytes(32), u32(0)]))) // a digest that differs
  expect([...(await reader.frame(1))!]).toEqual([1])
  expect(await untilEnd(reader, 512)).toBe(1) // one entry: n0's a.txt
  const before = n0.mesh.stats().peers.penalized
  stream.send(END) // no records
  stream.send(END) // no floors (4.0.0)
  stream.send(frame(randomBytes(32))) // an id n0 never named
  stream.send(END)
  await stream.close().catch(() => {})
  await punished(r, n0, before)
  // no record came back: the stream was aborted before anything after the summary
  let after = 0
  try { for (let f = await reader.frame(1024); f !== undefined; f = await reader.frame(1024)) after++ } catch {}
  expect(after).toBe(0)
  expect(n0.has(held)).toBe(true)
}, 60_000)

it('an initiator that wants an id from the summary gets exactly that record', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0')
  const a = await n0.upload({ name: 'a.txt', content: bytes('a') })
  await n0.upload({ name: 'b.txt', content: bytes('b') })
  const r = await rogues.start()
  const stream = await r.open(n0, PROTOCOLS.sync)
  const reader = new StreamReader(stream, Date.now() + 10_000, 1 << 20)
  stream.send(frame(concat([randomBytes(32), u32(0)])))
  expect([...(await reader.frame(1))!]).toEqual([1])
  expect(await untilEnd(reader, 512)).toBe(2)
  stream.send(END) // no records
  stream.send(END) // no floors (4.0.0)
  stream.send(frame(recordId(a)))
  stream.send(END)
  await stream.close()
  const got = await reader.frame(1024)
  expect(Buffer.from(got!).equals(Buffer.from(encodeRecord(a)))).toBe(true)
  expect((await reader.frame(1024))?.length).toBe(0) // end of the records
  expect((await reader.frame(1024))?.length).toBe(0) // no floors were wanted
  expect(await reader.frame(1024)).toBeUndefined()
  expect(n0.mesh.stats().peers.penalized).toBe(0)
}, 60_000)
