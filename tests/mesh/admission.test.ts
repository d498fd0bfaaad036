import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, waitFor } from './helpers.js'
import { Rogue } from './rogue.js'
import { PROTOCOLS } from '../../src/mesh/settings.js'

let cluster: Cluster | undefined
let rogue: Rogue | undefined
afterEach(async () => { await rogue?.stop(); rogue = undefined; await cluster?.close(); cluster = undefined })

it.each(['tcp', 'quic'] as const)('%s: with allowed_nodes, a node not on the list cannot join or read anything', async (transport) => {
  cluster = new Cluster({ transports: [transport] })
  const members = await Promise.all(['n0', 'n1', 'n2'].map(async n => await cluster!.make(n)))
  const ids = await Promise.all(members.map(async n => await cluster!.identityOf(n)))
  const allowed = [ids[0].publicKey, ids[1].peerId, ids[2].publicKey] // both forms
  const [n0, n1, n2] = members
  n0.opts.allowedNodes = allowed
  await n0.start()
  for (const n of [n1, n2]) { n.opts.allowedNodes = allowed; n.opts.bootstrap = [n0.hostPort] }
  await Promise.all([n1.start(), n2.start()])
  await connected(members, 2)

  // a stranger: a real node with the same files, bootstrapping to every member
  const stranger = await cluster.add('stranger', { bootstrap: members.map(m => m.hostPort) })
  const r = await n1.upload({ name: 'a.txt', content: bytes('members only') })
  await converged(r, members)
  await waitFor(() => stranger.mesh.stats().peers.dials >= 6, 'the stranger tried every member twice')
  await members[0].mesh.syncNow()

  expect(stranger.mesh.status().peers).toEqual([])
  expect(stranger.replica.list()).toEqual([])
  expect(stranger.mesh.stats().peers.known).toBe(0) // learned no peer either
  expect(stranger.mesh.stats().announce.fullReceived + stranger.mesh.stats().sync.recordsReceived).toBe(0)
  for (const m of members) expect(m.mesh.status().peers.map(p => p.peerId)).not.toContain(stranger.peerId)

  // nor can a hand-made peer open any protocol on a member
  rogue = await Rogue.start([transport])
  let opened = false
  try {
    const conn = await rogue.dial(n0)
    await conn.newStream(PROTOCOLS.sync, { signal: AbortSignal.timeout(5000) })
    opened = true
  } catch {}
  expect(opened).toBe(false)
})
