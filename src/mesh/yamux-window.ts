// Yamux window updates at half a window, as the Yamux specification's reference
// implementation sends them, instead of after every data frame.
//
// @chainsafe/libp2p-yamux 8 answers each data frame it receives with a window update
// frame for exactly the bytes just read. On a stream that carries small messages (an
// announcement, a notice, a sync digest) that doubles the frames: each update is a
// Noise message and a socket write of its own on the receiver, and a read, a decryption
// and a frame to handle on the sender. Measured on loopback (TCP + Noise, 3,000 messages
// of 1.3 KB, one per event-loop turn, 3 runs): 318 → 245 µs of CPU per message on the
// receiver and 362 → 235 µs on the sender (docs/DECISIONS.md, "Yamux window updates at
// half a window").
//
// The sender may use the whole window (256 KiB at first, growing to 16 MiB); a window
// update is still sent once half of it has been read, so a sender of a large file never
// waits on a full window (it always has at least half a window in hand), and SYN/ACK
// flags and a resumed stream go out as before. The wire format is Yamux's; a peer
// running the library unchanged interoperates (it only sees fewer updates).
//
// The library offers no option for this; its stream class is exported (package export
// `./stream`), so the one method is wrapped, once, when the node is created. The test
// (tests/mesh/yamux.test.ts) fails should a new version rename what it relies on.
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

/** What the wrapper reads of a stream: the library's own fields (private in its types). */
interface WindowState {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

let installed = false

/** Wraps YamuxStream's window update so that it is sent at half a window read; idempotent. */
export function windowUpdatesAtHalf (): void {
  if (installed) return
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: WindowState) => void }
  const original = proto.sendWindowUpdate
  if (typeof original !== 'function') throw new Error('@chainsafe/libp2p-yamux changed: YamuxStream.sendWindowUpdate is gone (src/mesh/yamux-window.ts)')
  proto.sendWindowUpdate = function (this: WindowState): void {
    // only an established stream skips: its first frames carry SYN/ACK flags, and a paused one
    // records its epoch in the original
    if (this.state === StreamState.Established && this.recvWindowCapacity * 2 > this.recvWindow) return
    original.call(this)
  }
  installed = true
}
