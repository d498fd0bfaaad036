// Counters the mesh kept and never reported now reach mesh.stats() (and so the metrics
// and the API's counters): punishments by kind, connection-limit refusals and closes,
// peer exchange.
import { randomBytes } from 'node:crypto'
import { afterEach, expect, it } from 'vitest'
import { generateSigningKey } from '../../src/crypto/keys.ts'
import { encodeRecord, signRecord } from '../../src/crypto/record.ts'
import { DEFAULT_MESH_SETTINGS, flattenStats } from '../../src/mesh/index.ts'
import { punishmentKind } from '../../src/mesh/index.ts'
import { Cluster, bytes, connected, waitFor } from '../mesh/helpers.ts'
import { RogueSet } from '../mesh/rogue.ts'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

it('punishment reasons become bounded kinds: the words before the first colon or parenthesis, in snake case', () => {
  expect(punishmentKind('sent a record that fails verification: key x is not allowed to sign "a"')).toBe('sent_a_record_that_fails_verification')
  expect(punishmentKind('served wrong content: sha256 mismatch')).toBe('served_wrong_content')
  expect(punishmentKind('announce: frame too large')).toBe('announce')
  expect(punishmentKind('announced versions it did not serve (the last: "a"@1)')).toBe('announced_versions_it_did_not_serve')
  expect(punishmentKind(': nothing')).toBe('other')
})

it('a punished peer is counted by kind; peer exchange is counted; both reach the flat API counters', async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const n0 = await cluster.add('n0')
  const n1 = await cluster.add('n1', { bootstrap: [n0.hostPort] })
  await connected([n0, n1], 1)
  await waitFor(() => n0.mesh.stats().peerExchange.asked + n0.mesh.stats().peerExchange.answered > 0, 'a peer exchange')
  expect(n0.mesh.stats().punishments).toEqual({})

  // a forged record: a newer version of a configured name claiming the real signer's key
  const f = await rogues.start()
  const forged = signRecord(generateSigningKey(), { name: 'a.txt', content: bytes('forged'), timestamp: Date.now() + 1000 })
  forged.signer = cluster.signer.publicKey
  await f.announce(n0, [encodeRecord(forged)])
  await waitFor(() => n0.mesh.stats().punishments.sent_a_record_that_fails_verification === 1, 'the forger punished')
  // garbage on the announce protocol
  const g = await rogues.start()
  await g.announce(n0, [randomBytes(200)])
  await waitFor(() => Object.values(n0.mesh.stats().punishments).reduce((a, b) => a + b, 0) === 2, 'the garbage sender punished too')
  const flat = flattenStats(n0.mesh.stats())
  expect(flat['punishments.sent_a_record_that_fails_verification']).toBe(1)
  expect(flat['peer_exchange.asked'] + flat['peer_exchange.answered']).toBeGreaterThan(0)
})

it('connection-limit refusals and closes are counted', async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const victim = await cluster.add('victim')
  const rogue = await rogues.start('127.0.0.2')
  expect(victim.mesh.stats().connections).toEqual({ cutPending: 0, refusedPerIp: 0, refusedStrangers: 0, refusedPerPeer: 0, closedPerIp: 0, closedStrangers: 0, closedPerPeer: 0 })
  // one peer id opening more connections than maxConnectionsPerPeer
  const extra = DEFAULT_MESH_SETTINGS.maxConnectionsPerPeer + 4
  // one at a time: libp2p joins concurrent dials of the same address into one
  for (let i = 0; i < extra; i++) await rogue.dialAgain(victim).catch(() => {})
  await waitFor(() => {
    const c = victim.mesh.stats().connections
    return c.refusedPerPeer + c.closedPerPeer > 0
  }, 'the victim refused or closed the surplus connections')
  expect(flattenStats(victim.mesh.stats())['connections.refused_per_peer'] + flattenStats(victim.mesh.stats())['connections.closed_per_peer']).toBeGreaterThan(0)
})
