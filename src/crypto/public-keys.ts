// Public key files: PEM SubjectPublicKeyInfo (what `openssl pkey -pubout` writes and what
// `generate identity-key` / `generate network` write), or the standard base64 of the raw
// 32-byte key (the form [files] and allowed_nodes take). Keys are raw 32 bytes inside.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { decodeBase64Key, parseSigningKey, publicKeyObject } from './keys.js'

/** PEM SubjectPublicKeyInfo of a raw Ed25519 public key. Its DER ends with the 32 raw bytes. */
export function publicKeyToPem (raw: Uint8Array): string {
  return publicKeyObject(raw).export({ format: 'pem', type: 'spki' }) as string
}

/**
 * Parses a public key: PEM SPKI, or standard base64 of the raw key. With `allowPrivate`,
 * a private key (PKCS#8 PEM or base64 seed) is accepted too and its public half returned.
 */
export function parsePublicKey (text: string, allowPrivate = false): Uint8Array {
  const trimmed = text.trim()
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    let key: KeyObject
    try { key = createPublicKey({ key: trimmed, format: 'pem' }) } catch (err) {
      throw new Error(`not a valid PEM public key: ${(err as Error).message}`)
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key is ${key.asymmetricKeyType ?? 'unknown'}, not ed25519`)
    const der = key.export({ format: 'der', type: 'spki' })
    return new Uint8Array(der.subarray(der.length - 32))
  }
  const raw = decodeBase64Key(trimmed)
  if (raw !== undefined && !allowPrivate) return raw
  if (allowPrivate && (trimmed.startsWith('-----BEGIN') || raw !== undefined)) {
    // base64 is ambiguous (public key or seed): with allowPrivate the caller asked for a key file
    return parseSigningKey(trimmed).publicKey
  }
  throw new Error('not a PEM public key and not the standard base64 of a 32-byte Ed25519 public key')
}

export async function readPublicKeyFile (path: string, allowPrivate = false): Promise<Uint8Array> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch (err) {
    throw new Error(`cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  try { return parsePublicKey(text, allowPrivate) } catch (err) {
    throw new Error(`key file ${path}: ${(err as Error).message}`)
  }
}

/**
 * A network id given as a value that is either the base64 key itself or the path of a
 * public key file (config `network.id`, `--network-id`).
 */
export async function readKeyPathOrBase64 (value: string): Promise<Uint8Array> {
  const raw = decodeBase64Key(value.trim())
  if (raw !== undefined) return raw
  return await readPublicKeyFile(value)
}
