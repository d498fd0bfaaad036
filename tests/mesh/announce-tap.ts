// A tap on the announce streams a real node receives: the first frame of every FULL, as
// its bytes arrived, and the protocol id and sender of the stream it came on. Read beside
// the node's own reader, never instead of it: the node's handler for the id is wrapped
// (registered again, `force`), and the tap's 'message' listener is added in the same call
// as the handler's reader adds its own (a listener added before would be handed the bytes
// libp2p buffered until then, and the reader added a microtask later would miss them).
// Not libp2p's stream middleware (`libp2p.use`): in libp2p 3.3.11 it breaks the streams of
// the id (the registrar keeps the function given where an array is expected, and pushes
// the handler onto the stored array at each inbound stream). Frames are the wire's
// (src/mesh/wire.ts): a varint length, then the bytes.
import type { Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import type { TestNode } from './helpers.js'

const FULL = 0x01

/** A FULL's first frame as a node received it. */
export interface TappedFull { from: string, protocol: string, head: Uint8Array }

/** Splits a stream's bytes into frames; the frame after a FULL's first is its inline content (skipped). */
class FrameSplitter {
  private readonly buf = new Uint8ArrayList()
  private inline = false
  constructor (private readonly onFull: (head: Uint8Array) => void) {}

  push (data: Uint8ArrayList | Uint8Array): void {
    this.buf.append(data)
    for (;;) {
      let length = 0
      let scale = 1
      let at = 0
      for (;; at++) {
        if (at >= this.buf.byteLength) return // the length is not all here yet
        const b = this.buf.get(at)
        length += (b & 0x7f) * scale
        scale *= 0x80
        if ((b & 0x80) === 0) break
      }
      if (this.buf.byteLength < at + 1 + length) return
      const payload = this.buf.subarray(at + 1, at + 1 + length)
      this.buf.consume(at + 1 + length)
      if (this.inline) this.inline = false
      else if (payload[0] === FULL) { this.inline = true; this.onFull(payload) }
    }
  }
}

/** The registrar of the libp2p node (a public field of its class, not of the interface the mesh types it by). */
interface WithRegistrar { components: { registrar: { getHandler: (protocol: string) => { handler: StreamHandler, options: StreamHandlerOptions } } } }

/** Records every FULL `node` receives on inbound streams of `protocol` (from now on) in `into`. */
export async function tapFulls (node: TestNode, protocol: string, into: TappedFull[]): Promise<void> {
  const libp2p = node.mesh.libp2p
  const { handler, options } = (libp2p as unknown as WithRegistrar).components.registrar.getHandler(protocol)
  await libp2p.handle(protocol, async (stream: Stream, connection) => {
    const from = connection.remotePeer.toString()
    const split = new FrameSplitter(head => into.push({ from, protocol: stream.protocol, head }))
    const add = stream.addEventListener.bind(stream) as (...args: unknown[]) => void
    let tapped = false
    stream.addEventListener = ((...args: unknown[]) => {
      if (!tapped && args[0] === 'message') {
        tapped = true
        add('message', (evt: { data: Uint8ArrayList | Uint8Array }) => { split.push(evt.data) })
      }
      add(...args)
    }) as typeof stream.addEventListener
    await handler(stream, connection)
  }, { ...options, force: true })
}
