// Issue 18 item 4: a crash never makes an honest node a culprit. A peer that dies in the
// middle of an exchange ends (or resets) its streams early; on every protocol that is
// "closed": dropped, not punished. Only provably malformed bytes are a fault. Each case
// here is an admitted member opening a protocol on its live connection to the node and
// ending the stream the way a dying process does, before or inside its first message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
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

/** How a dying server's answer ends: at once, reset, or inside its first frame (a length prefix of 1, within every protocol's limit, and no byte). */
const answerEndings: Array<{ how: string, end: (s: Stream) => Promise<void> }> = [
  { how: 'closes at once', end: async s => { await s.close() } },
  { how: 'resets at once', end: async s => { s.abort(new Error('killed')) } },
  { how: 'dies inside its answer', end: async s => { s.send(encodeVarint(1)); await s.close() } }
]

/** What makes the node ask the peer on each protocol. */
const asks: Array<{ p: 'recordCert' | 'sync' | 'peers' | 'fetch', trigger: (peer: TestNode) => Promise<void> }> = [
  {
    p: 'recordCert',
    trigger: async peer => { // a namespace record the node has no certificate for
      const signer = generateSigningKey()
      const record = signRecord(signer, { name: `test_ns/${base64url(signer.publicKey)}`, network: net.publicKey, content: bytes('x') })
      peer.certificates!.offer(record, certify(signer))
      expect(await peer.replica.submit(record, bytes('x'), 'api')).toMatchObject({ outcome: 'accepted' })
    }
  },
  { p: 'sync', trigger: async () => { await node.mesh.syncNow() } },
  { // asked on every new connection: the peer hangs up and dials again
    p: 'peers',
    trigger: async peer => {
      await peer.mesh.libp2p.hangUp(peerIdFromString(node.peerId))
      await peer.mesh.libp2p.dial(multiaddr(`/ip4/127.0.0.1/tcp/${node.port}/p2p/${node.peerId}`), { signal: AbortSignal.timeout(5000) })
    }
  },
  { p: 'fetch', trigger: async peer => { await peer.upload({ name: 'big.bin', content: new Uint8Array(100 * 1024).fill(7) }) } } // too large to travel inline
]

describe('an answer a member ends early is closed, not a fault (the node asking)', () => {
  for (const { p, trigger } of asks) {
    for (const { how, end } of answerEndings) {
      it(`${p}: the server ${how}`, async () => {
        const peer = await newPeer()
        const penalized = node.mesh.stats().peers.penalized
        // the peer's handler ends every stream as a peer killed then would (sync: both ids,
        // since the node asks for sync/5.0.0 first; the peer's own rounds, on a stream it
        // keeps open to the node, are inbound there and not the node's asking)
        const ids: string[] = p === 'sync' ? [PROTOCOLS.syncStream, PROTOCOLS.sync] : [PROTOCOLS[p]]
        let asked = 0
        for (const id of ids) {
          await peer.mesh.libp2p.unhandle(id)
          await peer.mesh.libp2p.handle(id, async (stream: Stream) => { asked++; await end(stream).catch(() => {}) })
        }
        await trigger(peer)
        // syncNow reaches only the peers admitted by then: on a loaded host the certificate
        // exchange may still be going on (a CI run once failed here), so it is asked again
        const again = p === 'sync' ? setInterval(() => { if (asked === 0) void trigger(peer).catch(() => {}) }, 500) : undefined
        try {
          await waitFor(() => asked > 0, `the node asked the peer (${p})`, [], 10_000)
        } finally {
          clearInterval(again)
        }
        await waitFor(() => node.mesh.libp2p.getConnections(peerIdFromString(peer.peerId)).every(c => c.streams.every(s => s.direction === 'inbound' || !ids.includes(s.protocol ?? ''))), 'the node is done with the answer', [], 10_000)
        expect(node.mesh.stats().peers.penalized, `${p} punished a peer whose answer ${how}`).toBe(penalized)
        expect(node.mesh.libp2p.getConnections(peerIdFromString(peer.peerId)).some(c => c.status === 'open'), 'still connected').toBe(true)
        await peer.stop()
      })
    }
  }
})
