// The signed record (DESIGN.md §3). This byte layout is the protocol: signers, the API
// and the mesh all exchange exactly these bytes.
//
//   signed bytes = "data-mesher/v1" 0x00
//                  u16be(len(name)) name(utf-8)
//                  u64be(timestamp) u64be(expires) u8(flags) u64be(size) sha256(content)
//                  [network id (32)]   only when flags bit 1 is set: a record bound to a network
//   record       = signed bytes + signer public key (32) + Ed25519 signature (64)
//
// An unbound record (bit 1 clear) is byte for byte the format before network binding.
import { createHash } from 'node:crypto'
import { nameProblem } from './names.js'
import { verifySignature, type SigningKey } from './keys.js'

export const DOMAIN = Buffer.from('data-mesher/v1\0', 'latin1')
export const FLAG_TOMBSTONE = 0x01
/** the record is bound to a network: the 32-byte network id follows sha256(content) */
export const FLAG_NETWORK = 0x02
const FIXED_AFTER_NAME = 8 + 8 + 1 + 8 + 32
export const MAX_RECORD_BYTES = DOMAIN.length + 2 + 255 + FIXED_AFTER_NAME + 32 + 32 + 64
export const EMPTY_SHA256 = sha256(new Uint8Array(0))

export interface SignedRecord {
  name: string
  /** unix milliseconds chosen by the signer */
  timestamp: number
  /** unix milliseconds, 0 = never */
  expires: number
  tombstone: boolean
  size: number
  sha256: Uint8Array
  /** the network id (raw 32-byte network public key) the record is bound to; absent = unbound */
  network?: Uint8Array
  signer: Uint8Array
  signature: Uint8Array
}

export type UnsignedRecord = Omit<SignedRecord, 'signer' | 'signature'>

export class RecordFormatError extends Error { override name = 'RecordFormatError' }

export function sha256 (data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest())
}

export function signedBytes (r: UnsignedRecord): Uint8Array {
  const problem = nameProblem(r.name)
  if (problem !== undefined) throw new RecordFormatError(problem)
  for (const [field, value] of [['timestamp', r.timestamp], ['expires', r.expires], ['size', r.size]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RecordFormatError(`${field} must be a non-negative integer, got ${value}`)
  }
  if (r.sha256.length !== 32) throw new RecordFormatError('sha256 must be 32 bytes')
  if (r.network !== undefined && r.network.length !== 32) throw new RecordFormatError('a network id must be 32 bytes')
  const name = Buffer.from(r.name, 'utf8')
  const bound = r.network !== undefined
  const out = Buffer.alloc(DOMAIN.length + 2 + name.length + FIXED_AFTER_NAME + (bound ? 32 : 0))
  let o = DOMAIN.copy(out, 0)
  o = out.writeUInt16BE(name.length, o)
  o += name.copy(out, o)
  o = out.writeBigUInt64BE(BigInt(r.timestamp), o)
  o = out.writeBigUInt64BE(BigInt(r.expires), o)
  o = out.writeUInt8((r.tombstone ? FLAG_TOMBSTONE : 0) | (bound ? FLAG_NETWORK : 0), o)
  o = out.writeBigUInt64BE(BigInt(r.size), o)
  out.set(r.sha256, o)
  if (r.network !== undefined) out.set(r.network, o + 32)
  return new Uint8Array(out)
}

/**
 * A record's bytes, built once per record object: a record is encoded for every peer it is
 * sent to and hashed for its id, and records are never changed after decoding or signing
 * (a changed version is a new object). Callers must not write into the bytes returned.
 */
const encoded = new WeakMap<SignedRecord, Uint8Array>()

export function encodeRecord (r: SignedRecord): Uint8Array {
  let bytes = encoded.get(r)
  if (bytes === undefined) {
    bytes = new Uint8Array(Buffer.concat([signedBytes(r), r.signer, r.signature]))
    encoded.set(r, bytes)
  }
  return bytes
}

/** Parses record bytes. Checks the layout only; the signature is checked by verifyRecord. */
export function decodeRecord (bytes: Uint8Array): SignedRecord {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length > MAX_RECORD_BYTES) throw new RecordFormatError(`record is ${b.length} bytes, more than the ${MAX_RECORD_BYTES} a record can be`)
  if (b.length < DOMAIN.length + 2 || !b.subarray(0, DOMAIN.length).equals(DOMAIN)) {
    throw new RecordFormatError('not a data-mesher/v1 record (bad prefix)')
  }
  let o = DOMAIN.length
  const nameLength = b.readUInt16BE(o); o += 2
  const flagsAt = DOMAIN.length + 2 + nameLength + 16
  const bound = flagsAt < b.length && (b.readUInt8(flagsAt) & FLAG_NETWORK) !== 0
  const expected = DOMAIN.length + 2 + nameLength + FIXED_AFTER_NAME + (bound ? 32 : 0) + 32 + 64
  if (b.length !== expected) throw new RecordFormatError(`record is ${b.length} bytes, its name length says ${expected}`)
  const nameBytes = b.subarray(o, o + nameLength); o += nameLength
  const name = nameBytes.toString('utf8')
  if (!Buffer.from(name, 'utf8').equals(nameBytes)) throw new RecordFormatError('name is not valid UTF-8')
  const problem = nameProblem(name)
  if (problem !== undefined) throw new RecordFormatError(problem)
  const timestamp = readU64(b, o, 'timestamp'); o += 8
  const expires = readU64(b, o, 'expires'); o += 8
  const flags = b.readUInt8(o); o += 1
  if ((flags & ~(FLAG_TOMBSTONE | FLAG_NETWORK)) !== 0) throw new RecordFormatError(`unknown flag bits 0x${flags.toString(16)}`)
  const size = readU64(b, o, 'size'); o += 8
  const digest = new Uint8Array(b.subarray(o, o + 32)); o += 32
  const network = bound ? new Uint8Array(b.subarray(o, o + 32)) : undefined
  if (bound) o += 32
  const signer = new Uint8Array(b.subarray(o, o + 32)); o += 32
  const signature = new Uint8Array(b.subarray(o, o + 64))
  const tombstone = (flags & FLAG_TOMBSTONE) !== 0
  if (tombstone && (size !== 0 || !Buffer.from(digest).equals(EMPTY_SHA256))) {
    throw new RecordFormatError('a tombstone must have size 0 and the sha256 of empty content')
  }
  const record: SignedRecord = { name, timestamp, expires, tombstone, size, sha256: digest, ...(network !== undefined ? { network } : {}), signer, signature }
  encoded.set(record, new Uint8Array(b)) // a copy: the input may be part of a larger buffer, or reused
  return record
}

