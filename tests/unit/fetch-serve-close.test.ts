// Review R5: serving a fetch, the final close of the write side waits for the peer to take
// the tail of the content. A peer that reads all but that tail must lose its serve slot
// after fetchServeStallTimeout, as one that stops at the start does — not hold it for the
// whole transfer deadline (header + slack + size / min rate: ~28 s for 2 MiB).
//
// The real Fetcher serves a real stored file from a real Replica; the stream is a stand-in
// whose close never completes until aborted, which is what a yamux stream does when the
// peer stops reading with the tail still queued. Through real yamux that moment depends
// on window updates racing the last writes and could not be produced reliably, so the
// stream is the one boundary replaced here.
import { afterEach, expect, it } from 'vitest'
import type { Connection, Stream } from '@libp2p/interface'
import { signRecord } from '../../src/crypto/record.ts'
import { Fetcher, encodeRequest } from '../../src/mesh/fetch.ts'
import type { MeshLibp2p } from '../../src/mesh/node.ts'
import { DEFAULT_MESH_SETTINGS } from '../../src/mesh/settings.ts'
import { frame } from '../../src/mesh/wire.ts'
import { Replica } from '../../src/store/replica.ts'
import { keys, policy } from '../helpers/keys.ts'
import { quietLog, tempDir } from '../helpers/fs.ts'

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

/** A stream that takes every write at once, but whose close waits until its signal aborts it. */
class TailNeverTaken extends EventTarget {
  status = 'open'
  sent = 0
  aborted?: Error
  send (data: Uint8Array): boolean { this.sent += data.byteLength; return true }
  async onDrain (): Promise<void> {}
  async close (options?: { signal?: AbortSignal }): Promise<void> {
    await new Promise<void>((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(new Error('close timed out')), { once: true }))
  }
  abort (err: Error): void { this.aborted = err; this.status = 'aborted' }
  request (bytes: Uint8Array): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data: bytes }))
    this.dispatchEvent(new Event('remoteCloseWrite'))
  }
}

it('review R5: a reader that leaves the tail untaken loses its serve slot after fetchServeStallTimeout, not at the transfer deadline', async () => {
  const [alice] = keys(1)
  const { dir, cleanup } = tempDir(); cleanups.push(cleanup)
  const replica = await Replica.open(dir, policy({ 'big.bin': [alice] }, { maxFileSize: 4 << 20 }), quietLog)
  cleanups.push(async () => await replica.close())
  const content = new Uint8Array(2 << 20).fill(7)
  const record = signRecord(alice, { name: 'big.bin', content, timestamp: Date.now() })
  expect(await replica.submit(record, content, 'test')).toMatchObject({ outcome: 'accepted' })

  const STALL = 300
  const settings = { ...DEFAULT_MESH_SETTINGS, fetchServeStallTimeout: STALL, fetchServeMaxPerPeer: 1, fetchServeMaxTotal: 1 }
  const fetcher = new Fetcher({ libp2p: {} as MeshLibp2p, settings, log: quietLog, punish: () => {}, admits: () => true }, replica)
  const connection = { remotePeer: { toString: () => 'the-slow-reader' } } as unknown as Connection

  const stream = new TailNeverTaken()
  const started = Date.now()
  const served = fetcher.handle(stream as unknown as Stream, connection)
  stream.request(frame(encodeRequest(record)))
  await served
  const held = Date.now() - started
  console.log(`[fetch-serve-close] slot held ${held} ms by a reader that left the tail (stall timeout ${STALL} ms)`)
  expect(stream.sent).toBeGreaterThan(content.length) // every byte was written; only the close waited
  expect(held).toBeLessThan(STALL + 2_000)
  expect(stream.aborted).toBeDefined()

  // the slot is free again: the next request is served, not answered busy
  const next = new TailNeverTaken()
  const again = fetcher.handle(next as unknown as Stream, connection)
  next.request(frame(encodeRequest(record)))
  await again
  expect(fetcher.counters.busy).toBe(0)
  expect(next.sent).toBeGreaterThan(content.length)
}, 60_000)
