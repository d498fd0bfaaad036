// The simulator's records: small plain objects standing in for signed records. A version
// is (name, timestamp, serial); `serial` is unique per version across the run and plays
// the part of the signature in the real order (which-version-wins.ts compareVersions:
// the larger timestamp wins, then the larger signature). Signatures, hashes and content
// are not computed: their CPU cost is charged by the CPU model instead (cpu.ts).

export interface SimRecord {
  name: string
  /** the signer's clock at signing (ms): the origin's simulated clock, offset included */
  timestamp: number
  /** unique per version (stands in for the signature, and for the record id's bytes) */
  serial: number
  /** the record id as the tree core sees it (4 bytes of the serial; 32 bytes on the wire) */
  id: Uint8Array
  /** content bytes (inline when ≤ announceInlineMax) */
  size: number
  /** the index of the measured update this version is, or -1 (warm-up, flood) */
  update: number
  /** the node that signed it */
  origin: number
  /** simulated time it was published at */
  publishedAt: number
}

/** > 0 when `a` is newer than `b`, 0 for the same version: the real order's shape (timestamp, then signature). */
export function compareRecords (a: SimRecord, b: SimRecord): number {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp ? 1 : -1
  return a.serial === b.serial ? 0 : (a.serial > b.serial ? 1 : -1)
}

export function idOf (serial: number): Uint8Array {
  return Uint8Array.of(serial >>> 24, (serial >>> 16) & 255, (serial >>> 8) & 255, serial & 255)
}

export function serialOf (id: Uint8Array): number {
  return ((id[0] << 24) >>> 0) + (id[1] << 16) + (id[2] << 8) + id[3]
}

// Wire sizes, as src/mesh/announce.ts and sync.ts encode them (the payload of the frames,
// plus a 1–3 byte varint length per frame). An encoded record (crypto/record.ts): the
// domain (15), u16 name length, the name, timestamp, expiry, flags, size, sha256 (57),
// signer (32), signature (64): 170 + len(name) (no network binding).
export const RECORD_FIXED_BYTES = 170
export const ID_BYTES = 32

export function recordBytes (r: SimRecord): number { return RECORD_FIXED_BYTES + r.name.length }

/** A FULL message: frame(0x01 record) frame(inline content). */
export function fullBytes (r: SimRecord, inlineMax: number): number {
  const inline = r.size <= inlineMax ? r.size : 0
  return varint(2 + recordBytes(r)) + 2 + recordBytes(r) + varint(inline) + inline
}

/** One IHAVE notice: u8(len(name)) name u64(timestamp) id(32). */
export function noticeBytes (name: string): number { return 1 + name.length + 8 + ID_BYTES + 1 }

/** GRAFT: frame(0x03 u8(len) name id). */
export function graftBytes (name: string): number { const n = 1 + 1 + name.length + ID_BYTES; return varint(n) + n }

export const PRUNE_BYTES = 2

/** A sync summary entry: u8(len) name u8(tag) u64(timestamp) id(32), framed. */
export function summaryEntryBytes (name: string): number { const n = 1 + name.length + 1 + 8 + ID_BYTES; return varint(n) + n }

export function varint (n: number): number { return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4 }
