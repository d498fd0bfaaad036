// Noise's crypto (@chainsafe/libp2p-noise's node implementation) with cheaper X25519 key
// handling; the curve, the results and the wire are the library's, byte for byte
// (tests/unit/noise-crypto.test.ts). The library keeps keys as bytes and, for every
// Diffie-Hellman, turns both back into KeyObjects through PKCS#8 / SPKI DER, which
// OpenSSL 3 decodes through its generic decoder framework: ~440 µs for a private key and
// ~100 µs for a public one on this host, against ~35 µs for the DH itself. An XX handshake
// does three DHs per end (two with its ephemeral key, one with its static key, the same
// for every connection), so that was ~1.9 ms of CPU per end per connection. Here:
// - a key pair is made as KeyObjects and its raw bytes read through JWK (~45 µs, against
//   ~145 µs for the DER encodings), and the private KeyObject is remembered beside its
//   bytes (a WeakMap on the very Uint8Array the library passes back): no DH decodes a
//   private key made here;
// - a peer's public key is imported as a JWK (~15 µs), which takes the raw key directly.
// docs/DECISIONS.md, "Fewer streams and cheaper handshakes per new connection at start",
// has the figures.
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'

// the DER prefix of a bare X25519 private key (RFC 8410), as the library uses it
const PKCS8_PREFIX = Buffer.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])

/** private key bytes (the object the library holds) → its KeyObject */
const privateKeys = new WeakMap<Uint8Array, KeyObject>()

/** a key as the library passes it: bytes, or a list of chunks (its own uint8arraylist) */
type KeyBytes = Parameters<ICryptoInterface['generateX25519SharedKey']>[0]

function bytes (b: KeyBytes): Uint8Array { return b instanceof Uint8Array ? b : b.subarray() }

function privateKeyObject (raw: KeyBytes): KeyObject {
  if (raw instanceof Uint8Array) {
    const known = privateKeys.get(raw)
    if (known !== undefined) return known
  }
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, bytes(raw)]), format: 'der', type: 'pkcs8' })
  if (raw instanceof Uint8Array) privateKeys.set(raw, key)
  return key
}

export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  generateX25519KeyPair () {
    const { privateKey } = generateKeyPairSync('x25519')
    const jwk = privateKey.export({ format: 'jwk' })
    const priv = Buffer.from(jwk.d as string, 'base64url')
    privateKeys.set(priv, privateKey)
    return { publicKey: Buffer.from(jwk.x as string, 'base64url'), privateKey: priv }
  },
  generateX25519SharedKey (privateKey, publicKey) {
    return diffieHellman({
      privateKey: privateKeyObject(privateKey),
      publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(bytes(publicKey)).toString('base64url') }, format: 'jwk' })
    })
  }
}
