import { randomBytes } from 'node:crypto'
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.js'
import { RogueSet, type Rogue } from './rogue.js'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { encodeRecord, signRecord } from '../../src/crypto/record.js'
import { StreamReader, concat, encodeVarint, frame, u64 } from '../../src/mesh/wire.js'
import { PROTOCOLS } from '../../src/mesh/settings.js'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

const rogue = async (): Promise<Rogue> => await rogues.start()

async function cutOff (r: Rogue, node: TestNode, penalizedBefore: number): Promise<void> {
  await waitFor(() => node.mesh.stats().peers.penalized > penalizedBefore && !r.connectedTo(node), `${node.name} cut off the rogue`)
  // and refuses it for a while: a new connection is closed before any protocol can run
  let opened = false
  try {
    const conn = await r.dial(node)
    await conn.newStream(PROTOCOLS.peers, { signal: AbortSignal.timeout(5000) })
    opened = true
  } catch {}
  expect(opened).toBe(false)
  expect(node.mesh.status().peers.some(p => p.peerId === r.peerId)).toBe(false)
}

it('a peer pushing garbage, oversize frames, forged records or wrong content is cut off; config skew is not punished; the cluster keeps converging', async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const nodes: TestNode[] = []
  for (let i = 0; i < 3; i++) nodes.push(await cluster.add(`n${i}`, { bootstrap: i === 0 ? [] : [nodes[0].hostPort] }))
  await connected(nodes, 2)
  const [n0, n1, n2] = nodes
  let penalized = 0

  // garbage: a well-framed blob that is no record
  const g = await rogue()
  await g.announce(n0, [randomBytes(200)])
  await cutOff(g, n0, penalized++)

  // oversize: a frame length far beyond any record
  const o = await rogue()
  await o.send(n0, PROTOCOLS.announce, [encodeVarint(1 << 20), randomBytes(64 * 1024)])
  await cutOff(o, n0, penalized++)

  // forged: a newer record for a configured name, claiming the real signer's key
  const f = await rogue()
  const forged = signRecord(generateSigningKey(), { name: 'a.txt', content: bytes('forged'), timestamp: Date.now() + 1000 })
  forged.signer = cluster.signer.publicKey
  await f.announce(n0, [encodeRecord(forged)])
  await cutOff(f, n0, penalized++)

  // garbage on the sync protocol: a malformed request
  const s = await rogue()
  await s.send(n0, PROTOCOLS.sync, [frame(randomBytes(10))])
  await cutOff(s, n0, penalized++)

  // wrong content: a genuine record (say, stolen in transit) announced with bytes that do not match
  const genuine = signRecord(cluster.signer, { name: 'b.txt', content: bytes('the real content'), timestamp: Date.now() })
  const w = await rogue()
  await w.libp2p.handle(PROTOCOLS.fetch, async (stream) => {
    const reader = new StreamReader(stream, Date.now() + 5000, 1024)
    await reader.frame(1024)
    stream.send(frame(concat([Uint8Array.of(0), u64(genuine.size)])))
    stream.send(randomBytes(genuine.size))
    await stream.close()
  })
  await w.announce(n0, [encodeRecord(genuine)])
  await cutOff(w, n0, penalized++)
  expect(n0.replica.get('b.txt')).toBeUndefined()

  // config skew: a name n0 does not know, validly signed: refused, not punished
  const k = await rogue()
  const unknown = signRecord(generateSigningKey(), { name: 'not/configured', content: bytes('x') })
  await k.announce(n0, [encodeRecord(unknown)])
  await waitFor(() => n0.mesh.stats().offers.refused >= 1, 'n0 refused the unknown name')
  expect(k.connectedTo(n0)).toBe(true)
  expect(n0.mesh.stats().peers.penalized).toBe(penalized)

  // honest nodes are untouched and the cluster keeps converging
  for (const n of [n1, n2]) expect(n.mesh.stats().peers.penalized).toBe(0)
  const real = await n1.upload({ name: 'b.txt', content: bytes('the real content'), timestamp: genuine.timestamp + 1 })
  const more = await n2.upload({ name: 'c.txt', content: bytes('still converging') })
  await converged(real, nodes)
  await converged(more, nodes)
})

it('a peer that stalls a fetch stalls nothing else: not other files, not a newer version of the same file', async () => {
  cluster = new Cluster({ transports: ['tcp'], settings: { fetchHeaderTimeout: 20_000 } })
  const nodes: TestNode[] = []
  for (let i = 0; i < 3; i++) nodes.push(await cluster.add(`n${i}`, { bootstrap: i === 0 ? [] : [nodes[0].hostPort] }))
  await connected(nodes, 2)
  const [n0, n1] = nodes
  const slow = signRecord(cluster.signer, { name: 'd.txt', content: bytes('slow path'), timestamp: Date.now() })
  const r = await rogue()
  let asked = 0
  await r.libp2p.handle(PROTOCOLS.fetch, () => { asked++ }) // reads nothing, answers nothing
  await r.announce(n0, [encodeRecord(slow)])
  await waitFor(() => asked > 0, 'n0 asked the slow rogue')
  // while n0's fetch from the rogue hangs (for up to 20 s), everything else flows, to and through n0
  const other = await n1.upload({ name: 'e.txt', content: bytes('not stalled') })
  await converged(other, nodes, 10_000)
  const newer = await n1.upload({ name: 'd.txt', content: bytes('slow path'), timestamp: slow.timestamp + 1 })
  await converged(newer, nodes, 10_000)
  expect(n0.mesh.stats().peers.penalized).toBe(0) // slow is not malicious
})
