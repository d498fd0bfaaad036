// Strangers re-dialing a node, in a process of their own (tests/mesh/member-slots.test.ts),
// so that their half of every handshake does not share the test's event loop with the
// node under test and the member joining it. Plain JavaScript: run with `node`.
//
//   node churn-worker.mjs <victim multiaddr with /p2p/> <ips, comma-separated> <ids per IP> <connections per id> <pause ms>
//
// Each id keeps up to <connections per id> connections open, redialing (force: a new
// connection each time) whatever the node closes, then pauses. Prints "tried <n>" after
// every round of every id, and "ready" once all ids are up. Runs until killed.
import './worker-polyfill.mjs' // before libp2p loads (dynamic imports below)
const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { identify } = await import('@libp2p/identify')
const { multiaddr } = await import('@multiformats/multiaddr')

const [target, ipList, perIpArg, perIdArg, pauseArg] = process.argv.slice(2)
const victim = multiaddr(target)
const victimId = victim.getComponents().findLast(c => c.name === 'p2p').value
const perId = Number(perIdArg)
const pause = Number(pauseArg)
let tried = 0

const nodes = []
for (const ip of ipList.split(',')) {
  for (let i = 0; i < Number(perIpArg); i++) {
    nodes.push(await createLibp2p({
      addresses: { listen: [] },
      transports: [tcp({ dialOpts: { noDelay: true, localAddress: ip } })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { maxConnections: 10_000, reconnectRetries: 0 },
      services: { identify: identify() }
    }))
  }
}
process.stdout.write('ready\n')

for (const node of nodes) {
  void (async () => {
    for (;;) {
      const have = node.getConnections().filter(c => c.status === 'open' && c.remotePeer.toString() === victimId).length
      await Promise.allSettled(Array.from({ length: Math.max(0, perId - have) }, async () => {
        tried++
        return await node.dial(victim, { signal: AbortSignal.timeout(10_000), force: true })
      }))
      process.stdout.write(`tried ${tried}\n`)
      await new Promise(resolve => setTimeout(resolve, pause))
    }
  })()
}
