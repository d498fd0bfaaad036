// Node certificates (DESIGN.md §7): the network key certifies that an identity key
// belongs to the network for a validity window. Same spirit as the record format: a
// domain-separated byte string, signed with Ed25519, verifiable with openssl alone
// (docs/PROTOCOLS.md "Certificates", docs/examples/verify-certificate-with-openssl.sh).
//
//   signed bytes = "data-mesher/cert/v1" 0x00
//                  subject public key[32]   the certified identity key
//                  network public key[32]   the key that signs (the network id)
//                  u64be(not_before) u64be(not_after)   unix milliseconds
//                  u8(len(name)) name(utf-8, 1–255 bytes, no control characters)
//   certificate  = signed bytes + Ed25519 signature[64] by the network key
//
// On disk it is PEM-armoured ("DATA-MESHER CERTIFICATE"); the raw bytes are accepted too.
import { verifySignature, type SigningKey } from './keys.js'

export const CERT_DOMAIN = Buffer.from('data-mesher/cert/v1\0', 'latin1')
const PEM_LABEL = 'DATA-MESHER CERTIFICATE'
const FIXED = CERT_DOMAIN.length + 32 + 32 + 8 + 8 + 1
export const MAX_CERT_BYTES = FIXED + 255 + 64

export interface Certificate {
  subject: Uint8Array
  network: Uint8Array
  /** unix ms */
  notBefore: number
  /** unix ms */
  notAfter: number
  name: string
  signature: Uint8Array
}

export class CertificateFormatError extends Error { override name = 'CertificateFormatError' }

/**
 * The last instant a certificate may name: 9999-12-31T23:59:59.999Z. The format holds
 * any u64, but a JavaScript Date ends at 8.64e15 ms and RFC 3339, Python's datetime and
 * most tools at year 9999: a certificate past it could be signed but not shown, logged
 * or compared everywhere, so it is refused when signing and when parsing (issue 19).
 */
export const MAX_CERT_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/** A time field past MAX_CERT_TIME: the certificate is well-formed but not acceptable. */
export class CertificateTimeError extends CertificateFormatError { override name = 'CertificateTimeError' }

function timeProblem (field: string, v: number | bigint): string | undefined {
  if (v > MAX_CERT_TIME) return `${field} ${v} (unix ms) is later than ${new Date(MAX_CERT_TIME).toISOString()}, the last time a certificate may name`
  return undefined
}

function nameProblem (name: string): string | undefined {
  const n = Buffer.byteLength(name, 'utf8')
  if (n === 0 || n > 255) return `certificate name must be 1–255 bytes, got ${n}`
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'certificate name must not contain control characters'
  return undefined
}

export function certificateSignedBytes (c: Omit<Certificate, 'signature'>): Uint8Array {
  const problem = nameProblem(c.name)
  if (problem !== undefined) throw new CertificateFormatError(problem)
  if (c.subject.length !== 32 || c.network.length !== 32) throw new CertificateFormatError('subject and network keys must be 32 bytes')
  for (const [field, v] of [['not_before', c.notBefore], ['not_after', c.notAfter]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new CertificateFormatError(`${field} must be a non-negative integer, got ${v}`)
    const late = timeProblem(field, v)
    if (late !== undefined) throw new CertificateTimeError(late)
  }
  const name = Buffer.from(c.name, 'utf8')
  const out = Buffer.alloc(FIXED + name.length)
  let o = CERT_DOMAIN.copy(out, 0)
  out.set(c.subject, o); o += 32
  out.set(c.network, o); o += 32
  o = out.writeBigUInt64BE(BigInt(c.notBefore), o)
  o = out.writeBigUInt64BE(BigInt(c.notAfter), o)
  o = out.writeUInt8(name.length, o)
  name.copy(out, o)
  return new Uint8Array(out)
}

export function encodeCertificate (c: Certificate): Uint8Array {
  return new Uint8Array(Buffer.concat([certificateSignedBytes(c), c.signature]))
}

/** Parses certificate bytes (layout only; verifyCertificate checks the signature and the window). */
export function decodeCertificate (bytes: Uint8Array): Certificate {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length > MAX_CERT_BYTES) throw new CertificateFormatError(`certificate is ${b.length} bytes, more than ${MAX_CERT_BYTES}`)
  if (b.length < FIXED + 64 || !b.subarray(0, CERT_DOMAIN.length).equals(CERT_DOMAIN)) {
    throw new CertificateFormatError('not a data-mesher/cert/v1 certificate (bad prefix or too short)')
  }
  let o = CERT_DOMAIN.length
  const subject = new Uint8Array(b.subarray(o, o + 32)); o += 32
  const network = new Uint8Array(b.subarray(o, o + 32)); o += 32
  const notBefore = readU64(b, o, 'not_before'); o += 8
  const notAfter = readU64(b, o, 'not_after'); o += 8
  const nameLength = b.readUInt8(o); o += 1
  if (b.length !== FIXED + nameLength + 64) throw new CertificateFormatError(`certificate is ${b.length} bytes, its name length says ${FIXED + nameLength + 64}`)
  const nameBytes = b.subarray(o, o + nameLength); o += nameLength
  const name = nameBytes.toString('utf8')
  if (!Buffer.from(name, 'utf8').equals(nameBytes)) throw new CertificateFormatError('certificate name is not valid UTF-8')
  const problem = nameProblem(name)
  if (problem !== undefined) throw new CertificateFormatError(problem)
  return { subject, network, notBefore, notAfter, name, signature: new Uint8Array(b.subarray(o, o + 64)) }
}

