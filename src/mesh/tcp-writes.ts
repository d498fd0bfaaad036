// One socket write per encrypted message on TCP.
//
// Noise frames each message as a 2-byte length and the ciphertext, two buffers of one
// list, and @libp2p/tcp writes every buffer of a list with a socket write of its own. With
// TCP_NODELAY (libp2p's default) that is two system calls and two TCP segments for every
// yamux frame: an idle daemon's keep-alives, every announcement and notice. strace of an
// idle daemon showed the pairs (`write(fd, "\0\34", 2)` then the 28 bytes). This joins the
// buffers of one send into one before the socket sees them, so the kernel gets one write
// and the peer one segment to read (docs/DECISIONS.md, "One socket write per message").
//
// The transport is @libp2p/tcp's own; only the connection it hands to the upgrader (its
// MultiaddrConnection, whose `sendData` takes what the encrypter produced) is wrapped.
// The same wrapper notes when the connection last received bytes (heard.ts, for liveness.ts).
import { tcp, type TCPComponents, type TCPOptions } from '@libp2p/tcp'
import type { CreateListenerOptions, DialTransportOptions, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { noteReads } from './heard.js'

/** Above this a send is passed as it is: copying a large one buys nothing against its write. */
const JOIN_MAX_BYTES = 256 * 1024

interface SendsData {
  sendData: (data: Uint8ArrayList) => { sentBytes: number, canSendMore: boolean }
}

/** Wraps a connection's sendData so that a send of several buffers reaches the socket as one. */
export function joinWrites (maConn: MultiaddrConnection): MultiaddrConnection {
  const conn = maConn as unknown as SendsData
  if (typeof conn.sendData !== 'function') return maConn // not the shape this expects: left as it is
  const send = conn.sendData.bind(maConn)
  conn.sendData = (data) => send(data.byteLength <= JOIN_MAX_BYTES && severalBuffers(data) ? new Uint8ArrayList(data.subarray()) : data)
  return maConn
}

function severalBuffers (data: Uint8ArrayList): boolean {
  const buffers = data[Symbol.iterator]()
  buffers.next()
  return buffers.next().done !== true
}

function wrapUpgrader (upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get (target, prop) {
      if (prop === 'upgradeInbound') return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeInbound']>[1]) => { await target.upgradeInbound(noteReads(joinWrites(maConn)), opts) }
      if (prop === 'upgradeOutbound') return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]) => await target.upgradeOutbound(noteReads(joinWrites(maConn)), opts)
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

/** @libp2p/tcp, with one socket write per send (see above) and the time of its last read noted (heard.ts). */
export function tcpJoinedWrites (init?: TCPOptions): (components: TCPComponents) => Transport {
  const factory = tcp(init)
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma, options: DialTransportOptions) => await dial(ma, { ...options, upgrader: wrapUpgrader(options.upgrader) })
    transport.createListener = (options: CreateListenerOptions) => createListener({ ...options, upgrader: wrapUpgrader(options.upgrader) })
    return transport
  }
}
