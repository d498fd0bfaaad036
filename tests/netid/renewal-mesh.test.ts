// Issue 19 item 1, as the issue states it, with in-process real libp2p nodes: a's
// certificate ends 10 s after it is issued; at 5 s a renewed one is given to the running
// mesh (what the daemon does when it reads a renewed file, tests/netid/renewal.test.ts);
// at 15 s the connections that were up before are the same objects on both sides, b
// closed nothing at the old end, and a record still flows (guarded protocols run, so a
// is admitted). TCP and QUIC.
import { afterEach, describe, expect, it } from 'vitest'
import { encodeCertificate, issueCertificate, type Certificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import type { NetworkIdentity } from '../../src/config/network.ts'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from '../mesh/helpers.ts'
import { DAY } from './helpers.ts'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

function identityIn (network: SigningKey, cert: Certificate): NetworkIdentity {
  return { id: network.publicKey, trusted: [network.publicKey], certificate: cert, certificateBytes: encodeCertificate(cert) }
}

const connectionIds = (from: TestNode, to: TestNode): string[] =>
  from.mesh.libp2p.getConnections().filter(c => c.remotePeer.toString() === to.peerId).map(c => c.id).sort()

describe.each(['tcp', 'quic'] as const)('%s: a renewed certificate given to a running node', (transport) => {
  it('ends in 10 s, renewed at 5 s: at 15 s the same connections, nothing expired, still admitted', async () => {
    cluster = new Cluster({ transports: [transport], settings: { certTimeout: 2_000 } })
    const net = generateSigningKey()
    const keyA = generateSigningKey()
    const keyB = generateSigningKey()
    const t0 = Date.now()
    const short = issueCertificate(net, { subject: keyA.publicKey, name: 'a', validity: 10_000, notBefore: t0 })
    const a = await cluster.add('a', { identityKey: keyA, network: identityIn(net, short) })
    const b = await cluster.add('b', { identityKey: keyB, network: identityIn(net, issueCertificate(net, { subject: keyB.publicKey, name: 'b', validity: 90 * DAY })), bootstrap: [a.hostPort] })
    await connected([a, b])
    const before = { ab: connectionIds(a, b), ba: connectionIds(b, a) }
    expect(before.ab.length).toBeGreaterThan(0)
    expect(Date.now() - t0, 'the nodes took too long to connect for this test').toBeLessThan(4_000)

    await waitFor(() => Date.now() - t0 >= 5_000, '5 s after issue', [], 10_000)
    const renewed = issueCertificate(net, { subject: keyA.publicKey, name: 'a', validity: 90 * DAY })
    a.mesh.renewNetwork(identityIn(net, renewed))
    await waitFor(() => Date.now() - t0 >= 15_000, '15 s after issue', [], 20_000)

    expect(connectionIds(a, b)).toEqual(before.ab)
    expect(connectionIds(b, a)).toEqual(before.ba)
    expect(b.mesh.stats().certificates).toMatchObject({ expired: 0, refusedInbound: 0, refusedOutbound: 0 })
    expect(a.mesh.stats().certificates).toMatchObject({ renewalsSent: 1, renewalsFailed: 0 })
    const record = await a.upload({ name: 'a.txt', content: bytes('after the old end') })
    await converged(record, [a, b], 10_000)
  }, 40_000)
})
