// Liveness (src/mesh/liveness.ts): a real node pings a TCP connection only when nothing
// has arrived on it for pingInterval, closes one whose ping goes unanswered, and leaves
// QUIC connections to QUIC's keep-alive. The peers are rogues (real libp2p nodes) whose
// ping handler counts what the node sends them.
import { afterEach, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { PING_PROTOCOL } from '../../src/mesh/liveness.js'
import { muxerRtt, rttMeasuredAtOpen } from '../../src/mesh/open-rtt.js'
import { StreamReader } from '../../src/mesh/wire.js'
import { Cluster, waitFor, type TestNode } from './helpers.js'
import { Rogue, RogueSet } from './rogue.js'

const PING_INTERVAL = 800
let cluster: Cluster
const rogues = new RogueSet()

afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close()
})

/** A node that does nothing on its own for minutes (no sync round), but liveness. */
async function quietNode (transports: Array<'tcp' | 'quic'> = ['tcp']): Promise<TestNode> {
  cluster = new Cluster({ transports, syncInterval: 600_000, settings: { pingInterval: PING_INTERVAL, pingTimeout: 400 } })
  return await cluster.add('a')
}

/** Replaces the rogue's ping handler: counts the pings it is sent, and echoes them unless `answer` is false. */
async function countPings (rogue: Rogue, answer = true): Promise<() => number> {
  let pings = 0
  await rogue.libp2p.unhandle(PING_PROTOCOL)
  await rogue.libp2p.handle(PING_PROTOCOL, async (stream: Stream) => {
    const reader = new StreamReader(stream, Date.now() + 60_000, 1024)
    try {
      for (;;) {
        const payload = await reader.bytes(32)
        pings++
        if (answer) stream.send(payload)
      }
    } catch { stream.abort(new Error('rogue ping reader done')) }
  }, { runOnLimitedConnection: true })
  return () => pings
}

describe('liveness', () => {
  it('pings a silent TCP connection every pingInterval, and not one the peer keeps busy', async () => {
    const node = await quietNode()
    const [silent, busy] = await Promise.all([rogues.start(), rogues.start()])
    const silentPings = await countPings(silent)
    const busyPings = await countPings(busy)
    await Promise.all([silent.dial(node), busy.dial(node)])
    // the busy peer sends something every quarter interval (its own pings of the node)
    const traffic = setInterval(() => { void busy.libp2p.services.ping.ping(multiaddr(`/ip4/127.0.0.1/tcp/${node.port}/p2p/${node.peerId}`)).catch(() => {}) }, PING_INTERVAL / 4)
    try {
      // no ping at connect on TCP (the status's round trip is Yamux's: src/mesh/open-rtt.ts), so every ping counted is liveness's
      await waitFor(() => silentPings() >= 3, 'three pings of the silent connection', [], 10_000)
      expect(busyPings()).toBe(0)
      // what made the ping on connect unneeded: libp2p's TCP connections carry Yamux's measured round trip
      const conns = node.mesh.libp2p.getConnections()
      expect(conns.length).toBeGreaterThanOrEqual(2)
      expect(conns.every(c => rttMeasuredAtOpen(c) && muxerRtt(c) !== undefined)).toBe(true)
      expect(silent.connectedTo(node) && busy.connectedTo(node)).toBe(true)
    } finally { clearInterval(traffic) }
  })

  it('closes a TCP connection whose ping is not answered within pingTimeout', async () => {
    const node = await quietNode()
    const mute = await rogues.start()
    const pings = await countPings(mute, false)
    const conn = await mute.dial(node)
    await waitFor(() => pings() >= 1, 'a liveness ping (none on connect on TCP)', [], 10_000)
    // that connection (the node may dial the rogue again later: a new one)
    await waitFor(() => conn.status !== 'open', 'the node closing the connection', [], 5_000)
    expect(node.mesh.stats().liveness.pingFailures).toBeGreaterThanOrEqual(1)
  })

  it('does not ping a QUIC connection (QUIC keeps it alive itself)', async () => {
    const node = await quietNode(['quic', 'tcp'])
    const peer = await Rogue.start(['quic'])
    const clock = await rogues.start() // a silent TCP peer: its pings show the liveness timer ran
    try {
      const pings = await countPings(peer)
      const clockPings = await countPings(clock)
      const quicAddr = node.mesh.status().addresses.find(a => a.startsWith('/ip4/127.0.0.1/udp/') && a.includes('/quic-v1'))
      expect(quicAddr).toBeDefined()
      await peer.libp2p.dial(multiaddr(quicAddr!), { signal: AbortSignal.timeout(5000) })
      await clock.dial(node)
      // a QUIC connection (no Yamux) is still pinged once on connect, for the status's round trip
      await waitFor(() => pings() >= 1, 'the ping on connect of the QUIC connection')
      const p0 = pings(); const c0 = clockPings()
      await waitFor(() => clockPings() >= c0 + 3, 'three liveness pings of the TCP peer', [], 10_000)
      expect(pings() - p0).toBe(0)
      expect(peer.connectedTo(node)).toBe(true)
    } finally { await peer.stop() }
  })
})
