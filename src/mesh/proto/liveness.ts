// Which connections to ping (adapter: ../liveness.ts). No timers, no clock: time is
// passed in.
//
// A ping proves the peer is still there; so does anything else it sent. A connection is
// due for a ping once it has been open, silent (nothing received) and unpinged for
// `interval`. Busy connections are never pinged; on an idle one, whichever end's timer
// comes first pings, and the other end has then heard the ping.

export interface LivenessTimes {
  /** when the connection opened */
  openedAt: number
  /** when bytes last arrived on it; undefined when that is not known (then only the other two count) */
  receivedAt?: number
  /** when this node last pinged it */
  pingedAt?: number
}

export function pingDue (c: LivenessTimes, now: number, interval: number): boolean {
  return now - Math.max(c.openedAt, c.receivedAt ?? -Infinity, c.pingedAt ?? -Infinity) >= interval
}
