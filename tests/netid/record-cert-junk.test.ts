// Review 11-R4: an admitted peer answering /record-cert with junk must not block a
// namespace file on its neighbours. The junk is not kept, its sender is punished, and the
// certificate is then taken from an honest peer that has the real one.
import { afterEach, expect, it } from 'vitest'
import { existsSync, readdirSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeCertificate, issueCertificate, type Certificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord } from '../../src/crypto/record.ts'
import type { NetworkIdentity } from '../../src/config/network.ts'
import { policyOf } from '../../src/config/config.ts'
import { Cluster, bytes, connected, waitFor } from '../mesh/helpers.ts'
import { DAY } from './helpers.ts'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const net = generateSigningKey()
const certify = (key: SigningKey): Certificate => issueCertificate(net, { subject: key.publicKey, name: 'n', validity: 90 * DAY })
const member = (key: SigningKey): NetworkIdentity => {
  const c = certify(key)
  return { id: net.publicKey, trusted: [net.publicKey], certificate: c, certificateBytes: encodeCertificate(c) }
}

it('review 11-R4: junk from an admitted peer on /record-cert is not kept, its sender is punished, and the real certificate comes from an honest peer', async () => {
  cluster = new Cluster({ transports: ['tcp'] })
  const keys = [generateSigningKey(), generateSigningKey(), generateSigningKey()]
  const honest = await cluster.add('honest', { identityKey: keys[0], network: member(keys[0]), namespaces: ['test_ns'] })
  const rogue = await cluster.add('rogue', { identityKey: keys[1], network: member(keys[1]), namespaces: ['test_ns'] })
  const victim = await cluster.add('victim', { identityKey: keys[2], network: member(keys[2]), namespaces: ['test_ns'], bootstrap: [rogue.hostPort] })
  await connected([rogue, victim])

  const signer = generateSigningKey()
  const name = `test_ns/${base64url(signer.publicKey)}`
  const record = signRecord(signer, { name, network: net.publicKey, content: bytes('facts') })
  // the honest node holds the record with its real certificate (and is not connected yet)
  await honest.certificates!.persist(record, certify(signer))
  expect(await honest.replica.submit(record, bytes('facts'), 'api')).toMatchObject({ outcome: 'accepted' })

  // the rogue (a member) holds the same record and serves a junk certificate for it: of the
  // network, validly signed, but for another key
  await rogue.replica.setPolicy({ ...policyOf(rogue.config), network: { id: net.publicKey, trusted: [net.publicKey] }, certificateOf: () => certify(signer) })
  rogue.certificates!.offer(record, certify(generateSigningKey()))
  expect(await rogue.replica.submit(record, bytes('facts'), 'api')).toMatchObject({ outcome: 'accepted' })

  // the victim got the record from the rogue, asked it for the certificate and got junk
  // (before the fix the junk was kept, and no other peer was asked for the certificate again)
  await waitFor(() => victim.certificates!.has(record) || victim.mesh.libp2p.getConnections(rogue.mesh.libp2p.peerId).length === 0,
    'the victim kept the junk, or punished the rogue for it', [victim], 30_000)
  expect(victim.certificates!.has(record)).toBe(false) // junk is not kept
  expect(victim.mesh.libp2p.getConnections(rogue.mesh.libp2p.peerId)).toHaveLength(0) // its sender was punished

  // now the honest node: the victim asks it, gets the real certificate, takes the file
  await victim.mesh.libp2p.dial(multiaddr(`/ip4/127.0.0.1/tcp/${honest.port}/p2p/${honest.peerId}`))
  await waitFor(() => victim.has(record), 'the victim took the file from the honest node', [victim, honest], 30_000)
  expect((await victim.content(name))?.toString()).toBe('facts')
  // kept on disk beside the record (and no write left under way when the cluster is removed)
  await waitFor(() => existsSync(victim.dir + '/certificates') && readdirSync(victim.dir + '/certificates').some(f => f.endsWith('.cert')), 'the certificate stored', [victim], 10_000)
})
