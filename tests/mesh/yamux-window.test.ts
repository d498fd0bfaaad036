// Yamux window updates come at half a window, not after every frame (src/mesh/yamux-window.ts),
// and a transfer far larger than the window still flows. Two real nodes as createNode makes
// them (TCP + Noise + Yamux), on loopback.
import { afterEach, describe, expect, it } from 'vitest'
import type { Stream } from '@libp2p/interface'
import type { Config } from '../../src/config/config.js'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { Admission } from '../../src/mesh/admission.js'
import { identityFromKey } from '../../src/mesh/identity.js'
import { createNode, type MeshLibp2p } from '../../src/mesh/node.js'
import { DEFAULT_MESH_SETTINGS } from '../../src/mesh/settings.js'

const PROTOCOL = '/data-mesher-test/window/1.0.0'
const started: MeshLibp2p[] = []

async function node (): Promise<MeshLibp2p> {
  const identity = identityFromKey(generateSigningKey())
  const config = { cluster: { interfaces: ['lo'], port: 0, transports: ['tcp'], allowedNodes: [] } } as unknown as Config
  const libp2p = await createNode(config, identity, new Admission([], identity.peerId.toString()), DEFAULT_MESH_SETTINGS)
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
