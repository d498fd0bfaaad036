// Peer exchange under attack (issue 11: F10). A rogue peer answers every peer-exchange
// request with 32 fresh throw-away peer ids whose addresses point at plain TCP servers
// of this test (on 127.0.0.10–17) that count the connections they get. The victim must
// dial learnt addresses at a bounded rate, must not remember peers it never reached, and
// must keep working with its genuine peers.
import { createServer, type Server } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, freePort } from './helpers.js'
import { RogueSet } from './rogue.js'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { identityFromKey } from '../../src/mesh/identity.js'
import { DEFAULT_MESH_SETTINGS, PROTOCOLS } from '../../src/mesh/settings.js'
import { StreamReader, frame } from '../../src/mesh/wire.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const MiB = 1024 * 1024

let cluster: Cluster | undefined
const rogues = new RogueSet()
const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) s.close()
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

/** 8 TCP servers on 127.0.0.10–17 that count connections and close each at once. */
async function traps (): Promise<{ addrs: string[], hits: () => number }> {
  let hits = 0
  const addrs: string[] = []
  for (let i = 10; i < 18; i++) {
    const host = `127.0.0.${i}`
    const port = await freePort()
    const server = createServer(socket => { hits++; socket.destroy() })
    await new Promise<void>(resolve => server.listen(port, host, resolve))
    servers.push(server)
    addrs.push(`/ip4/${host}/tcp/${port}`)
  }
  return { addrs, hits: () => hits }
}

it('F10: peer-exchange answers full of throw-away peers pointing at third parties: learnt addresses are dialed at a bounded rate, not remembered, and genuine peers are kept', async () => {
  const D = DEFAULT_MESH_SETTINGS
  cluster = new Cluster({ transports: ['tcp'] })
  // the rogue is one of the victim's bootstrap entries, so the victim dials it and uses
  // its answers (a stranger that dialed the victim would not even be asked: issue 18,
  // tests/mesh/stranger-dials.test.ts)
  const rogue = await rogues.start('127.0.0.2')
  const rogueAddr = `${rogue.libp2p.getMultiaddrs()[0].toString()}`
  const victim = await cluster.add('victim', { settings: { peerExchangeInterval: 500 }, bootstrap: [rogueAddr] })
  const h1 = await cluster.add('h1', { bootstrap: [victim.hostPort] })
  const h2 = await cluster.add('h2', { bootstrap: [victim.hostPort] })
  await connected([victim, h1, h2], 2)
  const genuine = victim.mesh.stats().peers.known
  const storeBefore = (await victim.mesh.libp2p.peerStore.all()).length

  const trap = await traps()
  let answers = 0
  // (only the victim is fed: h1 and h2 learn the rogue from the victim and ask it too, and
  // each node's dials are bounded on their own)
  await rogue.libp2p.handle(PROTOCOLS.peers, async (stream, connection) => {
    await new StreamReader(stream, Date.now() + 5000, 16).end().catch(() => {})
    const fed = connection.remotePeer.toString() === victim.peerId
    const peers = !fed ? [] : Array.from({ length: D.peerExchangeMaxPeers }, () => ({ id: identityFromKey(generateSigningKey()).peerId.toString(), addrs: trap.addrs }))
    stream.send(frame(new Uint8Array(Buffer.from(JSON.stringify({ peers })))))
    await stream.close().catch(() => {})
    if (fed) answers++
  }, { maxInboundStreams: 64 })

  // the rogue stays connected (the victim redials its bootstrap entry), so the victim keeps asking it
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  const window = 20_000
  const t0 = Date.now()
  await new Promise(resolve => setTimeout(resolve, window))
  const hits = trap.hits()
  const elapsed = Date.now() - t0 // the bucket was full at most at t0 (it holds learnedDialBurst)
  const stats = victim.mesh.stats().peers
  const storeAfter = (await victim.mesh.libp2p.peerStore.all()).length
  gc()
  const heapGrowth = Math.round((process.memoryUsage().heapUsed - heapBefore) / MiB) // the whole process: 3 nodes and the rogue
  const bound = D.learnedDialBurst + Math.ceil(D.learnedDialsPerMinute * elapsed / 60_000)
  console.log(`[learnt-peers] F10: ${answers} answers × ${D.peerExchangeMaxPeers} throw-away peers × ${trap.addrs.length} addresses in ${elapsed} ms → ` +
    `${hits} connections to the third parties (bound ${bound}), known peers ${genuine} → ${stats.known}, candidates ${stats.candidates}, learnt addresses dialed ${stats.learnedDials} (dials ${stats.dials}, failed ${stats.dialFailures}), peer store ${storeBefore} → ${storeAfter} entries, heap +${heapGrowth} MiB after GC`)

  expect(answers).toBeGreaterThanOrEqual(5) // the attack ran: 160+ throw-away ids were offered
  expect(hits).toBeLessThanOrEqual(bound)
  expect(stats.known).toBeLessThanOrEqual(genuine + 1) // the rogue itself; no throw-away id: none can evict a genuine peer
  expect(stats.candidates).toBeLessThanOrEqual(D.maxCandidatePeers)
  expect(storeAfter).toBeLessThanOrEqual(storeBefore + 4) // the rogue, and room for a dial in flight
  expect(victim.mesh.status().peers.map(p => p.peerId)).toEqual(expect.arrayContaining([h1.peerId, h2.peerId]))

  const r = await h2.upload({ name: 'a.txt', content: bytes('still spreading') })
  await converged(r, [victim, h1, h2])
})
