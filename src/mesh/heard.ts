// When this node last received bytes on a TCP connection, for liveness.ts: a connection
// that carried anything lately needs no ping.
//
// Noted on the connection @libp2p/tcp hands to the upgrader (its MultiaddrConnection,
// wrapped by tcp-writes.ts), whose `onData` takes every chunk the socket read, before
// Noise and Yamux. `onData` is wrapped rather than listened to: a second 'message'
// listener on that stream would let it dispatch data while the encrypter has no listener
// of its own (during the handshake it reads with listeners it adds and removes), and
// that data would be lost.
import type { Connection, MultiaddrConnection } from '@libp2p/interface'

const heardAt = new WeakMap<object, number>()

interface TakesData { onData: (data: unknown) => void }

/** Notes the time of every chunk read on `maConn`; returns it. */
export function noteReads (maConn: MultiaddrConnection, now: () => number = Date.now): MultiaddrConnection {
  const conn = maConn as unknown as TakesData
  if (typeof conn.onData !== 'function') return maConn // not the shape this expects: never noted, so always pinged
  const onData = conn.onData.bind(maConn)
  conn.onData = (data) => { heardAt.set(maConn, now()); onData(data) }
  return maConn
}

/** When bytes last arrived on the connection (ms, the clock noteReads was given); undefined if unknown or never. */
export function lastReceived (conn: Connection): number | undefined {
  // libp2p's Connection keeps the MultiaddrConnection it was upgraded from (not in its public type)
  const maConn = (conn as unknown as { maConn?: object }).maConn
  return maConn === undefined ? undefined : heardAt.get(maConn)
}
