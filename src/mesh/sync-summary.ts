// The index as /data-mesher/sync/3.0.0 sees it: a digest to tell "equal" at a glance, and
// a summary (one entry per slot: name, slot tag, timestamp, record id) so that two nodes
// that differ exchange only the records that differ, not their whole index.
//
// entry = u8(len(name)) name u8(tag) u64be(timestamp) record_id(32)
//   tag 1: the current version of the name, tag 2: a record from the future held back.
//   record_id = sha256 of the encoded record (recordId(), as fetch and announce name versions).
import { createHash } from 'node:crypto'
import { recordId, type SignedRecord } from '../crypto/record.js'
import { MAX_NAME_BYTES } from '../crypto/names.js'
import type { ReplicaPort } from './replica-port.js'
import { WireError, concat, u16, u64 } from './wire.js'

export const CURRENT_SLOT = 1
export const HELD_SLOT = 2
/** the largest summary entry: a 255-byte name */
export const MAX_SUMMARY_ENTRY = 1 + MAX_NAME_BYTES + 1 + 8 + 32

/** What two sides compare: a version of a name, without its record. */
export interface VersionKey { name: string, timestamp: number, id: Uint8Array }
export interface SummaryEntry extends VersionKey { tag: number }
/** one of my slots: its summary entry and the record behind it */
export interface Slot extends SummaryEntry { record: SignedRecord }

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
 * signature(64). Two nodes are equal only when both slots agree: a held record never
 * hides a current one that differs (issue 11 F1).
 */
export function snapshot (replica: Pick<ReplicaPort, 'list' | 'listHeld'>): IndexSnapshot {
  const slots: Slot[] = []
  for (const [tag, records] of [[CURRENT_SLOT, replica.list()], [HELD_SLOT, replica.listHeld()]] as const) {
    for (const r of records) slots.push({ name: r.name, tag, timestamp: r.timestamp, id: recordId(r), record: r })
  }
  const byName = new Map<string, Slot[]>()
  for (const s of slots) byName.set(s.name, [...byName.get(s.name) ?? [], s])
  const names = [...byName.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const h = createHash('sha256')
  for (const name of names) {
    const n = Buffer.from(name, 'utf8')
    h.update(u16(n.length)).update(n)
    for (const s of byName.get(name)!) h.update(Uint8Array.of(s.tag)).update(u64(s.timestamp)).update(s.record.signature)
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
  if (tag !== CURRENT_SLOT && tag !== HELD_SLOT) throw new WireError('peer', `summary entry with slot tag ${tag}`)
  const timestamp = Buffer.from(b.subarray(2 + len, 10 + len)).readBigUInt64BE()
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError('peer', 'summary entry timestamp out of range')
  return { name, tag, timestamp: Number(timestamp), id: new Uint8Array(b.subarray(10 + len)) }
}

export const idKey = (id: Uint8Array): string => Buffer.from(id).toString('hex')

/**
 * The versions in `mine` that `theirs` lacks: those it does not hold, except those older
 * than a version of theirs in the present (which is, or is about to be, their current
 * one). A version of theirs from the future does not count: it is held back, and a newer
 * current version must still reach them. `present` is the newest timestamp not held back
 * (local clock + max_clock_skew).
 *
 * Only timestamps and ids are compared: two versions of a name with the same timestamp
 * and different ids (which compareVersions orders by signature, not in a summary) are
 * both "lacking" on either side, so each side gets the other's and the rule decides.
 */
export function lacking<T extends VersionKey> (mine: T[], theirs: VersionKey[], present: number): T[] {
  const byName = new Map<string, VersionKey[]>()
  for (const t of theirs) byName.set(t.name, [...byName.get(t.name) ?? [], t])
  return mine.filter(r => !(byName.get(r.name) ?? []).some(t =>
    Buffer.from(t.id).equals(r.id) || (t.timestamp > r.timestamp && t.timestamp <= present)))
}

/** lacking() over records (the summary of each side made on the spot). */
export function missingFrom (mine: SignedRecord[], theirs: SignedRecord[], present: number): SignedRecord[] {
  const key = (r: SignedRecord): VersionKey & { record: SignedRecord } => ({ name: r.name, timestamp: r.timestamp, id: recordId(r), record: r })
  return lacking(mine.map(key), theirs.map(key), present).map(k => k.record)
}
