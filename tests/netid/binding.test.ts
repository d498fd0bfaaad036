// Network-bound records (DESIGN.md §7): flags bit 1 and the 32-byte network id at the end
// of the signed bytes. Unbound records keep the old format byte for byte.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { encodeCertificate, issueCertificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey, signingKeyToPem, type SigningKey } from '../../src/crypto/keys.ts'
import { publicKeyToPem } from '../../src/crypto/public-keys.ts'
import { decodeRecord, encodeRecord, signRecord, verifyRecordSignature, FLAG_NETWORK, MAX_RECORD_BYTES } from '../../src/crypto/record.ts'
import { policyOf } from '../../src/config/config.ts'
import type { NetworkIdentity } from '../../src/config/network.ts'
import { judge, type Policy } from '../../src/rule/which-version-wins.ts'
import { tempDir } from '../helpers/fs.ts'
import { Cluster, bytes, connected, waitFor } from '../mesh/helpers.ts'
import { DAY } from './helpers.ts'

const work = tempDir('dm-netid-binding-')
afterAll(() => work.cleanup())
const signer = generateSigningKey()
const A = generateSigningKey()
const B = generateSigningKey()
const files = new Map([['motd', new Set([Buffer.from(signer.publicKey).toString('base64')])]])
const policy = (network?: { id: SigningKey, trusted?: SigningKey[] }): Policy => ({
  files, namespaces: new Set(), maxFileSize: 1024, maxClockSkew: 60_000,
  ...(network !== undefined ? { network: { id: network.id.publicKey, trusted: (network.trusted ?? [network.id]).map(k => k.publicKey) } } : {})
})

describe('record format', () => {
  it('an unbound record is unchanged; a bound one sets bit 1 and signs the network id', () => {
    const unbound = signRecord(signer, { name: 'motd', content: bytes('hi'), timestamp: 1000 })
    const bound = signRecord(signer, { name: 'motd', content: bytes('hi'), timestamp: 1000, network: A.publicKey })
    const u = encodeRecord(unbound)
    const b = encodeRecord(bound)
    expect(u.length).toBe(15 + 2 + 4 + 57 + 96)
    expect(b.length).toBe(u.length + 32)
    expect(u[15 + 2 + 4 + 16]).toBe(0)
    expect(b[15 + 2 + 4 + 16]).toBe(FLAG_NETWORK)
    expect(Buffer.from(b.subarray(15 + 2 + 4 + 57, 15 + 2 + 4 + 57 + 32))).toEqual(Buffer.from(A.publicKey))
    expect(decodeRecord(u)).toEqual(unbound)
    expect(decodeRecord(u).network).toBeUndefined()
    expect(decodeRecord(b)).toEqual(bound)
    expect(verifyRecordSignature(decodeRecord(b))).toBe(true)
    // the network id is signed: moving the record to another network breaks it
    expect(verifyRecordSignature({ ...bound, network: B.publicKey })).toBe(false)
    expect(verifyRecordSignature({ ...bound, network: undefined })).toBe(false)
    expect(MAX_RECORD_BYTES).toBe(15 + 2 + 255 + 57 + 32 + 96)
    // bit 1 set without the 32 bytes, and unknown bits, are refused
    const lying = Buffer.from(u); lying[15 + 2 + 4 + 16] = FLAG_NETWORK
    expect(() => decodeRecord(lying)).toThrow(/bytes/)
    const unknown = Buffer.from(b); unknown[15 + 2 + 4 + 16] = 0x06
    expect(() => decodeRecord(unknown)).toThrow(/flag/)
  })

  it('openssl alone makes a bound record (docs/examples/sign-with-openssl.sh with NETWORK.pub)', () => {
    const pem = join(work.dir, 'signer.pem')
    writeFileSync(pem, signingKeyToPem(signer))
    writeFileSync(join(work.dir, 'net.pub'), publicKeyToPem(A.publicKey))
    writeFileSync(join(work.dir, 'content'), 'from openssl')
    execFileSync('bash', ['docs/examples/sign-with-openssl.sh', pem, 'motd', join(work.dir, 'content'), join(work.dir, 'rec'), '0', join(work.dir, 'net.pub')])
    const r = decodeRecord(new Uint8Array(readFileSync(join(work.dir, 'rec'))))
    expect(Buffer.from(r.network!)).toEqual(Buffer.from(A.publicKey))
    expect(judge(r, undefined, policy({ id: A }), Date.now(), bytes('from openssl')).action).toBe('accept')
    expect(judge(r, undefined, policy({ id: B }), Date.now())).toMatchObject({ action: 'refuse', code: 'wrong-network' })
  })
})

