// The peer exchange backs off on a settled overlay (issue 22: an exchange is a stream asked
// and answered at both ends, ~15% of an idle daemon's CPU at 16 nodes; proto/exchange-schedule.ts).
// Three real daemons, each at its target of 2 peers. b and c joined through a and dialed
// each other (a, which dialed nobody, asks nobody: §9): their answers name only peers
// they know, so each one's interval doubles up to 8×. When a node falls short of its
// target, it asks at the base interval again.
import { afterEach, expect, it } from 'vitest'
import { Cluster, connected, waitFor, type TestNode } from './helpers.js'

const INTERVAL = 200
let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const asked = (n: TestNode): number => n.mesh.stats().peerExchange.asked

it('on a settled overlay the peer exchange slows down to peerExchangeBackoffMax × its interval, and is back at its interval once a node is short of peers', async () => {
  cluster = new Cluster({ transports: ['tcp'], settings: { peerExchangeInterval: INTERVAL, peerExchangeBackoffMax: 8, targetPeers: 2 } })
  const a = await cluster.add('a')
  const b = await cluster.add('b', { bootstrap: [a.hostPort] })
  const c = await cluster.add('c', { bootstrap: [a.hostPort] })
  await connected([a, b, c], 2)

  // 200 + 400 + 800 + 1,600 ms (±20%) of answers that teach nothing, then 1.6 s apart
  await waitFor(() => [b, c].every(n => n.mesh.stats().peerExchange.backoff === 8), 'b and c backed off 8×', [], 20_000)
  const before = [b, c].map(asked)
  await new Promise(resolve => setTimeout(resolve, 3_000))
  const during = [b, c].map((n, i) => asked(n) - before[i])
  // at the base interval: ~15 in 3 s each (every one of them taught nothing)
  for (const k of during) expect(k, `asked in 3 s: ${during.join(', ')}`).toBeLessThanOrEqual(3)

  // c leaves: b holds one peer, below its target, and asks at the base interval again
  await c.stop()
  await waitFor(() => b.mesh.status().peers.length === 1, 'c gone from b', [], 10_000)
  await waitFor(() => b.mesh.stats().peerExchange.backoff === 1, 'b back at its base interval', [], 5_000)
  const again = asked(b)
  await new Promise(resolve => setTimeout(resolve, 1_500))
  expect(asked(b) - again).toBeGreaterThanOrEqual(3)
})
