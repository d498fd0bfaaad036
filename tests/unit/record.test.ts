import { describe, expect, it } from 'vitest'
import * as noble from '@noble/ed25519'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeRecord, encodeRecord, signedBytes, signRecord, verifyRecordSignature, sha256, EMPTY_SHA256 } from '../../src/crypto/record.ts'
import { decodeBase64Key, generateSigningKey, parseSigningKey, signingKeyToPem, encodeBase64Key, signingKeyFromSeed } from '../../src/crypto/keys.ts'
import { nameProblem, parseNamespaceName, base64url } from '../../src/crypto/names.ts'

const key = generateSigningKey()

describe('record format', () => {
  it('lays out the signed bytes exactly as the design says', () => {
    const r = signRecord(key, { name: 'a/b', content: new Uint8Array([1, 2, 3]), timestamp: 0x0102030405, expires: 7 })
    const b = Buffer.from(signedBytes(r))
    expect(b.subarray(0, 15).toString('latin1')).toBe('data-mesher/v1\0')
    expect(b.readUInt16BE(15)).toBe(3)
    expect(b.subarray(17, 20).toString()).toBe('a/b')
    expect(b.readBigUInt64BE(20)).toBe(0x0102030405n)
    expect(b.readBigUInt64BE(28)).toBe(7n)
    expect(b[36]).toBe(0)
    expect(b.readBigUInt64BE(37)).toBe(3n)
    expect(b.subarray(45, 77)).toEqual(Buffer.from(sha256(new Uint8Array([1, 2, 3]))))
    expect(b.length).toBe(77)
    const full = encodeRecord(r)
    expect(full.length).toBe(77 + 32 + 64)
    expect(decodeRecord(full)).toEqual(r)
    expect(verifyRecordSignature(r)).toBe(true)
  })

  it('signatures agree with an independent pure implementation (@noble/ed25519), both ways', async () => {
    const r = signRecord(key, { name: 'cross/check', content: new Uint8Array([4, 5, 6]) })
    expect(await noble.verifyAsync(r.signature, signedBytes(r), r.signer)).toBe(true)
    const seed = noble.utils.randomSecretKey()
    const pub = await noble.getPublicKeyAsync(seed)
    const unsigned = { name: 'cross/check', timestamp: 5, expires: 0, tombstone: false, size: 0, sha256: EMPTY_SHA256 }
    const byNoble = { ...unsigned, signer: pub, signature: await noble.signAsync(signedBytes(unsigned), seed) }
    expect(verifyRecordSignature(byNoble)).toBe(true)
    expect(signingKeyFromSeed(seed).publicKey).toEqual(pub)
  })

  it('a tombstone has flag bit 0, size 0 and the hash of empty content', () => {
    const t = signRecord(key, { name: 'x', tombstone: true })
    expect(Buffer.from(signedBytes(t))[15 + 2 + 1 + 16]).toBe(1)
    expect(t.size).toBe(0)
    expect(Buffer.from(t.sha256)).toEqual(Buffer.from(EMPTY_SHA256))
  })

  it('refuses truncated, padded, garbage and inconsistent records with a reason', () => {
    const full = Buffer.from(encodeRecord(signRecord(key, { name: 'n', content: new Uint8Array(1) })))
    expect(() => decodeRecord(full.subarray(0, full.length - 1))).toThrow(/bytes/)
    expect(() => decodeRecord(Buffer.concat([full, Buffer.from([0])]))).toThrow(/bytes/)
    expect(() => decodeRecord(Buffer.from('garbage garbage garbage'))).toThrow(/prefix/)
    expect(() => decodeRecord(new Uint8Array(0))).toThrow(/prefix/)
    const badFlags = Buffer.from(full); badFlags[15 + 2 + 1 + 16] = 0x80
    expect(() => decodeRecord(badFlags)).toThrow(/flag/)
    const badName = Buffer.from(full); badName[17] = 0x2f // "/"
    expect(() => decodeRecord(badName)).toThrow(/name/)
    const huge = Buffer.from(full); huge.writeBigUInt64BE(2n ** 63n, 18)
    expect(() => decodeRecord(huge)).toThrow(/too large/)
  })

  it('can be produced with openssl alone (the README worked example)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dm-openssl-'))
    const pem = join(dir, 'k.pem')
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', pem])
    const k = parseSigningKey(readFileSync(pem, 'utf8'))
    const content = Buffer.from('hello\n')
    const r = signRecord(k, { name: 'demo/hello.txt', content, timestamp: 1700000000000 })
    writeFileSync(join(dir, 'signed.bin'), signedBytes(r))
    execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', pem, '-rawin', '-in', join(dir, 'signed.bin'), '-out', join(dir, 'sig.bin')])
    expect(Buffer.from(readFileSync(join(dir, 'sig.bin')))).toEqual(Buffer.from(r.signature)) // Ed25519 is deterministic
  })
})

describe('keys', () => {
  it('round-trips PEM and accepts a base64 seed', () => {
    const again = parseSigningKey(signingKeyToPem(key))
    expect(again.publicKey).toEqual(key.publicKey)
    const fromSeed = parseSigningKey(Buffer.from(key.seed).toString('base64'))
    expect(fromSeed.publicKey).toEqual(key.publicKey)
    expect(signingKeyFromSeed(key.seed).publicKey).toEqual(key.publicKey)
  })

  it('refuses keys that are not Ed25519 or not 32 bytes', () => {
    expect(() => parseSigningKey('not a key')).toThrow(/PEM|seed/)
    expect(() => parseSigningKey(Buffer.alloc(31).toString('base64'))).toThrow()
    const rsa = execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()
    expect(() => parseSigningKey(rsa)).toThrow(/not ed25519/)
  })

  it('base64 public keys must be standard, padded, 32 bytes', () => {
    const b64 = encodeBase64Key(key.publicKey)
    expect(decodeBase64Key(b64)).toEqual(key.publicKey)
    expect(decodeBase64Key(b64.replace('=', ''))).toBeUndefined()
    expect(decodeBase64Key(Buffer.from(key.publicKey).toString('base64url'))).toBeUndefined()
    expect(decodeBase64Key(Buffer.alloc(33).toString('base64'))).toBeUndefined()
  })
})

describe('names', () => {
  it.each([
    ['', /empty/], ['/a', /start or end/], ['a/', /start or end/], ['a//b', /empty segment/],
    ['a/../b', /"\.\." segment/], ['.', /"\." segment/], ['a\0b', /characters/], ['a b', /characters/],
    ['x'.repeat(256), /256 bytes/], ['ä', /characters/]
  ])('refuses %j', (name, reason) => {
    expect(nameProblem(name)).toMatch(reason)
  })

  it('accepts ordinary names', () => {
    for (const n of ['a', 'authorized_keys', 'dns/zone.example.com', 'x:y-z.1/A_b', 'x'.repeat(255)]) expect(nameProblem(n)).toBeUndefined()
  })

  it('parses namespace names', () => {
    const n = `machines/${base64url(key.publicKey)}`
    expect(parseNamespaceName(n)).toEqual({ namespace: 'machines', key: key.publicKey })
    expect(parseNamespaceName(`a/b/${base64url(key.publicKey)}`)?.namespace).toBe('a/b')
    expect(parseNamespaceName('machines/abc')).toBeUndefined()
    expect(parseNamespaceName(base64url(key.publicKey))).toBeUndefined()
  })
})
