// Free ports on 127.0.0.1 for test nodes.
import { createServer } from 'node:net'
import { createSocket } from 'node:dgram'

async function tcpFree (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)))
  })
}

async function udpFree (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const s = createSocket('udp4')
    s.once('error', () => { s.close(); resolve(false) })
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

const handedOut = new Set<number>()

/**
 * A port free for both TCP and UDP on 127.0.0.1 (QUIC and TCP share cluster.port), below
 * Linux's ephemeral range (32768-60999): a node restarted on its port (the crash tests do
 * it 200 times) must not find it taken by some other test's outbound connection meanwhile.
 */
export async function freePort (): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 22_000)
    if (handedOut.has(port)) continue
    if (await tcpFree(port) && await udpFree(port)) { handedOut.add(port); return port }
  }
}
