// Ed25519 keys. node:crypto does the signing and verifying (the hot path, ~10x faster
// than pure JS); keys are handled as raw 32-byte values everywhere else.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'

// DER prefixes that wrap a raw 32-byte Ed25519 key into SPKI / PKCS#8.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export interface SigningKey {
  /** raw 32-byte public key */
  publicKey: Uint8Array
  /** raw 32-byte private seed */
  seed: Uint8Array
  sign: (message: Uint8Array) => Uint8Array
}

export function publicKeyObject (raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error(`an Ed25519 public key is 32 bytes, got ${raw.length}`)
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
}

const verifierCache = new Map<string, KeyObject>()

export function verifySignature (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false
  const id = Buffer.from(publicKey).toString('base64')
  let key = verifierCache.get(id)
  if (key === undefined) {
    try { key = publicKeyObject(publicKey) } catch { return false }
    if (verifierCache.size > 4096) verifierCache.clear()
    verifierCache.set(id, key)
  }
  try { return verify(null, message, key, signature) } catch { return false }
}

export function signingKeyFromSeed (seed: Uint8Array): SigningKey {
  if (seed.length !== 32) throw new Error(`an Ed25519 seed is 32 bytes, got ${seed.length}`)
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  return fromKeyObject(privateKey)
}

function fromKeyObject (privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`key is ${privateKey.asymmetricKeyType ?? 'unknown'}, not ed25519`)
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' })
  const seed = new Uint8Array(pkcs8.subarray(pkcs8.length - 32))
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32))
  return { publicKey, seed, sign: (message) => new Uint8Array(sign(null, message, privateKey)) }
}

export function generateSigningKey (): SigningKey {
  return fromKeyObject(generateKeyPairSync('ed25519').privateKey)
}

/** PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes it. */
export function signingKeyToPem (key: SigningKey): string {
  const der = Buffer.concat([PKCS8_PREFIX, key.seed])
  const body = der.toString('base64').match(/.{1,64}/g)!.join('\n')
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`
}

/** Parses a private key file: PKCS#8 PEM, or the base64 of a raw 32-byte seed. */
export function parseSigningKey (text: string): SigningKey {
  const trimmed = text.trim()
  if (trimmed.startsWith('-----BEGIN')) {
    let key: KeyObject
    try { key = createPrivateKey({ key: trimmed, format: 'pem' }) } catch (err) {
      throw new Error(`not a valid PEM private key: ${(err as Error).message}`)
    }
    return fromKeyObject(key)
  }
  const seed = decodeBase64Key(trimmed)
  if (seed === undefined) throw new Error('not a PKCS#8 PEM key and not the base64 of a 32-byte Ed25519 seed')
  return signingKeyFromSeed(seed)
}

export async function readSigningKey (path: string): Promise<SigningKey> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch (err) {
    throw new Error(`cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  try { return parseSigningKey(text) } catch (err) {
    throw new Error(`key file ${path}: ${(err as Error).message}`)
  }
}

/** Decodes standard padded base64 of exactly 32 bytes; undefined for anything else. */
export function decodeBase64Key (text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64')
  if (bytes.length !== 32 || bytes.toString('base64') !== text) return undefined
  return new Uint8Array(bytes)
}

export function encodeBase64Key (key: Uint8Array): string {
  return Buffer.from(key).toString('base64')
}