function readU64 (b: Buffer, o: number, field: string): number {
  const v = b.readBigUInt64BE(o)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RecordFormatError(`${field} ${v} is too large`)
  return Number(v)
}

const ids = new WeakMap<SignedRecord, Uint8Array>()
/**
 * A version's id: sha256 of the whole encoded record (signer and signature included), so
 * two different records never share it. What a fetch and a notice name, what keys staged
 * content and a namespace file's certificate. Computed once per record object (records
 * are never changed after decoding or signing).
 */
export function recordId (r: SignedRecord): Uint8Array {
  let id = ids.get(r)
  if (id === undefined) { id = sha256(encodeRecord(r)); ids.set(r, id) }
  return id
}

/** recordId as hex, for map keys and file names. */
export function recordIdHex (r: SignedRecord): string { return Buffer.from(recordId(r)).toString('hex') }

/** Whether the Ed25519 signature on `r` verifies (the rule also checks the key, see authenticity()). */
export function verifyRecordSignature (r: SignedRecord): boolean {
  let message: Uint8Array
  try {
    const bytes = encodeRecord(r) // signed bytes + signer + signature, cached
    message = bytes.subarray(0, bytes.length - r.signer.length - r.signature.length)
  } catch { return false }
  return verifySignature(r.signer, message, r.signature)
}

export interface SignOptions {
  name: string
  content?: Uint8Array
  tombstone?: boolean
  timestamp?: number
  expires?: number
  /** bind the record to this network id (raw 32-byte network public key) */
  network?: Uint8Array
}

/** Signs a version (or, with tombstone, a deletion) of a file. */
export function signRecord (key: SigningKey, o: SignOptions): SignedRecord {
  const content = o.tombstone === true ? new Uint8Array(0) : (o.content ?? new Uint8Array(0))
  const unsigned: UnsignedRecord = {
    name: o.name,
    timestamp: o.timestamp ?? Date.now(),
    expires: o.expires ?? 0,
    tombstone: o.tombstone === true,
    size: content.length,
    sha256: sha256(content),
    ...(o.network !== undefined ? { network: o.network } : {})
  }
  const signature = key.sign(signedBytes(unsigned))
  return { ...unsigned, signer: key.publicKey, signature }
}

export function sameRecord (a: SignedRecord, b: SignedRecord): boolean {
  return Buffer.from(a.signature).equals(b.signature) && Buffer.from(a.signer).equals(b.signer) &&
    Buffer.from(encodeRecord(a)).equals(encodeRecord(b))
}
