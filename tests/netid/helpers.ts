// Network identity files for tests, written with the library (the CLI path is covered by
// tests/netid/cli.test.ts): a network key pair, node identity keys and their certificates.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { certificateToPem, issueCertificate, type Certificate } from '../../src/crypto/certificate.ts'
import { encodeBase64Key, generateSigningKey, signingKeyToPem, type SigningKey } from '../../src/crypto/keys.ts'
import { publicKeyToPem } from '../../src/crypto/public-keys.ts'

export const DAY = 86_400_000

export interface NetworkFiles { key: SigningKey, keyPath: string, pubPath: string, id: string }

export function makeNetwork (dir: string, name = 'network'): NetworkFiles {
  const key = generateSigningKey()
  const keyPath = join(dir, `${name}.key`)
  const pubPath = join(dir, `${name}.pub`)
  writeFileSync(keyPath, signingKeyToPem(key), { mode: 0o600 })
  writeFileSync(pubPath, publicKeyToPem(key.publicKey))
  return { key, keyPath, pubPath, id: encodeBase64Key(key.publicKey) }
}

export interface NodeFiles { key: SigningKey, keyPath: string, pubPath: string, certPath: string, cert?: Certificate }

/** An identity key and, when `network` is given, a certificate of it (default: 90 days). */
export function makeIdentity (dir: string, name: string, network?: SigningKey, o: { validity?: number, notBefore?: number, key?: SigningKey } = {}): NodeFiles {
  const key = o.key ?? generateSigningKey()
  const keyPath = join(dir, `${name}.key`)
  const pubPath = join(dir, `${name}.pub`)
  const certPath = join(dir, `${name}.cert`)
  writeFileSync(keyPath, signingKeyToPem(key), { mode: 0o600 })
  writeFileSync(pubPath, publicKeyToPem(key.publicKey))
  let cert: Certificate | undefined
  if (network !== undefined) {
    cert = issueCertificate(network, { subject: key.publicKey, name, validity: o.validity ?? 90 * DAY, notBefore: o.notBefore })
    writeFileSync(certPath, certificateToPem(cert))
  }
  return { key, keyPath, pubPath, certPath, cert }
}
