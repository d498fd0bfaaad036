// sync/4.0.0's summary: entries round-trip, malformed ones are named, and lacking()
// compares only what a summary carries (timestamp and record id).
import { expect, it } from 'vitest'
import { generateSigningKey } from '../../src/crypto/keys.ts'
import { recordId, signRecord, type SignedRecord } from '../../src/crypto/record.ts'
import { CURRENT_SLOT, FLOOR_SLOT, HELD_SLOT, decodeEntry, encodeEntry, lacking, type VersionKey } from '../../src/mesh/sync-summary.ts'
import { WireError } from '../../src/mesh/wire.ts'

const key = generateSigningKey()
const at = (timestamp: number, text: string): SignedRecord => signRecord(key, { name: 'a.txt', content: new TextEncoder().encode(text), timestamp })
const k = (r: SignedRecord): VersionKey => ({ name: r.name, timestamp: r.timestamp, id: recordId(r) })

it('a summary entry round-trips; a malformed one is a peer fault that says what is wrong', () => {
  const e = { name: 'dir/ünï.txt', tag: HELD_SLOT, timestamp: 1_700_000_000_123, id: new Uint8Array(32).fill(7) }
  expect(decodeEntry(encodeEntry(e))).toEqual(e)
  const good = encodeEntry({ ...e, tag: CURRENT_SLOT })
  const bad = (b: Uint8Array, message: RegExp): void => {
    let err: unknown
    try { decodeEntry(b) } catch (x) { err = x }
    expect(err).toBeInstanceOf(WireError)
    expect((err as WireError).fault).toBe('peer')
    expect((err as Error).message).toMatch(message)
  }
  bad(good.subarray(0, good.length - 1), /bytes, its name length says/)
  bad(Uint8Array.of(0, ...new Uint8Array(41)), /empty name/)
  const tag = new Uint8Array(good); tag[1 + tag[0]] = 9
  bad(tag, /slot tag 9/)
  const utf = new Uint8Array(good); utf[1] = 0xff
  bad(utf, /UTF-8/)
  const ts = new Uint8Array(good); ts.fill(0xff, 2 + ts[0], 10 + ts[0])
  bad(ts, /timestamp out of range/)
})

it('lacking: same id or a newer version in the present covers; a held one does not; a same-timestamp rival goes both ways', () => {
  const now = Date.now()
  const present = now + 60_000
  const v1 = at(now - 2000, 'v1')
  const v2 = at(now - 1000, 'v2')
  const later = at(now + 3_600_000, 'later')
  const rival = at(now - 1000, 'rival') // same timestamp as v2, another signature
  expect(lacking([k(v2)], [k(v2)], present)).toEqual([])
  expect(lacking([k(v1)], [k(v2)], present)).toEqual([])
  expect(lacking([k(v2)], [k(v1)], present)).toEqual([k(v2)])
  expect(lacking([k(v2)], [k(later)], present)).toEqual([k(v2)])
  expect(lacking([k(v2), k(later)], [k(v2)], present)).toEqual([k(later)])
  expect(lacking([k(v2)], [k(rival)], present)).toEqual([k(v2)])
  expect(lacking([k(rival)], [k(v2)], present)).toEqual([k(rival)])
})

it('lacking with floors (4.0.0): nothing at or below their floor is lacking; a floor is lacking when theirs is lower or absent', () => {
  const now = Date.now()
  const present = now + 60_000
  const v1 = at(now - 2000, 'v1')
  const v2 = at(now - 1000, 'v2')
  const floor = (t: number): VersionKey => ({ name: 'a.txt', tag: FLOOR_SLOT, timestamp: t, id: new Uint8Array(32).fill(t % 256) })
  expect(lacking([k(v1)], [floor(v1.timestamp)], present)).toEqual([]) // at their floor: they would ignore it
  expect(lacking([k(v2)], [floor(v1.timestamp)], present)).toEqual([k(v2)]) // above it: still lacking
  expect(lacking([floor(v2.timestamp)], [k(v2)], present)).toEqual([floor(v2.timestamp)]) // no floor there
  expect(lacking([floor(v2.timestamp)], [floor(v1.timestamp)], present)).toEqual([floor(v2.timestamp)]) // a lower one
  expect(lacking([floor(v1.timestamp)], [floor(v2.timestamp)], present)).toEqual([]) // a higher one covers
  expect(lacking([floor(v1.timestamp)], [{ ...floor(v1.timestamp), id: new Uint8Array(32) }], present)).toEqual([]) // same floor, another proof
  expect(decodeEntry(encodeEntry({ ...floor(v1.timestamp), tag: FLOOR_SLOT }))).toEqual(floor(v1.timestamp))
})
