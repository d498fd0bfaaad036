import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  certificateProblem, certificateToPem, decodeCertificate, encodeCertificate, issueCertificate, parseCertificate, CERT_DOMAIN
} from '../../src/crypto/certificate.ts'
import { generateSigningKey, signingKeyToPem } from '../../src/crypto/keys.ts'
import { parsePublicKey, publicKeyToPem } from '../../src/crypto/public-keys.ts'

const DAY = 86_400_000
const net = generateSigningKey()
const node = generateSigningKey()

describe('certificate format', () => {
  it('round-trips through bytes and PEM, and says what it certifies', () => {
    const c = issueCertificate(net, { subject: node.publicKey, name: 'alpha', validity: 90 * DAY })
    const bytes = encodeCertificate(c)
    expect(Buffer.from(bytes.subarray(0, CERT_DOMAIN.length)).toString('latin1')).toBe('data-mesher/cert/v1\0')
    expect(bytes.length).toBe(20 + 32 + 32 + 8 + 8 + 1 + 5 + 64)
    expect(decodeCertificate(bytes)).toEqual(c)
    const pem = certificateToPem(c)
    expect(pem).toMatch(/^-----BEGIN DATA-MESHER CERTIFICATE-----\n/)
    expect(parseCertificate(Buffer.from(pem))).toEqual(c)
    expect(c.notAfter - c.notBefore).toBe(90 * DAY + 5 * 60_000) // backdated 5 min for clock skew
    expect(certificateProblem(c, node.publicKey, { networks: [net.publicKey], now: Date.now() })).toBeUndefined()
  })

  it('is refused for another key, another network, outside its window, or tampered', () => {
    const now = Date.now()
    const c = issueCertificate(net, { subject: node.publicKey, name: 'alpha', validity: DAY, notBefore: now - 1000 })
    const trust = { networks: [net.publicKey], now }
    expect(certificateProblem(c, generateSigningKey().publicKey, trust)).toMatch(/different key/)
    expect(certificateProblem(c, node.publicKey, { networks: [generateSigningKey().publicKey], now })).toMatch(/another network/)
    expect(certificateProblem(c, node.publicKey, { ...trust, now: now + DAY })).toMatch(/expired/)
    expect(certificateProblem(c, node.publicKey, { ...trust, now: now - 2000 })).toMatch(/not valid before/)
    expect(certificateProblem({ ...c, notAfter: c.notAfter + DAY }, node.publicKey, trust)).toMatch(/does not verify/)
    // a self-made certificate: signed by the stranger's own "network" key, naming ours
    const forged = issueCertificate(node, { subject: node.publicKey, name: 'alpha', validity: DAY })
    expect(certificateProblem({ ...forged, network: net.publicKey }, node.publicKey, trust)).toMatch(/does not verify/)
    // an extra accepted network (certificate_authorities, during a rotation)
    const other = generateSigningKey()
    const c2 = issueCertificate(other, { subject: node.publicKey, name: 'beta', validity: DAY })
    expect(certificateProblem(c2, node.publicKey, { networks: [net.publicKey, other.publicKey], now: Date.now() })).toBeUndefined()
  })

  it('refuses malformed bytes with a reason', () => {
    const bytes = encodeCertificate(issueCertificate(net, { subject: node.publicKey, name: 'alpha', validity: DAY }))
    expect(() => decodeCertificate(bytes.subarray(0, bytes.length - 1))).toThrow(/name length says/)
    expect(() => decodeCertificate(new Uint8Array(200))).toThrow(/bad prefix/)
    expect(() => parseCertificate(Buffer.from('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'))).toThrow(/DATA-MESHER CERTIFICATE/)
    expect(() => issueCertificate(net, { subject: node.publicKey, name: '', validity: DAY })).toThrow(/1–255 bytes/)
  })

  it('public key files: PEM SPKI ends with the raw key (what clan-core reads), base64 too', () => {
    const pem = publicKeyToPem(node.publicKey)
    const der = Buffer.from(pem.split('\n').filter(l => !l.startsWith('-----')).join(''), 'base64')
    expect(der.subarray(der.length - 32)).toEqual(Buffer.from(node.publicKey))
    expect(parsePublicKey(pem)).toEqual(node.publicKey)
    expect(parsePublicKey(Buffer.from(node.publicKey).toString('base64'))).toEqual(node.publicKey)
    expect(parsePublicKey(signingKeyToPem(node), true)).toEqual(node.publicKey)
    expect(() => parsePublicKey(signingKeyToPem(node))).toThrow(/not a PEM public key/)
  })
})

describe('openssl alone verifies a certificate (docs/examples/verify-certificate-with-openssl.sh)', () => {
  let dir: string | undefined
  afterEach(() => { if (dir !== undefined) rmSync(dir, { recursive: true, force: true }); dir = undefined })

  it('accepts a good one and refuses a tampered, expired or foreign one', () => {
    dir = mkdtempSync(join(tmpdir(), 'dm-cert-openssl-'))
    const p = (n: string): string => join(dir!, n)
    writeFileSync(p('net.pub'), publicKeyToPem(net.publicKey))
    writeFileSync(p('node.pub'), publicKeyToPem(node.publicKey))
    // the public key file is what openssl itself makes of the private key
    writeFileSync(p('net.key'), signingKeyToPem(net))
    expect(execFileSync('openssl', ['pkey', '-in', p('net.key'), '-pubout']).toString()).toBe(publicKeyToPem(net.publicKey).replace(/\n(?=-----END)/, '\n'))
    const run = (cert: string, ...extra: string[]): { code: number | null, out: string } => {
      const r = spawnSync('bash', ['docs/examples/verify-certificate-with-openssl.sh', cert, p('net.pub'), ...extra])
      return { code: r.status, out: r.stdout.toString() + r.stderr.toString() }
    }
    const good = issueCertificate(net, { subject: node.publicKey, name: 'alpha', validity: DAY })
    writeFileSync(p('good.cert'), certificateToPem(good))
    expect(run(p('good.cert'), p('node.pub'))).toEqual({ code: 0, out: 'certificate OK\n' })

    writeFileSync(p('other.pub'), publicKeyToPem(generateSigningKey().publicKey))
    expect(run(p('good.cert'), p('other.pub'))).toMatchObject({ code: 1, out: expect.stringMatching(/another key/) })

    writeFileSync(p('tampered.cert'), certificateToPem({ ...good, name: 'alphb' }))
    expect(run(p('tampered.cert'))).toMatchObject({ code: 1, out: expect.stringMatching(/does not verify/) })

    const old = issueCertificate(net, { subject: node.publicKey, name: 'alpha', validity: DAY, notBefore: Date.now() - 2 * DAY })
    writeFileSync(p('old.cert'), certificateToPem(old))
    expect(run(p('old.cert'))).toMatchObject({ code: 1, out: expect.stringMatching(/expired/) })

    const foreign = issueCertificate(generateSigningKey(), { subject: node.publicKey, name: 'alpha', validity: DAY })
    writeFileSync(p('foreign.cert'), certificateToPem(foreign))
    expect(run(p('foreign.cert'))).toMatchObject({ code: 1, out: expect.stringMatching(/another network/) })
  })
})
