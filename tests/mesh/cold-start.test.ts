// A cold start through one bootstrap node (issue 23, item 5; tests/sim's bootstrap-one at
// 1,000 nodes): every node starts at once, and the hub has far fewer slots than there are
// joiners. Here the hub's limits are shrunk so that 35 real daemons outnumber them as
// 1,000 outnumber the defaults: maxPeers 4 and 8 stranger slots, so 4 newcomers at a time.
// The daemon's own backoff (1 s doubling to 60 s), joinGrace (10 s) and trimGrace (30 s),
// not the test profile's. Before: a newcomer held its slot for joinGrace, and a refused
// joiner, knowing nobody else, backed off towards 60 s: after 40 s most joiners still had
// no peer but the hub. Now the hub lets a newcomer go once it has answered its
// peer-exchange request (joinLinger), and a node with no connection retries its bootstrap
// node within joinRetryMax.
import { afterEach, describe, expect, it } from 'vitest'
import { Cluster, bytes, converged, waitFor, type TestNode } from './helpers.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const N = 36
const MAX_PEERS = 4

describe('a cold start through one bootstrap node', () => {
  it(`${N - 1} nodes starting at once, all from one hub with ${2 * MAX_PEERS} stranger slots: every node finds peers besides the hub, and everyone converges`, async () => {
    cluster = new Cluster({
      transports: ['tcp'],
      settings: { targetPeers: 3, maxPeers: MAX_PEERS, maxStrangerConnections: 2 * MAX_PEERS, trimGrace: 30_000, joinGrace: 10_000, exploreInterval: 60_000, backoffBase: 1_000, backoffMax: 60_000, maintainInterval: 2_000 }
    })
    const hub = await cluster.add('hub')
    const made: TestNode[] = []
    for (let i = 1; i < N; i++) made.push(await cluster.make(`n${i}`, { bootstrap: [hub.hostPort] }))
    const t0 = Date.now()
    await Promise.all(made.map(async n => await n.start()))
    const startedIn = Date.now() - t0
    const nodes = [hub, ...made]
    const others = (n: TestNode): number => n.mesh.status().peers.filter(p => p.peerId !== hub.peerId).length
    let most = 0
    const watch = setInterval(() => { most = Math.max(most, new Set(hub.mesh.libp2p.getConnections().filter(c => c.status === 'open').map(c => c.remotePeer.toString())).size) }, 100)
    try {
      await waitFor(() => made.every(n => others(n) > 0), 'every node has a peer besides the hub', [], 40_000)
    } finally {
      clearInterval(watch)
      const stats = hub.mesh.stats().peers as { guestsReleased: number, guestsServed: number }
      const alone = made.filter(n => others(n) === 0).length
      console.log(`${N - 1} nodes started in ${startedIn} ms; ${((Date.now() - t0) / 1000).toFixed(1)} s later ${alone} have no peer but the hub; ` +
        `the hub held ${most} peers at most, let ${stats.guestsReleased} newcomers go (${stats.guestsServed} once served)`)
    }
    // its stranger slots (its first maxPeers joiners and the newcomers passing through), and
    // a peer or two it may have dialed itself (exploration): never everyone
    expect(most).toBeLessThanOrEqual(2 * MAX_PEERS + 2)
    const r = await made[made.length - 1].upload({ name: 'a.txt', content: bytes('a cold start') })
    await converged(r, nodes, 60_000)
  }, 180_000)
})
