// What the replica's index holds of each namespace and each key (issue 19 item 4): the
// counts the quotas are judged on (src/rule/namespace-quota.ts). Kept up to date by the
// index itself: the replica's two slots (current, held) are TalliedSlots, so every set
// and delete — accept, hold, release, expiry, revocation, start-up — is counted, and no
// path can forget to. A version counts its record size as content while it is in a slot
// (an expired one too, until replaced: the count does not depend on when the expiry
// timer ran), a tombstone none; a name counts once, whichever slots it fills.
import { parseNamespaceName } from '../crypto/names.js'
import type { SignedRecord } from '../crypto/record.js'
import { contentBytes, type QuotaUsage } from '../rule/namespace-quota.js'

interface Tally { names: number, bytes: number }

export class NamespaceUsage implements QuotaUsage {
  private readonly byNamespace = new Map<string, Tally>()
  /** base64url key → namespace → bytes */
  private readonly byKey = new Map<string, Map<string, number>>()
  /** namespace file name → how many slots (current, held) it fills */
  private readonly filled = new Map<string, number>()

  namespace (namespace: string): { names: number, bytes: number } {
    const t = this.byNamespace.get(namespace)
    return { names: t?.names ?? 0, bytes: t?.bytes ?? 0 }
  }

  keyBytes (key: string, namespaces: ReadonlySet<string>): number {
    let sum = 0
    for (const [ns, bytes] of this.byKey.get(key) ?? []) if (namespaces.has(ns)) sum += bytes
    return sum
  }

  /** One slot of `name` went from `before` to `after` (either may be absent). Names outside namespaces are not counted. */
  change (name: string, before: SignedRecord | undefined, after: SignedRecord | undefined): void {
    if (before === after) return
    const ns = parseNamespaceName(name)
    if (ns === undefined) return
    const key = name.slice(name.lastIndexOf('/') + 1)
    const t = this.byNamespace.get(ns.namespace) ?? { names: 0, bytes: 0 }
    const was = this.filled.get(name) ?? 0
    const now = was - (before === undefined ? 0 : 1) + (after === undefined ? 0 : 1)
    if (now === 0) this.filled.delete(name)
    else this.filled.set(name, now)
    if (was === 0 && now > 0) t.names++
    if (was > 0 && now === 0) t.names--
    const growth = contentBytes(after) - contentBytes(before)
    t.bytes += growth
    const ofKey = this.byKey.get(key) ?? new Map<string, number>()
    const k = (ofKey.get(ns.namespace) ?? 0) + growth
    if (k === 0) ofKey.delete(ns.namespace)
    else ofKey.set(ns.namespace, k)
    if (ofKey.size === 0) this.byKey.delete(key)
    else this.byKey.set(key, ofKey)
    if (t.names === 0 && t.bytes === 0) this.byNamespace.delete(ns.namespace)
    else this.byNamespace.set(ns.namespace, t)
  }
}

/** One slot of the replica's index (name → record) that tells `usage` of every change. */
export class TalliedSlots extends Map<string, SignedRecord> {
  constructor (private readonly usage: NamespaceUsage) { super() }

  override set (name: string, record: SignedRecord): this {
    const before = this.get(name)
    super.set(name, record)
    this.usage.change(name, before, record)
    return this
  }

  override delete (name: string): boolean {
    const before = this.get(name)
    if (!super.delete(name)) return false
    this.usage.change(name, before, undefined)
    return true
  }

  override clear (): void {
    for (const name of [...this.keys()]) this.delete(name)
  }
}
