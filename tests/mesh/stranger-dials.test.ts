// Only members' addresses are dialed (issue 18, item 7). Strangers that connect once
// (a fresh peer id each, from 127.0.0.2) tell, through identify, a listen address that
// is a TCP server of this test counting the connections it gets (on 127.0.0.10). The
// victim runs without a network and without allowed_nodes (where anyone may connect)
// and below its peer target, so before the fix it remembered every one of them and
// kept dialing them: 200 one-shot ids caused 779 dials in a minute.
import { createServer, type Server } from 'node:net'
import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, freePort, waitFor } from './helpers.js'
import { Rogue } from './rogue.js'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { identityFromKey } from '../../src/mesh/identity.js'
import { DEFAULT_MESH_SETTINGS, PROTOCOLS } from '../../src/mesh/settings.js'
import { StreamReader, frame } from '../../src/mesh/wire.js'

let cluster: Cluster | undefined
const servers: Server[] = []
const started: Rogue[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) s.close()
  await Promise.allSettled(started.splice(0).map(async r => await r.stop()))
  await cluster?.close(); cluster = undefined
})

it('200 one-shot stranger ids telling a third party\'s address through identify cause no dials to it; members still find each other', async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const victim = await cluster.add('victim')
  let hits = 0
  const port = await freePort()
  const trap = createServer(socket => { hits++; socket.destroy() })
  await new Promise<void>(resolve => trap.listen(port, '127.0.0.10', resolve))
  servers.push(trap)
  const announce = [`/ip4/127.0.0.10/tcp/${port}`]

  const identified = new Set<string>()
  victim.mesh.libp2p.addEventListener('peer:identify', evt => { identified.add(evt.detail.peerId.toString()) })
  const t0 = Date.now()
  const COUNT = 200
  const BATCH = 10
  for (let i = 0; i < COUNT; i += BATCH) {
    await Promise.all(Array.from({ length: BATCH }, async () => {
      const r = await Rogue.startFrom('127.0.0.2', { announce })
      started.push(r)
      await r.dialAgain(victim)
      await waitFor(() => identified.has(r.peerId), 'the victim identified the stranger', [], 10_000)
      await r.stop()
    }))
  }
  const connecting = Date.now() - t0
  await new Promise(resolve => setTimeout(resolve, 15_000)) // what the victim does with what it learnt
  const stats = victim.mesh.stats().peers
  console.log(`[stranger-dials] ${COUNT} one-shot strangers identified in ${connecting} ms; then in ${Date.now() - t0} ms in all the victim dialed ` +
    `${stats.dials} times (failed ${stats.dialFailures}), the third party got ${hits} connections; known peers ${stats.known}, candidates ${stats.candidates}`)
  expect(identified.size).toBe(COUNT)
  expect(hits).toBeLessThanOrEqual(2)
  expect(stats.known).toBe(0)

  // members still learn each other: a node that dials the victim is found by the victim's other peers
  const a = await cluster.add('a', { bootstrap: [victim.hostPort] })
  const b = await cluster.add('b', { bootstrap: [victim.hostPort] })
  await waitFor(() => a.mesh.status().peers.some(p => p.peerId === b.peerId), 'a and b found each other through the victim', [], 20_000)
  await connected([victim, a, b], 2)
  const r = await a.upload({ name: 'a.txt', content: bytes('between members') })
  await converged(r, [victim, a, b])
})

it('a stranger that dialed in and answers peer exchange with 32 throw-away peers at a third party\'s address is not asked, and nothing it tells is dialed', async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const victim = await cluster.add('victim', { settings: { peerExchangeInterval: 300 } })
  let hits = 0
  const port = await freePort()
  const trap = createServer(socket => { hits++; socket.destroy() })
  await new Promise<void>(resolve => trap.listen(port, '127.0.0.10', resolve))
  servers.push(trap)

  const rogue = await Rogue.startFrom('127.0.0.2')
  started.push(rogue)
  let asked = 0
  await rogue.libp2p.handle(PROTOCOLS.peers, async (stream) => {
    asked++
    await new StreamReader(stream, Date.now() + 5000, 16).end().catch(() => {})
    const peers = Array.from({ length: DEFAULT_MESH_SETTINGS.peerExchangeMaxPeers }, () => ({ id: identityFromKey(generateSigningKey()).peerId.toString(), addrs: [`/ip4/127.0.0.10/tcp/${port}`] }))
    stream.send(frame(new Uint8Array(Buffer.from(JSON.stringify({ peers })))))
    await stream.close().catch(() => {})
  }, { maxInboundStreams: 64 })
  const t0 = Date.now()
  while (Date.now() - t0 < 10_000) { // the stranger stays connected
    if (!rogue.connectedTo(victim)) await rogue.dialAgain(victim).catch(() => {})
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  const stats = victim.mesh.stats().peers
  console.log(`[stranger-dials] a connected stranger answering peer exchange for ${Date.now() - t0} ms: asked ${asked} times, the third party got ${hits} connections; ` +
    `candidates ${stats.candidates}, learnt addresses dialed ${stats.learnedDials}, stranger lists ignored ${stats.strangerListsIgnored}`)
  expect(rogue.heldBy(victim)).toBe(true) // it is served: only its word is not taken
  expect(hits).toBe(0)
  expect(asked).toBe(0)
  expect(stats.candidates).toBe(0)
})