function readU64 (b: Buffer, o: number, field: string): number {
  const v = b.readBigUInt64BE(o)
  const late = timeProblem(field, v)
  if (late !== undefined) throw new CertificateTimeError(late)
  return Number(v)
}

export function certificateToPem (c: Certificate): string {
  const body = Buffer.from(encodeCertificate(c)).toString('base64').match(/.{1,64}/g)!.join('\n')
  return `-----BEGIN ${PEM_LABEL}-----\n${body}\n-----END ${PEM_LABEL}-----\n`
}

/** Parses a certificate file's content: PEM-armoured or raw bytes. */
export function parseCertificate (data: Uint8Array): Certificate {
  const text = Buffer.from(data).toString('latin1').trim()
  if (text.startsWith('-----BEGIN')) {
    const m = new RegExp(`^-----BEGIN ${PEM_LABEL}-----\\s+([A-Za-z0-9+/=\\s]+?)\\s*-----END ${PEM_LABEL}-----$`).exec(text)
    if (m === null) throw new CertificateFormatError(`not a PEM "${PEM_LABEL}" block`)
    return decodeCertificate(new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')))
  }
  return decodeCertificate(data)
}

export interface IssueOptions {
  subject: Uint8Array
  name: string
  /** validity in ms: from notBefore when given, else from now */
  validity: number
  /** default: now − 5 min, so that a node whose clock is a little behind the signer's accepts a fresh certificate */
  notBefore?: number
}

export const CERT_BACKDATE = 5 * 60_000

/** Signs a certificate with the network key. */
export function issueCertificate (networkKey: SigningKey, o: IssueOptions): Certificate {
  const now = Date.now()
  const notBefore = o.notBefore ?? now - CERT_BACKDATE
  const notAfter = (o.notBefore ?? now) + o.validity
  const unsigned = { subject: o.subject, network: networkKey.publicKey, notBefore, notAfter, name: o.name }
  return { ...unsigned, signature: networkKey.sign(certificateSignedBytes(unsigned)) }
}

export interface Trust {
  /** network keys whose certificates are accepted (network.id first, then certificate_authorities) */
  networks: readonly Uint8Array[]
  now: number
}

/**
 * Why `cert` does not certify `subject` under `trust`, or undefined when it does: signed
 * by one of the accepted network keys, for this very subject key, and valid now.
 */
export function certificateProblem (cert: Certificate, subject: Uint8Array | undefined, trust: Trust): string | undefined {
  if (subject !== undefined && !Buffer.from(cert.subject).equals(subject)) return 'the certificate is for a different key'
  if (!trust.networks.some(n => Buffer.from(n).equals(cert.network))) return 'the certificate is of another network'
  let message: Uint8Array
  try { message = certificateSignedBytes(cert) } catch (err) { return (err as Error).message }
  if (!verifySignature(cert.network, message, cert.signature)) return 'the certificate signature does not verify'
  if (trust.now < cert.notBefore) return `the certificate is not valid before ${new Date(cert.notBefore).toISOString()}`
  if (trust.now >= cert.notAfter) return `the certificate expired at ${new Date(cert.notAfter).toISOString()}`
  return undefined
}
