// Issue 18 item 4: a crash never makes an honest node a culprit. A peer that dies in the
// middle of an exchange ends (or resets) its streams early; on every protocol that is
// "closed": dropped, not punished. Only provably malformed bytes are a fault. Each case
// here is an admitted member opening a protocol on its live connection to the node and
// ending the stream the way a dying process does, before or inside its first message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { encodeCertificate, issueCertificate, type Certificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord } from '../../src/crypto/record.ts'
import type { NetworkIdentity } from '../../src/config/network.ts'
import { PROTOCOLS } from '../../src/mesh/settings.ts'
import { encodeVarint } from '../../src/mesh/wire.ts'
import { Cluster, bytes, connected, waitFor, type TestNode } from '../mesh/helpers.ts'
import { DAY } from './helpers.ts'

const net = generateSigningKey()
const certify = (key: SigningKey): Certificate => issueCertificate(net, { subject: key.publicKey, name: 'n', validity: 90 * DAY })
const member = (key: SigningKey): NetworkIdentity => {
  const c = certify(key)
  return { id: net.publicKey, trusted: [net.publicKey], certificate: c, certificateBytes: encodeCertificate(c) }
}

let cluster: Cluster
let node: TestNode
beforeAll(async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const key = generateSigningKey()
  node = await cluster.add('node', { identityKey: key, network: member(key), namespaces: ['test_ns'] })
}, 60_000)
afterAll(async () => { await cluster.close() })

/** A new member connected to the node (each case has its own: a punished one stays out). */
let peers = 0
async function newPeer (): Promise<TestNode> {
  const key = generateSigningKey()
  const peer = await cluster.add(`peer${peers++}`, { identityKey: key, network: member(key), namespaces: ['test_ns'], bootstrap: [node.hostPort] })
  await waitFor(() => node.mesh.status().peers.some(p => p.peerId === peer.peerId) && peer.mesh.status().peers.length > 0, 'the peer is admitted', [], 10_000)
  return peer
}

/**
 * How a dying peer's stream ends: at once, after part of a length prefix, or mid-frame;
 * cleanly or reset. (`framed`: the ones that send part of a first message, not for
 * peers, whose request is empty: any byte there is malformed.)
 */
const endings: Array<{ how: string, framed?: true, end: (s: Stream) => Promise<void> }> = [
  { how: 'closes at once', end: async s => { await s.close() } },
  { how: 'resets at once', end: async s => { s.abort(new Error('killed')) } },
  { how: 'closes inside a length prefix', framed: true, end: async s => { s.send(Uint8Array.of(0x80)); await s.close() } },
  { how: 'closes inside a frame', framed: true, end: async s => { s.send(encodeVarint(32)); s.send(new Uint8Array(5)); await s.close() } },
  { how: 'resets inside a frame', framed: true, end: async s => { s.send(encodeVarint(32)); s.send(new Uint8Array(5)); s.abort(new Error('killed')) } }
]

const protocols = ['announce', 'fetch', 'sync', 'peers', 'recordCert', 'cert'] as const

describe('a stream a member ends early is closed, not a fault, on every protocol (the node serving it)', () => {
  for (const p of protocols) {
    for (const { how, end } of endings.filter(e => p !== 'peers' || e.framed === undefined)) {
      it(`${p}: the requester ${how}`, async () => {
        const peer = await newPeer()
        const penalized = node.mesh.stats().peers.penalized
        const stream = await peer.mesh.libp2p.dialProtocol(peerIdFromString(node.peerId), PROTOCOLS[p], { signal: AbortSignal.timeout(5000) })
        await end(stream).catch(() => {})
        await waitFor(() => stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset', 'the stream is gone', [], 10_000)
        // give the node's handler its turn: it has seen the end once the stream is gone on its side too
        await waitFor(() => node.mesh.libp2p.getConnections(peerIdFromString(peer.peerId)).every(c => c.streams.every(s => s.protocol !== PROTOCOLS[p])), 'the node dropped the stream', [], 10_000)
        expect(node.mesh.stats().peers.penalized, `${p} punished a peer whose stream ${how}`).toBe(penalized)
        if (p !== 'cert') expect(node.mesh.libp2p.getConnections(peerIdFromString(peer.peerId)).some(c => c.status === 'open'), 'still connected').toBe(true)
        // a cert exchange that breaks off may close the connection (it is not verified by that
        // stream); it is not punished, and the peer comes back at once
        await connected([node, peer], 1, 10_000)
        await peer.stop()
      })
    }
  }
})

describe('an answer a member ends early is closed, not a fault (the node asking)', () => {
  it('record-cert: the peer holding the certificate dies before answering', async () => {
    const peer = await newPeer()
    const penalized = node.mesh.stats().peers.penalized
    // the peer's record-cert handler ends every stream at once, as a peer killed then would
    await peer.mesh.libp2p.unhandle(PROTOCOLS.recordCert)
    let asked = 0
    await peer.mesh.libp2p.handle(PROTOCOLS.recordCert, async (s: Stream) => { asked++; await s.close().catch(() => {}) })
    const signer = generateSigningKey()
    const record = signRecord(signer, { name: `test_ns/${base64url(signer.publicKey)}`, network: net.publicKey, content: bytes('x') })
    peer.certificates!.offer(record, certify(signer))
    expect(await peer.replica.submit(record, bytes('x'), 'api')).toMatchObject({ outcome: 'accepted' })
    await waitFor(() => asked > 0, 'the node asked the peer for the certificate', [], 10_000)
    await waitFor(() => node.mesh.libp2p.getConnections(peerIdFromString(peer.peerId)).every(c => c.streams.every(s => s.protocol !== PROTOCOLS.recordCert)), "the node is done with the answer", [], 10_000)
    expect(node.mesh.stats().peers.penalized).toBe(penalized)
    expect(node.mesh.libp2p.getConnections(peerIdFromString(peer.peerId)).some(c => c.status === 'open')).toBe(true)
  })
})
