// Hedged fetches judged on progress (src/mesh/fetch.ts): a source that keeps delivering is
// not doubled however long the file takes; one that sends nothing, or trickles, is hedged
// within about fetchHedgeDelay. A real node fetches from a rogue that serves the content
// at the pace the test sets.
import { afterEach, describe, expect, it } from 'vitest'
import type { Stream } from '@libp2p/interface'
import { encodeRecord, signRecord, type SignedRecord } from '../../src/crypto/record.js'
import { concat, frame, u64 } from '../../src/mesh/wire.js'
import { Cluster, converged, waitFor, type TestNode } from './helpers.js'
import { RogueSet } from './rogue.js'

let cluster: Cluster
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close()
})

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** Sends `content` after the OK header, `chunk` bytes every `everyMs`, stopping when the stream fails. */
async function paced (stream: Stream, content: Uint8Array, chunk: number, everyMs: number): Promise<void> {
  stream.send(frame(concat([Uint8Array.of(0), u64(content.length)])))
  for (let at = 0; at < content.length; at += chunk) {
    if (stream.status !== 'open') return
    if (!stream.send(content.subarray(at, at + chunk))) await stream.onDrain()
    await sleep(everyMs)
  }
  await stream.close().catch(() => {})
}

/**
 * A node, and a rogue that announces a 3 MiB version of big.bin to it and serves the
 * content `chunk` bytes every `everyMs`; resolves once the announcement is sent.
 */
async function pacedSource (chunk: number, everyMs: number): Promise<{ node: TestNode, record: SignedRecord }> {
  cluster = new Cluster({ transports: ['tcp'] })
  const node = await cluster.add('a')
  const r = await rogues.start()
  const content = new Uint8Array(3 * 1024 * 1024).fill(7)
  const record = signRecord(cluster.signer, { name: 'big.bin', content, timestamp: Date.now() })
  await r.serveFetch(async (_req, stream) => { await paced(stream, content, chunk, everyMs) })
  await r.announce(node, [encodeRecord(record)])
  return { node, record }
}

describe('hedged fetches', () => {
  it('do not double a source that keeps delivering, even one slower than the file\'s size suggests', async () => {
    const { node, record } = await pacedSource(64 * 1024, 50) // ~1.3 MiB/s: ~2.4 s
    await converged(record, [node], 30_000)
    expect(node.mesh.stats().fetch.hedged).toBe(0)
  })

  it('hedge a source that sends the header and then trickles', async () => {
    const asked = Date.now()
    const { node } = await pacedSource(1024, 200) // 5 KiB/s
    await waitFor(() => node.mesh.stats().fetch.hedged >= 1, 'the trickling source hedged', [], 10_000)
    expect(Date.now() - asked).toBeLessThan(3_000)
  })
})