describe('the rule', () => {
  it('a node with a network takes only records bound to it (or to a certificate authority); a node without takes only unbound ones', () => {
    const now = Date.now()
    const unbound = signRecord(signer, { name: 'motd', content: bytes('x') })
    const toA = signRecord(signer, { name: 'motd', content: bytes('x'), network: A.publicKey })
    const toB = signRecord(signer, { name: 'motd', content: bytes('x'), network: B.publicKey })
    expect(judge(unbound, undefined, policy(), now).action).toBe('accept')
    expect(judge(toA, undefined, policy(), now)).toMatchObject({ code: 'wrong-network', reason: expect.stringMatching(/this node has no network/) })
    expect(judge(toA, undefined, policy({ id: A }), now).action).toBe('accept')
    expect(judge(toB, undefined, policy({ id: A }), now)).toMatchObject({ code: 'wrong-network', reason: expect.stringMatching(/bound to network .* this node is in network/) })
    expect(judge(unbound, undefined, policy({ id: A }), now)).toMatchObject({ code: 'wrong-network', reason: expect.stringMatching(/not bound to a network.*--network-id/) })
    expect(judge(toB, undefined, policy({ id: A, trusted: [A, B] }), now).action).toBe('accept') // rotation
  })
})

describe('through the mesh', () => {
  let cluster: Cluster | undefined
  afterEach(async () => { await cluster?.close(); cluster = undefined })

  it('a record bound to network A, pushed by a lax member of network B, is refused by the others', async () => {
    cluster = new Cluster({ transports: ['tcp'] })
    const identity = (key: SigningKey): NetworkIdentity => {
      const c = issueCertificate(B, { subject: key.publicKey, name: 'n', validity: DAY })
      return { id: B.publicKey, trusted: [B.publicKey], certificate: c, certificateBytes: encodeCertificate(c) }
    }
    const keys = [generateSigningKey(), generateSigningKey()]
    const n0 = await cluster.add('n0', { identityKey: keys[0], network: identity(keys[0]) })
    const n1 = await cluster.add('n1', { identityKey: keys[1], network: identity(keys[1]), bootstrap: [n0.hostPort] })
    await connected([n0, n1], 1)
    const toA = signRecord(cluster.signer, { name: 'a.txt', content: bytes('for network A'), network: A.publicKey })
    // lax: n1's rule believes it is in network A
    await n1.replica.setPolicy({ ...policyOf(n1.config), network: { id: A.publicKey, trusted: [A.publicKey] } })
    expect(await n1.replica.submit(toA, bytes('for network A'), 'api')).toMatchObject({ outcome: 'accepted' })
    await waitFor(() => n0.mesh.stats().offers.refused >= 1, 'n0 refused the A-bound record')
    await n0.mesh.syncNow()
    expect(n0.replica.get('a.txt')).toBeUndefined()
    // a B-bound record spreads as usual (n1 back to its real network)
    await n1.replica.setPolicy({ ...policyOf(n1.config), network: { id: B.publicKey, trusted: [B.publicKey] } })
    const toB = await n0.upload({ name: 'b.txt', content: bytes('for network B') })
    await waitFor(() => n1.has(toB), 'the B-bound record reached n1', [n1])
  })
})
