// F8: small-order and non-canonical Ed25519 public keys are refused wherever a key can
// appear (config files and allowed_nodes, namespace names, record signers), and two
// different records never compare equal.
import { describe, expect, it } from 'vitest'
import { Point } from '@noble/ed25519'
import { parseConfig } from '../../src/config/config.ts'
import { publicKeyProblem } from '../../src/crypto/key-validity.ts'
import { encodeBase64Key, generateSigningKey, verifySignature } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { sha256, signedBytes, type SignedRecord } from '../../src/crypto/record.ts'
import { compareVersions, judge } from '../../src/rule/which-version-wins.ts'
import { policy } from '../helpers/keys.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const NOW = 1_700_000_000_000

/** The 8 points of small order, in their canonical encodings. */
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity (0, 1)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // (0, -1), order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // all zero: order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa'
].map(hex)

/** Encodings that are not canonical: y >= p, and x = 0 with the sign bit set. */
const NON_CANONICAL = [
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1: the identity again
  'f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 3: a point of large order
  '0100000000000000000000000000000000000000000000000000000000000080' // identity with x's sign bit set
].map(hex)

/**
 * A record "signed" by the identity point without any private key: with A = identity,
 * [S]B = R + [k]A holds for R = [S]B whatever the message, so (R, S) verifies for every record.
 */
function forgedByIdentity (name: string, content: string, timestamp: number): SignedRecord {
  const signer = SMALL_ORDER[0]
  const s = 7n
  const R = Point.BASE.multiply(s).toBytes()
  const S = new Uint8Array(32)
  S[0] = Number(s)
  const bytes = new TextEncoder().encode(content)
  return { name, timestamp, expires: 0, tombstone: false, size: bytes.length, sha256: sha256(bytes), signer, signature: new Uint8Array([...R, ...S]) }
}

describe('weak Ed25519 keys (F8)', () => {
  it('the key check refuses all 8 small-order points and non-canonical encodings, and accepts real keys', () => {
    for (const k of SMALL_ORDER) expect(publicKeyProblem(k), Buffer.from(k).toString('hex')).toMatch(/small-order/)
    for (const k of NON_CANONICAL) expect(publicKeyProblem(k), Buffer.from(k).toString('hex')).toMatch(/not a canonical encoding/)
    for (let i = 0; i < 20; i++) expect(publicKeyProblem(generateSigningKey().publicKey)).toBeUndefined()
  })

  it('a key of small order lets anyone "sign" without a private key (why this matters): node:crypto accepts the forgery', () => {
    const r = forgedByIdentity('motd', 'owned', NOW)
    expect(verifySignature(r.signer, signedBytes(r), r.signature)).toBe(true)
  })

  it('config: every small-order or non-canonical key in files and allowed_nodes is refused, naming the key', () => {
    for (const k of [...SMALL_ORDER, ...NON_CANONICAL]) {
      const b64 = Buffer.from(k).toString('base64')
      expect(() => parseConfig(`[files]\n"motd" = ["${encodeBase64Key(generateSigningKey().publicKey)}", "${b64}"]`))
        .toThrow(new RegExp(`config: files\\."motd"\\[1\\]: "${b64.replace(/[+/]/g, c => '\\' + c)}" is (a small-order|not a canonical)`))
      expect(() => parseConfig(`[cluster]\nallowed_nodes = ["${b64}"]`))
        .toThrow(/config: cluster\.allowed_nodes\[0\]: .* is (a small-order|not a canonical)/)
    }
  })

  it('signer: a forged record by a small-order key is refused even when the policy lists that key', () => {
    const weak = encodeBase64Key(SMALL_ORDER[0])
    const P = { ...policy({}), files: new Map([['motd', new Set([weak])]]) }
    expect(judge(forgedByIdentity('motd', 'owned', NOW), undefined, P, NOW)).toMatchObject({ action: 'refuse', code: 'bad-key' })
  })

  it('namespace: ns/<small-order key> cannot be written, not even with a signature that verifies', () => {
    const P = policy({}, { namespaces: new Set(['machines']) })
    const name = `machines/${base64url(SMALL_ORDER[0])}`
    const forged = forgedByIdentity(name, 'facts', NOW)
    expect(verifySignature(forged.signer, signedBytes(forged), forged.signature)).toBe(true)
    const v = judge(forged, undefined, P, NOW)
    expect(v).toMatchObject({ action: 'refuse', code: 'bad-key' })
    expect((v as { reason: string }).reason).toMatch(/small-order/)
    for (const k of [...SMALL_ORDER, ...NON_CANONICAL.filter(k => base64url(k).length === 43)]) {
      const r = { ...forged, name: `machines/${base64url(k)}`, signer: k }
      // refused whatever happens; for its key whenever the signature verifies (the key is
      // checked after the fast native verify, so junk is refused for its signature first)
      const verifies = verifySignature(r.signer, signedBytes(r), r.signature)
      expect(judge(r, undefined, P, NOW), Buffer.from(k).toString('hex')).toMatchObject({ action: 'refuse', code: verifies ? 'bad-key' : 'bad-signature' })
    }
  })

  it('two different records with the same timestamp and signature never compare equal, and the order is total', () => {
    const a = forgedByIdentity('machines/x', 'content A', NOW)
    const b = forgedByIdentity('machines/x', 'content B', NOW)
    expect(Buffer.from(a.signature).equals(b.signature)).toBe(true)
    const ab = compareVersions(a, b)
    expect(ab).not.toBe(0)
    expect(compareVersions(b, a)).toBe(-ab)
    expect(compareVersions(a, { ...a })).toBe(0)
  })
})
