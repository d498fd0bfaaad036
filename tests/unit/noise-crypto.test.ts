// src/mesh/noise-crypto.ts: the X25519 of Noise with private keys kept as KeyObjects must
// give the library's results byte for byte, whichever side made the keys, so that a
// handshake with a node running the library's own crypto is unchanged.
import { describe, expect, it } from 'vitest'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { noiseCrypto } from '../../src/mesh/noise-crypto.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('noise crypto (X25519 with KeyObjects)', () => {
  it('makes key pairs whose public key is the one the library derives from the private key', () => {
    for (let i = 0; i < 20; i++) {
      const kp = noiseCrypto.generateX25519KeyPair()
      expect(kp.privateKey.length).toBe(32)
      expect(hex(defaultCrypto.generateX25519KeyPairFromSeed(kp.privateKey).publicKey)).toBe(hex(kp.publicKey))
    }
  })

  it('agrees with the library on every shared key, in both directions and with keys made by either', () => {
    for (let i = 0; i < 20; i++) {
      const ours = noiseCrypto.generateX25519KeyPair()
      const theirs = defaultCrypto.generateX25519KeyPair()
      const a = noiseCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey)
      expect(hex(a)).toBe(hex(defaultCrypto.generateX25519SharedKey(theirs.privateKey, ours.publicKey)))
      expect(hex(a)).toBe(hex(defaultCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey)))
      // a private key it did not make (no KeyObject remembered): decoded as the library does
      expect(hex(noiseCrypto.generateX25519SharedKey(theirs.privateKey, ours.publicKey))).toBe(hex(a))
      // the same private key twice (the ephemeral key's two DHs of an XX handshake)
      expect(hex(noiseCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey))).toBe(hex(a))
    }
  })

  it('refuses a malformed public key as the library does', () => {
    const ours = noiseCrypto.generateX25519KeyPair()
    expect(() => noiseCrypto.generateX25519SharedKey(ours.privateKey, new Uint8Array(31))).toThrow()
    expect(() => defaultCrypto.generateX25519SharedKey(ours.privateKey, new Uint8Array(31))).toThrow()
  })

  it('refuses a low-order public key (an all-zero shared secret) as the library does', () => {
    const ours = noiseCrypto.generateX25519KeyPair()
    const zero = new Uint8Array(32) // the point of order 1 on the curve
    expect(() => defaultCrypto.generateX25519SharedKey(ours.privateKey, zero)).toThrow()
    expect(() => noiseCrypto.generateX25519SharedKey(ours.privateKey, zero)).toThrow()
  })
})
