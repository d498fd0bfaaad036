// Issue 19 item 2: the network's revocation list, as a format and in the rule.
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.ts'
import { issueCertificate } from '../../src/crypto/certificate.ts'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord } from '../../src/crypto/record.ts'
import { encodeRevocationList, parseRevocationList, REVOCATIONS_NAME, revokedKeys } from '../../src/crypto/revocation-list.ts'
import { acceptsName, certificateFitsRecord, judge, stillAuthorized, type Policy } from '../../src/rule/which-version-wins.ts'

const DAY = 86_400_000
const net = generateSigningKey()
const ca = generateSigningKey()
const laptop = generateSigningKey()
const other = generateSigningKey()
const b = (t: string): Uint8Array => new Uint8Array(Buffer.from(t))

describe('the revocation list format', () => {
  it('round-trips, keeps only canonical base64 keys, and names what is wrong', () => {
    const list = [{ key: encodeBase64Key(laptop.publicKey), name: 'laptop', at: '2026-01-01T00:00:00.000Z' }]
    expect(parseRevocationList(encodeRevocationList(list))).toEqual(list)
    expect([...revokedKeys(list)]).toEqual([encodeBase64Key(laptop.publicKey)])
    expect(() => parseRevocationList(b('nope'))).toThrow(/not JSON/)
    expect(() => parseRevocationList(b('{"revoked": 1}'))).toThrow(/expected \{"revoked"/)
    expect(() => parseRevocationList(b('{"revoked": [{"key": "abc"}]}'))).toThrow(/revoked\[0\]: "abc" is not a base64 32-byte key/)
    expect(() => parseRevocationList(b('{"revoked": [{}]}'))).toThrow(/revoked\[0\]/)
  })
})

describe('the rule and the revocation list', () => {
  const base: Policy = { files: new Map(), namespaces: new Set(['test_ns']), maxFileSize: 65536, maxClockSkew: 60_000 }
  const cert = issueCertificate(net, { subject: laptop.publicKey, name: 'laptop', validity: 90 * DAY })
  const withNet = (revoked?: string[]): Policy => ({
    ...base,
    network: { id: net.publicKey, trusted: [net.publicKey, ca.publicKey], ...(revoked !== undefined ? { revoked: new Set(revoked) } : {}) },
    certificateOf: () => cert
  })
  const content = encodeRevocationList([{ key: encodeBase64Key(laptop.publicKey) }])

  it('the reserved name is accepted under a network, signed by network.id only (not a certificate authority, not a member)', () => {
    const now = Date.now()
    expect(acceptsName(withNet(), REVOCATIONS_NAME)).toBe(true)
    expect(acceptsName(base, REVOCATIONS_NAME)).toBe(false)
    expect(judge(signRecord(net, { name: REVOCATIONS_NAME, content, network: net.publicKey }), undefined, withNet(), now, content).action).toBe('accept')
    for (const signer of [ca, laptop]) {
      expect(judge(signRecord(signer, { name: REVOCATIONS_NAME, content, network: net.publicKey }), undefined, withNet(), now, content))
        .toMatchObject({ action: 'refuse', code: 'not-signer', reason: expect.stringMatching(/only the network key/) })
    }
    // without a network it is just an unconfigured name
    expect(judge(signRecord(net, { name: REVOCATIONS_NAME, content }), undefined, base, now, content)).toMatchObject({ code: 'not-configured' })
  })

  it('a namespace file of a revoked key is refused, a stored one no longer authorized, its certificate not taken; other keys unaffected', () => {
    const now = Date.now()
    const name = `test_ns/${base64url(laptop.publicKey)}`
    const record = signRecord(laptop, { name, content: b('x'), network: net.publicKey })
    const revoked = withNet([encodeBase64Key(laptop.publicKey)])
    expect(judge(record, undefined, withNet(), now).action).toBe('accept')
    expect(judge(record, undefined, revoked, now)).toMatchObject({ action: 'refuse', code: 'not-certified', reason: expect.stringMatching(/was revoked by the network/) })
    expect(stillAuthorized(withNet(), record)).toBe(true)
    expect(stillAuthorized(revoked, record)).toBe(false)
    expect(certificateFitsRecord(revoked, record, cert, now)).toMatch(/was revoked/)
    const otherCert = issueCertificate(net, { subject: other.publicKey, name: 'o', validity: 90 * DAY })
    const otherRecord = signRecord(other, { name: `test_ns/${base64url(other.publicKey)}`, content: b('y'), network: net.publicKey })
    expect(judge(otherRecord, undefined, { ...revoked, certificateOf: () => otherCert }, now).action).toBe('accept')
  })

  it('with network.id set, the config refuses the reserved name as a file or namespace', () => {
    const toml = (body: string): string => `state_dir = "/tmp/x"\n${body}\n[network]\nid = "${encodeBase64Key(net.publicKey)}"\n[cluster]\nidentity_cert = "/tmp/c"\n`
    expect(() => parseConfig(toml(`[files]\n"${REVOCATIONS_NAME}" = ["${encodeBase64Key(net.publicKey)}"]`))).toThrow(/reserved for the network's revocation list/)
    expect(() => parseConfig(`namespaces = ["${REVOCATIONS_NAME}"]\n` + toml(''))).toThrow(/namespaces\[0\].*reserved/)
  })
})
