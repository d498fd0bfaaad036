// Certified namespaces (DESIGN.md §7): with a network, "<ns>/<base64url(key)>" is accepted
// only with a certificate of the network for that key, sent with the record and checked
// on every node — the certificate travels beside the record through the mesh.
import { afterEach, describe, expect, it } from 'vitest'
import { encodeCertificate, issueCertificate, type Certificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord } from '../../src/crypto/record.ts'
import type { NetworkIdentity } from '../../src/config/network.ts'
import { policyOf } from '../../src/config/config.ts'
import { judge, stillAuthorized, type Policy } from '../../src/rule/which-version-wins.ts'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from '../mesh/helpers.ts'
import { DAY } from './helpers.ts'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const net = generateSigningKey()
const certify = (key: SigningKey, o: { network?: SigningKey, notBefore?: number, validity?: number } = {}): Certificate =>
  issueCertificate(o.network ?? net, { subject: key.publicKey, name: 'n', validity: o.validity ?? 90 * DAY, notBefore: o.notBefore })
const identityIn = (key: SigningKey): NetworkIdentity => {
  const c = certify(key)
  return { id: net.publicKey, trusted: [net.publicKey], certificate: c, certificateBytes: encodeCertificate(c) }
}

describe('the rule: namespace files under a network', () => {
  const signer = generateSigningKey()
  const name = `test_ns/${base64url(signer.publicKey)}`
  const record = signRecord(signer, { name, content: bytes('x') })
  const bound = signRecord(signer, { name, content: bytes('x'), network: net.publicKey })
  const base: Policy = { files: new Map(), namespaces: new Set(['test_ns']), maxFileSize: 1024, maxClockSkew: 60_000 }
  const withCert = (cert: Certificate | undefined): Policy => ({ ...base, network: { id: net.publicKey, trusted: [net.publicKey] }, certificateOf: () => cert })

  it('accepts with a certificate of the network for the signer; refuses without, for another key, another network, or outside its window', () => {
    const now = Date.now()
    expect(judge(record, undefined, base, now).action).toBe('accept') // no network: open, as before
    expect(judge(bound, undefined, withCert(certify(signer)), now).action).toBe('accept')
    expect(judge(bound, undefined, withCert(undefined), now)).toMatchObject({ action: 'refuse', code: 'not-certified', reason: expect.stringMatching(/needs a certificate of this network.*--cert/) })
    expect(judge(bound, undefined, withCert(certify(generateSigningKey())), now)).toMatchObject({ code: 'not-certified', reason: expect.stringMatching(/different key/) })
    expect(judge(bound, undefined, withCert(certify(signer, { network: generateSigningKey() })), now)).toMatchObject({ code: 'not-certified', reason: expect.stringMatching(/another network/) })
    expect(judge(bound, undefined, withCert(certify(signer, { notBefore: now - 2 * DAY, validity: DAY })), now)).toMatchObject({ code: 'not-certified', reason: expect.stringMatching(/dated after its certificate ended/) })
    // a configured file name needs no certificate
    const file = signRecord(signer, { name: 'motd', content: bytes('x'), network: net.publicKey })
    expect(judge(file, undefined, { ...withCert(undefined), files: new Map([['motd', new Set([Buffer.from(signer.publicKey).toString('base64')])]]) }, now).action).toBe('accept')
  })
  it('review 11-R6: the holder of an expired certificate cannot add versions dated inside its old window; a stored one stays served', () => {
    const now = Date.now()
    const ended = certify(signer, { notBefore: now - 10 * DAY, validity: 9 * DAY }) // ended a day ago
    const backdated = signRecord(signer, { name, content: bytes('y'), network: net.publicKey, timestamp: now - 2 * DAY })
    const older = signRecord(signer, { name, content: bytes('x'), network: net.publicKey, timestamp: now - 3 * DAY })
    expect(judge(backdated, older, withCert(ended), now)).toMatchObject({ action: 'refuse', code: 'not-certified', reason: expect.stringMatching(/certificate expired at .*no new version/) })
    expect(judge(backdated, undefined, withCert(ended), now)).toMatchObject({ action: 'refuse', code: 'not-certified' })
    // judged while the certificate was valid, it was taken; stored, it is still served (start-up, reload)
    expect(judge(backdated, older, withCert(ended), now - 2 * DAY + 1000).action).toBe('accept')
    expect(stillAuthorized(withCert(ended), backdated)).toBe(true)
  })
})

describe('certified namespaces across a network', () => {
  it('a namespace file with its certificate spreads to every node; without one, or with one for another key, it is refused', async () => {
    cluster = new Cluster({ transports: ['tcp'] })
    const keys = [generateSigningKey(), generateSigningKey(), generateSigningKey()]
    const nodes: TestNode[] = []
    for (const [i, key] of keys.entries()) {
      nodes.push(await cluster.add(`n${i}`, { identityKey: key, network: identityIn(key), namespaces: ['test_ns'], bootstrap: nodes.map(n => n.hostPort) }))
    }
    await connected(nodes, 2)
    const [n0, n1, n2] = nodes
    const name = `test_ns/${base64url(keys[0].publicKey)}`

    // as the API does it: the certificate is kept beside the record, then the record is submitted
    const record = signRecord(keys[0], { name, network: net.publicKey, content: bytes('namespace_data') })
    await n0.certificates!.persist(record, certify(keys[0]))
    expect(await n0.replica.submit(record, bytes('namespace_data'), 'api')).toMatchObject({ outcome: 'accepted' })
    await converged(record, nodes)
    for (const n of [n1, n2]) expect((await n.content(name))?.toString()).toBe('namespace_data')

    // without a certificate: refused at the origin, nothing spreads
    const bare = signRecord(keys[0], { name, network: net.publicKey, content: bytes('no_cert') })
    expect(await n0.replica.submit(bare, bytes('no_cert'), 'api')).toMatchObject({ outcome: 'refused', code: 'not-certified' })
    // with a certificate for another key
    const wrong = signRecord(keys[0], { name, network: net.publicKey, content: bytes('wrong_cert') })
    await n0.certificates!.persist(wrong, certify(keys[1]))
    expect(await n0.replica.submit(wrong, bytes('wrong_cert'), 'api')).toMatchObject({ outcome: 'refused', code: 'not-certified' })

    // checked on every node: a member whose own rule is lax (it believes in a certificate it
    // does not have) accepts and pushes a certificate-less version; the others refuse it
    const lax = n2
    await lax.replica.setPolicy({ ...policyOf(lax.config), network: { id: net.publicKey, trusted: [net.publicKey] }, certificateOf: () => certify(keys[0]) })
    const pushed = signRecord(keys[0], { name, network: net.publicKey, content: bytes('pushed') })
    expect(await lax.replica.submit(pushed, bytes('pushed'), 'api')).toMatchObject({ outcome: 'accepted' })
    await waitFor(() => n0.mesh.stats().offers.refused + n1.mesh.stats().offers.refused >= 2, 'n0 and n1 refused the pushed version')
    await n0.mesh.syncNow()
    for (const n of [n0, n1]) {
      expect(n.has(record)).toBe(true)
      expect((await n.content(name))?.toString()).toBe('namespace_data')
    }
    expect(n1.certificates!.has(record)).toBe(true) // fetched from its sender, kept beside the record

    // the certificate is kept on disk: after a restart the file is still served
    await n1.restart()
    expect(n1.has(record)).toBe(true)
    expect((await n1.content(name))?.toString()).toBe('namespace_data')
  })
})
