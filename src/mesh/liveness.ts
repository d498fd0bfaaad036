// Liveness of connections: a TCP connection nothing has arrived on for pingInterval is
// pinged (/ipfs/ping/1.0.0, a stream on that connection); a ping that fails or is not
// answered within pingTimeout closes the connection. This is how a peer whose host is
// gone without a reset is found, and it keeps a NAT or firewall mapping warm.
//
// It replaces libp2p's connection monitor, which pinged every connection from both ends
// every pingInterval whatever it carried: each ping a stream opened, negotiated and
// closed on both sides. At idle a connection carries a sync round from one of its ends
// every ~40 s (5 s rounds spread over ~15 peers), which proves the peer alive as well
// as a ping does (docs/DECISIONS.md, "Pings only on silent connections").
//
// QUIC connections are not pinged: QUIC's own keep-alive (quicKeepAliveInterval) finds a
// dead peer within quicMaxIdleTimeout, without a stream.
import { randomBytes } from 'node:crypto'
import type { Connection } from '@libp2p/interface'
import type { MeshContext } from './context.js'
import { lastReceived } from './heard.js'
import type { MeshLibp2p } from './node.js'
import { pingDue } from './proto/liveness.js'
import { jitter, type TransportSettings } from './settings.js'
import { StreamReader } from './wire.js'

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

/** What Liveness uses: the log, its two settings, and libp2p's open connections. */
export interface LivenessContext extends Pick<MeshContext, 'log'> {
  readonly settings: Pick<TransportSettings, 'pingInterval' | 'pingTimeout'>
  readonly libp2p: Pick<MeshLibp2p, 'getConnections'>
}

export class Liveness {
  counters = { pings: 0, pingFailures: 0 }
  private readonly pingedAt = new WeakMap<Connection, number>()
  private timer?: NodeJS.Timeout
  private stopped = false

  constructor (private readonly ctx: LivenessContext, private readonly now: () => number = Date.now) {}

  /** Looks every quarter of pingInterval (jittered) for connections due for a ping. */
  start (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => { this.check(); this.start() }, jitter(this.ctx.settings.pingInterval / 4, 0.2))
    this.timer.unref()
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  /** Pings every open TCP connection that is due (proto/liveness.ts). */
  check (): void {
    const now = this.now()
    for (const conn of this.ctx.libp2p.getConnections()) {
      if (conn.status !== 'open' || isQuic(conn)) continue
      const times = { openedAt: conn.timeline.open, receivedAt: lastReceived(conn), pingedAt: this.pingedAt.get(conn) }
      if (!pingDue(times, now, this.ctx.settings.pingInterval)) continue
      this.pingedAt.set(conn, now)
      void this.ping(conn)
    }
  }

  private async ping (conn: Connection): Promise<void> {
    this.counters.pings++
    const started = this.now()
    const deadline = Date.now() + this.ctx.settings.pingTimeout
    let stream
    try {
      stream = await conn.newStream(PING_PROTOCOL, { signal: AbortSignal.timeout(this.ctx.settings.pingTimeout), runOnLimitedConnection: true })
      const sent = randomBytes(PING_BYTES)
      const reader = new StreamReader(stream, deadline, PING_BYTES)
      stream.send(sent)
      const echo = await reader.bytes(PING_BYTES)
      if (!sent.equals(echo)) throw new Error('the ping came back changed')
      conn.rtt = this.now() - started
      await stream.close().catch(() => {})
    } catch (err) {
      stream?.abort(err as Error)
      if ((err as Error).name === 'UnsupportedProtocolError') return // alive, it answered; it does not speak ping
      this.counters.pingFailures++
      this.ctx.log.debug({ peer: conn.remotePeer.toString(), err: (err as Error).message }, 'ping failed: closing the connection')
      conn.abort(err as Error)
    }
  }
}

function isQuic (conn: Connection): boolean {
  return conn.remoteAddr.getComponents().some(c => c.name === 'quic-v1' || c.name === 'quic')
}
