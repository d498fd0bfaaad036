// A plain libp2p peer in a process of its own (tests/mesh/link-ends.test.ts), so that the
// test can kill it (SIGKILL: no close of any kind reaches the node under test) as well as
// have it hang up. Plain JavaScript: run with `node`.
//
//   node link-peer.mjs <tcp|quic> <the node's multiaddr with /p2p/>
//
// Dials the node (identify included, so that the node's broadcast tree takes it as a
// peer) and prints "connected <its peer id>". On stdin, "hangup" closes its connections
// to the node (a graceful close) and prints "done"; it then waits to be killed.
import './worker-polyfill.mjs' // before libp2p loads (dynamic imports below)
const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { identify } = await import('@libp2p/identify')
const { multiaddr } = await import('@multiformats/multiaddr')

const [transport, target] = process.argv.slice(2)
const transports = transport === 'quic' ? [(await import('@chainsafe/libp2p-quic')).quic()] : [tcp()]
const node = await createLibp2p({
  addresses: { listen: [] },
  transports,
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: { reconnectRetries: 0 },
  connectionMonitor: { enabled: false },
  services: { identify: identify() }
})
await node.start()
const conn = await node.dial(multiaddr(target), { signal: AbortSignal.timeout(10_000) })
process.stdout.write(`connected ${node.peerId.toString()}\n`)
process.stdin.on('data', (d) => {
  if (d.toString().trim() === 'hangup') void node.hangUp(conn.remotePeer).then(() => process.stdout.write('done\n'))
})
