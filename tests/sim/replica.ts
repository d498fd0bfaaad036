// A node's store, in memory: name → the newest version it holds (the order of
// which-version-wins.ts: timestamp, then signature — here the serial). No signatures,
// content or disk: the CPU model charges for verifying and storing (cpu.ts). Keeps an
// order-independent digest of its index so that anti-entropy can tell "equal" at a
// glance, as the real digest (sync-summary.ts) does.
import { compareRecords, type SimRecord } from './records.js'

export class Replica {
  readonly byName = new Map<string, SimRecord>()
  /** XOR of a 32-bit mix of every held version's serial: equal indexes, equal digests */
  digest = 0

  get (name: string): SimRecord | undefined { return this.byName.get(name) }

  /** Takes `r` when it is newer than what is held; true when it did. */
  offer (r: SimRecord): boolean {
    const cur = this.byName.get(r.name)
    if (cur !== undefined && compareRecords(r, cur) <= 0) return false
    if (cur !== undefined) this.digest ^= mix(cur.serial)
    this.digest ^= mix(r.serial)
    this.byName.set(r.name, r)
    return true
  }

  /** Whether this node holds `r`'s version or a newer one of its name. */
  hasAtLeast (r: SimRecord): boolean {
    const cur = this.byName.get(r.name)
    return cur !== undefined && compareRecords(cur, r) >= 0
  }

  /** Whether a version (name, timestamp, serial) is one this node lacks: absent, or newer than what it holds. */
  lacks (name: string, timestamp: number, serial: number): boolean {
    const cur = this.byName.get(name)
    if (cur === undefined) return true
    return cur.timestamp < timestamp || (cur.timestamp === timestamp && cur.serial < serial)
  }

  get size (): number { return this.byName.size }

  records (): SimRecord[] { return [...this.byName.values()] }
}

/** A 32-bit integer hash (murmur3's finaliser). */
export function mix (x: number): number {
  let h = x >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}
