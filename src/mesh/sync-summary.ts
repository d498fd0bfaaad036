// The index as /data-mesher/sync/4.0.0 sees it: a digest to tell "equal" at a glance, and
// a summary (one entry per slot: name, slot tag, timestamp, id) so that two nodes that
// differ exchange only the records and floors that differ, not their whole index.
//
// entry = u8(len(name)) name u8(tag) u64be(timestamp) id(32)
//   tag 1: the current version of the name, tag 2: a record from the future held back,
//   id = sha256 of the encoded record (recordId(), as fetch and announce name versions);
//   tag 3 (4.0.0): the name's floor (DESIGN.md §7) that travels — timestamp = the floor,
//   id = sha256 of its floor frame, u64be(floor) followed by the revoked record that proves it.
import { createHash } from 'node:crypto'
import { encodeRecord, recordId, type SignedRecord } from '../crypto/record.js'
import { MAX_NAME_BYTES } from '../crypto/names.js'
import type { ReplicaPort } from './replica-port.js'
import { WireError, concat, u16, u64 } from './wire.js'

export const CURRENT_SLOT = 1
export const HELD_SLOT = 2
export const FLOOR_SLOT = 3
/** the largest summary entry: a 255-byte name */
export const MAX_SUMMARY_ENTRY = 1 + MAX_NAME_BYTES + 1 + 8 + 32

/** What two sides compare: a version of a name (or, tag FLOOR_SLOT, its floor), without its record. */
export interface VersionKey { name: string, timestamp: number, id: Uint8Array, tag?: number }
export interface SummaryEntry extends VersionKey { tag: number }
/** one of my slots: its summary entry and the record behind it (a floor's: its proof) */
export interface Slot extends SummaryEntry { record: SignedRecord }

/** A floor as it travels: u64be(floor) then the encoded revoked record that proves it. */
export function encodeFloor (floor: number, proof: SignedRecord): Uint8Array {
  return concat([u64(floor), encodeRecord(proof)])
}

const floorId = (floor: number, proof: SignedRecord): Uint8Array => new Uint8Array(createHash('sha256').update(encodeFloor(floor, proof)).digest())

export interface IndexSnapshot {
  digest: Uint8Array
  /** the number of names */
  count: number
  /** every current and held record */
  slots: Slot[]
}

/**
 * The digest is sha256 over the node's index: for each name (sorted by UTF-8 bytes),
 * u16be(len(name)) name, then every slot the name has as u8(tag) u64be(timestamp)
 * signature(64) — for the floor slot u8(3) u64be(floor) only: two proofs of one floor are
 * equal. Two nodes are equal only when every slot agrees: a held record never hides a
 * current one that differs (issue 11 F1), nor does a floor one side lacks hide (4.0.0).
 */
export function snapshot (replica: Pick<ReplicaPort, 'list' | 'listHeld' | 'listFloors'>): IndexSnapshot {
  const slots: Slot[] = []
  for (const [tag, records] of [[CURRENT_SLOT, replica.list()], [HELD_SLOT, replica.listHeld()]] as const) {
    for (const r of records) slots.push({ name: r.name, tag, timestamp: r.timestamp, id: recordId(r), record: r })
  }
  for (const f of replica.listFloors()) slots.push({ name: f.name, tag: FLOOR_SLOT, timestamp: f.floor, id: floorId(f.floor, f.proof), record: f.proof })
  const byName = new Map<string, Slot[]>()
  for (const s of slots) byName.set(s.name, [...byName.get(s.name) ?? [], s])
  const names = [...byName.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const h = createHash('sha256')
  for (const name of names) {
    const n = Buffer.from(name, 'utf8')
    h.update(u16(n.length)).update(n)
    for (const s of byName.get(name)!) {
      h.update(Uint8Array.of(s.tag)).update(u64(s.timestamp))
      if (s.tag !== FLOOR_SLOT) h.update(s.record.signature)
    }
  }
  return { digest: new Uint8Array(h.digest()), count: names.length, slots }
}

export function encodeEntry (e: SummaryEntry): Uint8Array {
  const n = Buffer.from(e.name, 'utf8')
  return concat([Uint8Array.of(n.length), n, Uint8Array.of(e.tag), u64(e.timestamp), e.id])
}

/** A summary entry, or a WireError('peer') naming what is wrong with it. */
export function decodeEntry (b: Uint8Array): SummaryEntry {
  if (b.length < 1) throw new WireError('peer', 'empty summary entry')
  const len = b[0]
  if (len === 0) throw new WireError('peer', 'summary entry with an empty name')
  if (b.length !== 1 + len + 1 + 8 + 32) throw new WireError('peer', `summary entry is ${b.length} bytes, its name length says ${1 + len + 41}`)
  const nameBytes = Buffer.from(b.subarray(1, 1 + len))
  const name = nameBytes.toString('utf8')
  if (!Buffer.from(name, 'utf8').equals(nameBytes)) throw new WireError('peer', 'summary entry name is not valid UTF-8')
  const tag = b[1 + len]
  if (tag !== CURRENT_SLOT && tag !== HELD_SLOT && tag !== FLOOR_SLOT) throw new WireError('peer', `summary entry with slot tag ${tag}`)
  const timestamp = Buffer.from(b.subarray(2 + len, 10 + len)).readBigUInt64BE()
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError('peer', 'summary entry timestamp out of range')
  return { name, tag, timestamp: Number(timestamp), id: new Uint8Array(b.subarray(10 + len)) }
}

export const idKey = (id: Uint8Array): string => Buffer.from(id).toString('hex')

/**
 * The versions and floors in `mine` that `theirs` lacks. Nothing at or below their floor
 * of the name is lacking (they would ignore it), a floor included. Otherwise a version is
 * lacking when they do not hold it, except when older than a version of theirs in the
 * present (which is, or is about to be, their current one). A version of theirs from the
 * future does not count: it is held back, and a newer current version must still reach
 * them. `present` is the newest timestamp not held back (local clock + max_clock_skew).
 *
 * Only timestamps and ids are compared: two versions of a name with the same timestamp
 * and different ids (which compareVersions orders by signature, not in a summary) are
 * both "lacking" on either side, so each side gets the other's and the rule decides.
 */
export function lacking<T extends VersionKey> (mine: T[], theirs: VersionKey[], present: number): T[] {
  const byName = new Map<string, VersionKey[]>()
  const floors = new Map<string, number>()
  for (const t of theirs) {
    if (t.tag === FLOOR_SLOT) floors.set(t.name, Math.max(t.timestamp, floors.get(t.name) ?? -1))
    else byName.set(t.name, [...byName.get(t.name) ?? [], t])
  }
  return mine.filter(r => {
    if ((floors.get(r.name) ?? -1) >= r.timestamp) return false
    if (r.tag === FLOOR_SLOT) return true
    return !(byName.get(r.name) ?? []).some(t => Buffer.from(t.id).equals(r.id) || (t.timestamp > r.timestamp && t.timestamp <= present))
  })
}

/** lacking() over records (the summary of each side made on the spot). */
export function missingFrom (mine: SignedRecord[], theirs: SignedRecord[], present: number): SignedRecord[] {
  const key = (r: SignedRecord): VersionKey & { record: SignedRecord } => ({ name: r.name, timestamp: r.timestamp, id: recordId(r), record: r })
  return lacking(mine.map(key), theirs.map(key), present).map(k => k.record)
}
