// One socket write per encrypted message on TCP (src/mesh/tcp-writes.ts): two real daemons
// over TCP, strace on the one that publishes. Noise's 2-byte length prefix used to go out
// as a write (and, with TCP_NODELAY, a segment) of its own before every ciphertext.
import { afterAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { haveStrace, traceProcess } from '../helpers/strace.ts'

const alice = generateSigningKey()
const files = { 'tcp/a': [encodeBase64Key(alice.publicKey)] }
const UPDATES = 20
const work = tempDir('dm-tcp-writes-')
const nodes: RunningNode[] = []
afterAll(async () => {
  await Promise.allSettled(nodes.map(async n => await n.stop()))
  work.cleanup()
})

/** a write on a TCP socket (strace -yy prints the fd as `fd<TCP:[a:p->b:q]>`); the API is a unix socket, so these are the mesh's */
const TCP_SOCKET = /^\d+<TCP(v6)?:/

describe.skipIf(!haveStrace() && process.env.CI !== 'true')('TCP writes', () => {
  it('an announcement leaves in one write: no 2-byte length prefix written alone', async () => {
    const tcpOnly = { transports: ['tcp'] }
    const a = await startNode({ files, cluster: tcpOnly })
    nodes.push(a)
    const b = await startNode({ files, cluster: { ...tcpOnly, bootstrap_nodes: [`127.0.0.1:${a.port}`] } })
    nodes.push(b)
    // connected, and the first version through (streams open, handshakes done)
    await a.client.publish(alice, 'tcp/a', Buffer.from('first'))
    const deadline = Date.now() + 30_000
    while ((await b.client.getFile('tcp/a').catch(() => undefined)) === undefined) {
      if (Date.now() > deadline) throw new Error('b never got the first version')
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    const tracer = await traceProcess(a.proc.pid!, ['write', 'writev', 'sendmsg'], join(work.dir, 'trace'))
    let calls
    try {
      for (let i = 0; i < UPDATES; i++) {
        await a.client.publish(alice, 'tcp/a', Buffer.from(`version ${i}`))
        const until = Date.now() + 10_000
        while ((await b.client.getFile('tcp/a').catch(() => undefined))?.content.toString() !== `version ${i}`) {
          if (Date.now() > until) throw new Error(`b did not get version ${i}`)
          await new Promise(resolve => setTimeout(resolve, 20))
        }
      }
    } finally {
      calls = await tracer.stop()
    }
    const toB = calls.filter(c => TCP_SOCKET.test(c.args))
    // the announcements did go out on that socket (so the count below is of something)
    expect(toB.length).toBeGreaterThanOrEqual(UPDATES)
    const prefixesAlone = toB.filter(c => c.ret === '2')
    expect(prefixesAlone).toEqual([])
  }, 120_000)
})
