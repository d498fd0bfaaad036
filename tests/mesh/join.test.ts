// Joining without crowding the bootstrap node (issue 23, item 5). With 100 daemons that
// all bootstrapped from one node, that node held 39 connections (maxPeers 16) after 20 s:
// it could trim nobody younger than trimGrace, and every peer it trimmed came straight
// back. Now a newcomer that arrives while the node is full is let go first, after
// joinGrace (it has learnt other peers from the node's peer-exchange answer by then), and
// a peer let go while it holds other links backs off before it comes back, and is left
// out of exploration for a while (proto/overlay.ts).
import { afterEach, describe, expect, it } from 'vitest'
import { Cluster, bytes, converged, waitFor, type TestNode } from './helpers.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const N = 30
const MAX_PEERS = 8
// the daemon's own trimming, joining and exploring timings (FAST's are shorter): nobody
// younger than trimGrace is trimmed, newcomers go after joinGrace, one extra dial a minute
const TRIM_GRACE = 30_000
const JOIN_GRACE = 10_000
const EXPLORE_INTERVAL = 60_000

describe('joining through one bootstrap node', () => {
  it(`${N} nodes bootstrapping from one: it keeps at most maxPeers, lets newcomers go on to the others, and everyone converges`, async () => {
    cluster = new Cluster({ transports: ['tcp'], settings: { targetPeers: 4, maxPeers: MAX_PEERS, trimGrace: TRIM_GRACE, joinGrace: JOIN_GRACE, exploreInterval: EXPLORE_INTERVAL } })
    const hub = await cluster.add('hub')
    const nodes: TestNode[] = [hub]
    for (let i = 1; i < N; i++) nodes.push(await cluster.add(`n${i}`, { bootstrap: [hub.hostPort] }))
    const joined = Date.now()
    const open = (): Array<{ peer: string, opened: number }> => hub.mesh.libp2p.getConnections().filter(c => c.status === 'open').map(c => ({ peer: c.remotePeer.toString(), opened: c.timeline.open }))
    // everyone joins: each node has a peer besides the hub
    await waitFor(() => nodes.slice(1).every(n => n.mesh.status().peers.some(p => p.peerId !== hub.peerId)), 'every node has a peer besides the hub', [], 60_000)
    // from 20 s after the last node started (joinGrace and some), for 15 s: what the hub
    // holds, and what it keeps (peers whose connections are all older than joinGrace and a
    // few maintenance passes: not newcomers on their way through)
    await waitFor(() => Date.now() - joined > 20_000, '20 s', [], 30_000)
    const from = Date.now()
    let most = 0; let mostKept = 0; let sum = 0; let samples = 0
    await waitFor(() => {
      const conns = open()
      const now = Date.now()
      const newest = new Map<string, number>()
      for (const c of conns) newest.set(c.peer, Math.max(newest.get(c.peer) ?? 0, c.opened))
      const kept = [...newest.values()].filter(t => now - t > JOIN_GRACE + 2_000).length
      most = Math.max(most, conns.length); mostKept = Math.max(mostKept, kept); sum += conns.length; samples++
      return now - from > 15_000
    }, 'fifteen seconds', [], 30_000)
    const stats = hub.mesh.stats().peers as { trimmed: number, guestsReleased?: number }
    console.log(`hub from 20 s to 35 s after the last start: ${most} connections at most, ${(sum / samples).toFixed(1)} on average, ${mostKept} kept at most (maxPeers ${MAX_PEERS}); newcomers let go ${stats.guestsReleased ?? 'n/a'}, trimmed ${stats.trimmed}`)
    expect(mostKept).toBeLessThanOrEqual(MAX_PEERS)
    expect(sum / samples).toBeLessThanOrEqual(MAX_PEERS + 1)
    expect(hub.mesh.status().peers.length).toBeGreaterThan(0) // it lets the others go, never everyone
    const r = await nodes[N - 1].upload({ name: 'a.txt', content: bytes('joined through the hub') })
    await converged(r, nodes, 60_000)
    const h = await hub.upload({ name: 'b.txt', content: bytes('from the hub') })
    await converged(h, nodes, 60_000)
  }, 240_000)
})
