// Review 11-R3: with a network, connections that never present a certificate must not
// fill the slots members need. Strangers on other loopback addresses (127.0.0.2-6: Linux
// routes all of 127.0.0.0/8 to lo) keep as many certificate-less connections open as they
// can, redialing whatever the member closes, while an admitted node joins from 127.0.0.1.
import { afterEach, expect, it } from 'vitest'
import { encodeCertificate, issueCertificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import type { NetworkIdentity } from '../../src/config/network.ts'
import { DEFAULT_MESH_SETTINGS } from '../../src/mesh/settings.ts'
import { Cluster, bytes, waitFor, type TestNode } from '../mesh/helpers.ts'
import { RogueSet, type Rogue } from '../mesh/rogue.ts'
import { DAY } from './helpers.ts'

let cluster: Cluster | undefined
const rogues = new RogueSet()
const stops: Array<() => void> = []
afterEach(async () => {
  for (const s of stops.splice(0)) s()
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

const net = generateSigningKey()
function member (key: SigningKey, name: string): NetworkIdentity {
  const cert = issueCertificate(net, { subject: key.publicKey, name, validity: 90 * DAY })
  return { id: net.publicKey, trusted: [net.publicKey], certificate: cert, certificateBytes: encodeCertificate(cert) }
}

/** Each rogue keeps `perRogue` connections to `victim` open, redialing what is closed, until stopped. */
function flood (all: Rogue[], victim: TestNode, perRogue: number): { stop: () => void, tried: () => number } {
  let tried = 0
  let stopped = false
  for (const r of all) {
    void (async () => {
      while (!stopped) {
        const have = r.libp2p.getConnections().filter(c => c.status === 'open' && c.remotePeer.toString() === victim.peerId).length
        await Promise.allSettled(Array.from({ length: Math.max(0, perRogue - have) }, async () => { tried++; return await r.dialAgain(victim) }))
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    })()
  }
  return { tried: () => tried, stop: () => { stopped = true } }
}

it('review 11-R3: strangers cycling certificate-less connections from 5 IPs hold at most maxUnverified slots; an admitted node joins during the attack', async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const keys = [generateSigningKey(), generateSigningKey(), generateSigningKey()]
  const victim = await cluster.add('victim', { identityKey: keys[0], network: member(keys[0], 'victim') })
  await victim.upload({ name: 'a.txt', content: bytes('for members') })
  const early = await cluster.add('early', { identityKey: keys[1], network: member(keys[1], 'early'), bootstrap: [victim.hostPort] })
  let t0 = performance.now()
  await waitFor(() => early.replica.get('a.txt') !== undefined, 'early got a.txt', [early], 30_000)
  const base = Math.round(performance.now() - t0)
  await early.stop()

  // 5 IPs × 5 peer ids × 3 connections = 75 > maxConnections (64); 5 × maxUnverifiedPerIp (4) = 20 > maxUnverified (16)
  const strangers: Rogue[] = []
  for (const ip of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']) for (let i = 0; i < 5; i++) strangers.push(await rogues.start(ip))
  const attack = flood(strangers, victim, 3)
  stops.push(attack.stop)
  const ids = new Set(strangers.map(r => r.peerId))
  const heldByStrangers = (): number => victim.mesh.libp2p.getConnections().filter(c => c.status === 'open' && ids.has(c.remotePeer.toString())).length
  await waitFor(() => attack.tried() >= 150, 'the strangers dialed 150 times', [], 30_000)
  let most = 0
  const sampler = setInterval(() => { most = Math.max(most, heldByStrangers()) }, 50)
  stops.push(() => clearInterval(sampler))

  t0 = performance.now()
  const late = await cluster.add('late', { identityKey: keys[2], network: member(keys[2], 'late'), bootstrap: [victim.hostPort] })
  await waitFor(() => late.replica.get('a.txt') !== undefined, 'late got a.txt during the attack', [late], 30_000)
  const attacked = Math.round(performance.now() - t0)
  clearInterval(sampler)
  const closed = victim.mesh.stats().certificates!
  console.log(`[admission-flood] R3: admitted node's first record without attacker ${base} ms, during the attack ${attacked} ms; ` +
    `the strangers dialed ${attack.tried()} times and held at most ${most} connections (refused inbound ${closed.refusedInbound})`)
  expect(attacked).toBeLessThan(15_000)
  // libp2p may count a connection a moment before the gate sees it: a small margin
  expect(most).toBeLessThanOrEqual(DEFAULT_MESH_SETTINGS.maxUnverified + 4)
})
