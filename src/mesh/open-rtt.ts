// The round-trip time `status` shows for a connection (PeerStatus.latencyMs). Yamux pings
// every connection it carries (TCP) from both ends as it opens (its keep-alive runs once
// at once, then every yamuxKeepAliveInterval), and keeps the answer's round trip as its
// `rtt`; libp2p's Connection holds that muxer. So on TCP the latency is read from there,
// and no /ipfs/ping stream is opened for it when a connection opens: at the start of 25
// daemons that was two streams per connection, opened, negotiated and closed at both ends
// (docs/DECISIONS.md, "Fewer streams and cheaper handshakes per new connection at
// start"). A QUIC connection has no Yamux: it is still pinged once at open (index.ts).
// Liveness pings (liveness.ts) set conn.rtt, which then wins as the fresher figure.
import type { Connection } from '@libp2p/interface'

/** The part of @chainsafe/libp2p-yamux's muxer read here (not in @libp2p/interface's Connection type). */
interface WithMuxer { muxer?: { rtt?: unknown } }

/** Yamux's measured round trip of the connection, in ms; undefined when it has none (QUIC, or its first ping not answered yet). */
export function muxerRtt (conn: Connection): number | undefined {
  const rtt = yamuxRtt(conn)
  return typeof rtt === 'number' && rtt >= 0 ? rtt : undefined
}

/** Whether the connection's muxer measures its round trip as it opens (Yamux does: no ping stream needed for it). */
export function rttMeasuredAtOpen (conn: Connection): boolean {
  return typeof yamuxRtt(conn) === 'number'
}

/** Yamux's `rtt` field as it is (a number once its muxer measures one); undefined on any other muxer. */
function yamuxRtt (conn: Connection): unknown {
  return conn.multiplexer?.startsWith('/yamux/') === true ? (conn as unknown as WithMuxer).muxer?.rtt : undefined
}

/** The latency `status` shows: the last liveness ping's, else Yamux's; 0 when neither measured one. */
export function latencyOf (conn: Connection): number {
  return conn.rtt ?? muxerRtt(conn) ?? 0
}
