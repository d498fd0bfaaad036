// Admission by certificate with real libp2p on loopback (DESIGN.md §7): members of a
// network (one certified by an extra certificate authority, as during a key rotation)
// find each other and replicate; strangers — a self-made certificate, an expired one, one
// of another network, none at all — are refused in both directions and learn nothing.
import { afterEach, describe, expect, it } from 'vitest'
import { encodeCertificate, issueCertificate, certificateSignedBytes, type Certificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import type { NetworkIdentity } from '../../src/config/network.ts'
import { PROTOCOLS } from '../../src/mesh/settings.ts'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from '../mesh/helpers.ts'
import { Rogue } from '../mesh/rogue.ts'
import { frame } from '../../src/mesh/wire.ts'
import { DAY } from './helpers.ts'

let cluster: Cluster | undefined
let rogue: Rogue | undefined
afterEach(async () => { await rogue?.stop(); rogue = undefined; await cluster?.close(); cluster = undefined })

/** A NetworkIdentity as src/config/network.ts would load it: network.id, the accepted networks, this node's certificate. */
function identityIn (networkId: SigningKey, trusted: SigningKey[], cert: Certificate): NetworkIdentity {
  return { id: networkId.publicKey, trusted: trusted.map(k => k.publicKey), certificate: cert, certificateBytes: encodeCertificate(cert) }
}

function certify (network: SigningKey, node: SigningKey, name: string, o: { validity?: number, notBefore?: number } = {}): Certificate {
  return issueCertificate(network, { subject: node.publicKey, name, validity: o.validity ?? 90 * DAY, notBefore: o.notBefore })
}

const SETTINGS = { certTimeout: 2_000 }

describe.each(['tcp', 'quic'] as const)('%s: admission by certificate', (transport) => {
  it('admits members (one certified by an extra CA) and refuses strangers both ways; they learn nothing', async () => {
    cluster = new Cluster({ transports: [transport], settings: SETTINGS })
    const net = generateSigningKey()
    const oldNet = generateSigningKey() // the previous network key, still accepted (rotation)
    const trusted = [net, oldNet]
    const keys = [generateSigningKey(), generateSigningKey(), generateSigningKey()]
    const certs = [certify(net, keys[0], 'n0'), certify(net, keys[1], 'n1'), certify(oldNet, keys[2], 'n2')]
    const members = await Promise.all(['n0', 'n1', 'n2'].map(async (n, i) =>
      await cluster!.make(n, { identityKey: keys[i], network: identityIn(net, trusted, certs[i]) })))

    // strangers, each willing to talk to the members (they know the public network id)
    const selfMadeKey = generateSigningKey()
    const forger = generateSigningKey()
    const selfMade: Certificate = (() => { // names our network but is signed by the stranger's own key
      const unsigned = { subject: selfMadeKey.publicKey, network: net.publicKey, notBefore: Date.now() - 1000, notAfter: Date.now() + DAY, name: 'n9' }
      return { ...unsigned, signature: forger.sign(certificateSignedBytes(unsigned)) }
    })()
    const expiredKey = generateSigningKey()
    const otherNet = generateSigningKey()
    const otherKey = generateSigningKey()
    const strangers = [
      await cluster.make('self-made', { identityKey: selfMadeKey, network: identityIn(net, [net], selfMade) }),
      await cluster.make('expired', { identityKey: expiredKey, network: identityIn(net, [net], certify(net, expiredKey, 'old', { validity: DAY, notBefore: Date.now() - 2 * DAY })) }),
      await cluster.make('other-network', { identityKey: otherKey, network: identityIn(otherNet, [otherNet, net], certify(otherNet, otherKey, 'x')) }),
      await cluster.make('no-certificate', {})
    ]
    // everyone bootstraps to everyone: members dial strangers and strangers dial members
    const everyone = [...members, ...strangers]
    for (const n of everyone) n.opts.bootstrap = everyone.filter(m => m !== n).map(m => m.hostPort)
    await Promise.all(everyone.map(async n => await n.start()))
    await connected(members, 2)

    const r = await members[1].upload({ name: 'a.txt', content: bytes('members only') })
    await converged(r, members)
    const refusedBy = (m: TestNode): { refusedInbound: number, refusedOutbound: number } => m.mesh.stats().certificates!
    // every member refused a stranger's dial and its own dial to a stranger
    await waitFor(() => members.every(m => refusedBy(m).refusedInbound >= strangers.length && refusedBy(m).refusedOutbound >= strangers.length),
      'every member refused strangers inbound and outbound', [], 60_000)
    await members[0].mesh.syncNow()

    for (const m of members) {
      expect(m.mesh.status().peers.map(p => p.peerId).sort()).toEqual(members.filter(x => x !== m).map(x => x.peerId).sort())
      expect(m.mesh.stats().certificates!.verified).toBeGreaterThanOrEqual(2)
    }
    for (const s of strangers) {
      expect(s.mesh.status().peers, s.name).toEqual([])
      expect(s.replica.list(), s.name).toEqual([])
      expect(s.mesh.stats().peers.known, s.name).toBe(0) // learned no peer either
      expect(s.mesh.stats().announce.fullReceived + s.mesh.stats().announce.ihaveReceived + s.mesh.stats().sync.recordsReceived, s.name).toBe(0)
    }
  })

  it('a hand-made peer without a certificate gets no answer on any protocol and is disconnected', async () => {
    cluster = new Cluster({ transports: [transport], settings: SETTINGS })
    const net = generateSigningKey()
    const key = generateSigningKey()
    const n0 = await cluster.add('n0', { identityKey: key, network: identityIn(net, [net], certify(net, key, 'n0')) })
    await n0.upload({ name: 'a.txt', content: bytes('secret-ish') })
    rogue = await Rogue.start([transport])
    const conn = await rogue.dial(n0)
    // a sync request (empty digest): an admitted peer would get the index back
    const stream = await conn.newStream(PROTOCOLS.sync, { signal: AbortSignal.timeout(5000) })
    const got: Uint8Array[] = []
    stream.addEventListener('message', evt => { got.push(evt.data.subarray()) })
    stream.send(frame(new Uint8Array(36)))
    // the member resets the stream after certTimeout and closes the connection (a QUIC
    // close may reach the rogue's stream late: wait for the member's side, not the rogue's)
    await waitFor(() => !rogue!.heldBy(n0), 'the member closed the rogue\'s connection', [], 20_000)
    await Promise.race([rogue.gone(stream), new Promise(resolve => setTimeout(resolve, 5_000))])
    expect(got).toEqual([])
    expect(n0.mesh.stats().certificates!.refusedInbound).toBeGreaterThanOrEqual(1)
  })
})

it('a certificate that expires while connected closes the connection, and the node stays out', async () => {
  cluster = new Cluster({ transports: ['tcp'], settings: SETTINGS })
  const net = generateSigningKey()
  const [k0, k1] = [generateSigningKey(), generateSigningKey()]
  const n0 = await cluster.add('n0', { identityKey: k0, network: identityIn(net, [net], certify(net, k0, 'n0')) })
  const shortLived = certify(net, k1, 'short', { notBefore: Date.now() - 1000, validity: 7_000 })
  const n1 = await cluster.add('n1', { identityKey: k1, network: identityIn(net, [net], shortLived), bootstrap: [n0.hostPort] })
  await connected([n0, n1], 1)
  const before = await n0.upload({ name: 'a.txt', content: bytes('while valid') })
  await converged(before, [n0, n1])
  await waitFor(() => n0.mesh.stats().certificates!.expired === 1, 'n0 saw n1\'s certificate expire', [], 20_000)
  await waitFor(() => n0.mesh.status().peers.length === 0 && n1.mesh.status().peers.length === 0, 'disconnected', [], 10_000)
  const after = await n0.upload({ name: 'b.txt', content: bytes('after expiry') })
  // n1 keeps redialing (its bootstrap node) and is refused every time
  const refused = n0.mesh.stats().certificates!.refusedInbound
  await waitFor(() => n0.mesh.stats().certificates!.refusedInbound > refused, 'n1 dialed again and was refused', [], 20_000)
  await n0.mesh.syncNow()
  expect(n1.has(after)).toBe(false)
  expect(n1.replica.get('b.txt')).toBeUndefined()
  expect(n0.mesh.status().peers).toEqual([])
})

it('a peer replaying a member\'s certificate, or sending garbage or an oversize frame on the cert protocol, is refused', async () => {
  cluster = new Cluster({ transports: ['tcp'], settings: SETTINGS })
  const net = generateSigningKey()
  const key = generateSigningKey()
  const n0 = await cluster.add('n0', { identityKey: key, network: identityIn(net, [net], certify(net, key, 'n0')) })
  const stolen = encodeCertificate(certify(net, generateSigningKey(), 'n1')) // a real member's certificate: certificates are not secret
  const attempts: Array<[string, Uint8Array]> = [
    ['replayed certificate', frame(stolen)],
    ['garbage', frame(new Uint8Array(100).fill(7))],
    ['oversize frame', frame(new Uint8Array(5000))]
  ]
  for (const [what, bytes] of attempts) {
    const before = n0.mesh.stats().certificates!.refusedInbound
    rogue = await Rogue.start(['tcp'])
    const conn = await rogue.dial(n0)
    const stream = await conn.newStream(PROTOCOLS.cert, { signal: AbortSignal.timeout(5000) })
    const got: Uint8Array[] = []
    stream.addEventListener('message', evt => { got.push(evt.data.subarray()) })
    stream.send(bytes)
    await waitFor(() => n0.mesh.stats().certificates!.refusedInbound > before && !rogue!.heldBy(n0), `${what}: refused and disconnected`, [], 10_000)
    expect(got, what).toEqual([]) // the member's own certificate was not sent back
    expect(n0.mesh.stats().certificates!.verified, what).toBe(0)
    await rogue.stop(); rogue = undefined
  }
})
