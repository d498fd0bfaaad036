// src/mesh/open-rtt.ts: the latency status shows for a connection, with no ping stream at
// open on Yamux (TCP) connections: a liveness ping's round trip first, else Yamux's, else 0.
import { describe, expect, it } from 'vitest'
import type { Connection } from '@libp2p/interface'
import { latencyOf, muxerRtt, rttMeasuredAtOpen } from '../../src/mesh/open-rtt.js'

const conn = (o: { multiplexer?: string, muxerRtt?: number, rtt?: number }): Connection =>
  ({ multiplexer: o.multiplexer, rtt: o.rtt, muxer: o.muxerRtt === undefined ? undefined : { rtt: o.muxerRtt } }) as unknown as Connection

describe('open-rtt', () => {
  it('Yamux connections measure their round trip at open; others (QUIC) do not', () => {
    expect(rttMeasuredAtOpen(conn({ multiplexer: '/yamux/1.0.0', muxerRtt: -1 }))).toBe(true)
    expect(rttMeasuredAtOpen(conn({ multiplexer: undefined }))).toBe(false)
    expect(rttMeasuredAtOpen(conn({ multiplexer: '/mplex/6.7.0', muxerRtt: 3 }))).toBe(false)
  })

  it('the latency: a liveness ping\'s, else Yamux\'s once answered, else 0 (not measured)', () => {
    expect(latencyOf(conn({ multiplexer: '/yamux/1.0.0', muxerRtt: 4, rtt: 7 }))).toBe(7)
    expect(latencyOf(conn({ multiplexer: '/yamux/1.0.0', muxerRtt: 4 }))).toBe(4)
    expect(muxerRtt(conn({ multiplexer: '/yamux/1.0.0', muxerRtt: -1 }))).toBeUndefined() // its first ping not answered yet
    expect(latencyOf(conn({ multiplexer: '/yamux/1.0.0', muxerRtt: -1 }))).toBe(0)
    expect(latencyOf(conn({}))).toBe(0)
  })
})
