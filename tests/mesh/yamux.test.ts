// Yamux as createNode sets it up: window updates come at half a window, not after every
// frame (src/mesh/yamux-window.ts), and a transfer far larger than the window still
// flows; keep-alive pings come every yamuxKeepAliveInterval, not the library's 30 s.
// Two real nodes (TCP + Noise + Yamux), on loopback.
import { afterEach, describe, expect, it } from 'vitest'
import type { Stream } from '@libp2p/interface'
import type { Config } from '../../src/config/config.js'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { Admission } from '../../src/mesh/admission.js'
import { identityFromKey } from '../../src/mesh/identity.js'
import { createNode, type MeshLibp2p } from '../../src/mesh/node.js'
import { DEFAULT_MESH_SETTINGS, type MeshSettings } from '../../src/mesh/settings.js'

const PROTOCOL = '/data-mesher-test/window/1.0.0'
const started: MeshLibp2p[] = []

async function node (settings: MeshSettings = DEFAULT_MESH_SETTINGS): Promise<MeshLibp2p> {
  const identity = identityFromKey(generateSigningKey())
  const config = { cluster: { interfaces: ['lo'], port: 0, transports: ['tcp'], allowedNodes: [] } } as unknown as Config
  const libp2p = await createNode(config, identity, new Admission([], identity.peerId.toString()), settings)
  await libp2p.start()
  started.push(libp2p)
  return libp2p
}

/** A receiver that reads `bytes` off the stream and then says how many it read. */
async function pair (bytes: number): Promise<{ stream: Stream, read: Promise<number> }> {
  const [sender, receiver] = await Promise.all([node(), node()])
  let done!: (n: number) => void
  const read = new Promise<number>(resolve => { done = resolve })
  await receiver.handle(PROTOCOL, async (stream) => {
    let got = 0
    for await (const chunk of stream) {
      got += chunk.byteLength
      if (got >= bytes) break
    }
    done(got)
  })
  const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0], PROTOCOL)
  return { stream, read }
}

/** Counts the window updates the stream's sender is given (the library's own handler, wrapped on this instance). */
function countWindowUpdates (stream: Stream): () => number {
  const s = stream as unknown as { handleWindowUpdate: (frame: unknown) => void }
  expect(typeof s.handleWindowUpdate).toBe('function') // a Yamux stream, as the wrapper expects
  const original = s.handleWindowUpdate.bind(s)
  let n = 0
  s.handleWindowUpdate = (frame) => { n++; original(frame) }
  return () => n
}

afterEach(async () => { await Promise.allSettled(started.splice(0).map(async n => await n.stop())) })

describe('yamux window updates', () => {
  it('come once half a window is read, not once per message', async () => {
    const messages = 300
    const size = 1300 // an announcement's size
    const { stream, read } = await pair(messages * size)
    const updates = countWindowUpdates(stream)
    const message = new Uint8Array(size).fill(1)
    for (let i = 0; i < messages; i++) {
      stream.send(message)
      await new Promise(resolve => setImmediate(resolve)) // one frame per turn, as separate announcements go
    }
    expect(await read).toBe(messages * size)
    // 390 kB through a 256 KiB window: an update per 128 KiB read (the library alone: one per message)
    expect(updates()).toBeLessThanOrEqual(Math.ceil(messages * size / (128 * 1024)))
  })

  it('lets a transfer many windows long through', async () => {
    const total = 8 * 1024 * 1024
    const { stream, read } = await pair(total)
    const updates = countWindowUpdates(stream)
    const chunk = new Uint8Array(64 * 1024).fill(2)
    for (let sent = 0; sent < total; sent += chunk.byteLength) {
      if (!stream.send(chunk)) await stream.onDrain()
    }
    expect(await read).toBe(total)
    expect(updates()).toBeGreaterThan(0) // the sender waited on window updates and got them
  })
})

/** Counts the keep-alive pings (not answers) `at` receives on its connection to `from` (the muxer's own handler, wrapped). */
async function countPings (at: MeshLibp2p, from: MeshLibp2p): Promise<() => number> {
  const conn = await at.dial(from.getMultiaddrs()[0])
  const muxer = (conn as unknown as { muxer?: { handlePing: (header: { flag: number }) => void } }).muxer
  expect(typeof muxer?.handlePing).toBe('function') // a Yamux muxer, as this test expects
  const original = muxer!.handlePing.bind(muxer)
  let n = 0
  muxer!.handlePing = (header) => { if ((header.flag & 1) === 1) n++; original(header) } // SYN: a ping, not an answer
  return () => n
}

async function until (what: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

describe('yamux keep-alives', () => {
  it('come every yamuxKeepAliveInterval', async () => {
    const pinger = await node({ ...DEFAULT_MESH_SETTINGS, yamuxKeepAliveInterval: 200 })
    const pings = await countPings(await node(), pinger)
    await until(() => pings() >= 4, 10_000) // one at the start, then every 200 ms
  })

  it('by default, none but the first for minutes (the library alone: every 30 s)', async () => {
    expect(DEFAULT_MESH_SETTINGS.yamuxKeepAliveInterval).toBeGreaterThanOrEqual(300_000)
    const quiet = await node()
    const watcher = await node({ ...DEFAULT_MESH_SETTINGS, yamuxKeepAliveInterval: 200 })
    // the watcher's own pings are answered: once it has seen 4 answers' worth of time, the
    // default node has sent at most its first ping
    const pings = await countPings(watcher, quiet)
    const answeredBy = await countPings(quiet, watcher)
    await until(() => answeredBy() >= 4, 10_000)
    expect(pings()).toBeLessThanOrEqual(1)
  })
})
