// Property-based fuzzing of the certificate decoder and check, and of bound records: a
// stranger's bytes never crash the decoder and no mutation of a valid certificate (or of
// a bound record's network id) is ever accepted.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { certificateProblem, CertificateFormatError, decodeCertificate, encodeCertificate, issueCertificate, parseCertificate } from '../../src/crypto/certificate.ts'
import { decodeRecord, encodeRecord, RecordFormatError, signRecord } from '../../src/crypto/record.ts'
import { judge } from '../../src/rule/which-version-wins.ts'
import { keys, policy } from '../helpers/keys.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 500)
const SEED = Number(process.env.FUZZ_SEED ?? 20261129)
const [net, node, signer] = keys(3)
const NOW = 1_800_000_000_000
const cert = issueCertificate(net, { subject: node.publicKey, name: 'alpha', validity: 86_400_000, notBefore: NOW - 1000 })
const valid = encodeCertificate(cert)
const trust = { networks: [net.publicKey], now: NOW }

describe('fuzz: certificates', () => {
  it('arbitrary bytes (raw or PEM-armoured) either decode or fail with a CertificateFormatError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, pem) => {
      const input = pem ? Buffer.from(`-----BEGIN DATA-MESHER CERTIFICATE-----\n${Buffer.from(bytes).toString('base64')}\n-----END DATA-MESHER CERTIFICATE-----\n`) : bytes
      try { parseCertificate(input) } catch (err) { expect(err).toBeInstanceOf(CertificateFormatError) }
    }), { seed: SEED, numRuns: RUNS })
  })

  it('any mutation of a valid certificate is refused (format, signature, key, network or window), never accepted', () => {
    expect(certificateProblem(cert, node.publicKey, trust)).toBeUndefined()
    fc.assert(fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
      const bytes = Uint8Array.from(valid)
      bytes[at] ^= xor
      let c
      try { c = decodeCertificate(bytes) } catch (err) { expect(err).toBeInstanceOf(CertificateFormatError); return }
      expect(certificateProblem(c, node.publicKey, trust)).toBeDefined()
    }), { seed: SEED, numRuns: RUNS })
  })

  it('a bound record moved to another network id, or unbound, is refused', () => {
    const P = { ...policy({ motd: [signer] }), network: { id: net.publicKey, trusted: [net.publicKey] } }
    const bound = encodeRecord(signRecord(signer, { name: 'motd', content: new Uint8Array([1]), timestamp: NOW, network: net.publicKey }))
    const at = bound.length - 96 - 32 // the network id
    fc.assert(fc.property(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 1, max: 255 }), (i, xor) => {
      const bytes = Uint8Array.from(bound)
      bytes[at + i] ^= xor
      let r
      try { r = decodeRecord(bytes) } catch (err) { expect(err).toBeInstanceOf(RecordFormatError); return }
      expect(judge(r, undefined, { ...P, network: { id: r.network!, trusted: [r.network!] } }, NOW, new Uint8Array([1]))).toMatchObject({ action: 'refuse', code: 'bad-signature' })
      expect(judge(r, undefined, P, NOW, new Uint8Array([1]))).toMatchObject({ action: 'refuse', code: 'wrong-network' })
    }), { seed: SEED, numRuns: Math.min(RUNS, 200) })
  })
})
