// Quotas on namespace files (issue 19 item 4). Pure: the caller passes what its index
// holds (QuotaUsage) and the versions a candidate would replace; the verdict depends on
// nothing else. What can grow is decided by the shape of a namespace name: it is exactly
// "<ns>/<base64url(key)>", one name per namespace per key, so a key's count of names is
// bounded by the configured namespaces already; what a flood grows is the number of keys
// in a namespace (names) and the bytes — per namespace, and per key over all namespaces
// (DECISIONS.md "Namespace quotas").
import type { SignedRecord } from '../crypto/record.js'

export interface Quotas {
  /** names (one per key) a namespace may hold: limits.namespace_max_names */
  namespaceMaxNames: number
  /** bytes of content a namespace may hold: limits.namespace_max_bytes */
  namespaceMaxBytes: number
  /** bytes of content one key may hold over all namespaces: limits.key_max_bytes */
  keyMaxBytes: number
}

/** What the index holds, counted over both slots of every name (current and held back). */
export interface QuotaUsage {
  /** names with a record (a tombstone too: its record is kept) and bytes of content in `namespace` */
  namespace: (namespace: string) => { names: number, bytes: number }
  /**
   * bytes of content of the files of `key` (base64url, as in the name) in `namespaces`
   * (the configured ones: a configured file whose name merely looks like a namespace
   * name does not count against the key)
   */
  keyBytes: (key: string, namespaces: ReadonlySet<string>) => number
}

/** The bytes a version keeps on disk as content: a tombstone none. */
export function contentBytes (r: SignedRecord | undefined): number {
  return r === undefined || r.tombstone ? 0 : r.size
}

/**
 * Why storing `candidate` (a file of `namespace`, signed by the key `key` its name
 * carries) would take its namespace or key over a quota, or undefined. Counts the net
 * change: `replaced` are the versions it would replace (they leave the index), and
 * `occupied` says whether its name already holds a record (then the count of names does
 * not grow). A change that does not grow a count is never refused, even over a quota
 * (lowered by a reload): nothing already stored is lost, and an owner may always replace
 * its file by a smaller one, or delete it.
 */
export function quotaProblem (candidate: SignedRecord, namespace: string, key: string, replaced: ReadonlyArray<SignedRecord | undefined>, occupied: boolean, usage: QuotaUsage, quotas: Quotas, namespaces: ReadonlySet<string>): string | undefined {
  const held = usage.namespace(namespace)
  if (!occupied && held.names + 1 > quotas.namespaceMaxNames) {
    return `"${candidate.name}": namespace "${namespace}" holds ${held.names} names, its quota (limits.namespace_max_names) is ${quotas.namespaceMaxNames}`
  }
  const growth = contentBytes(candidate) - replaced.reduce((sum, r) => sum + contentBytes(r), 0)
  if (growth <= 0) return undefined
  if (held.bytes + growth > quotas.namespaceMaxBytes) {
    return `"${candidate.name}": namespace "${namespace}" would hold ${held.bytes + growth} bytes, its quota (limits.namespace_max_bytes) is ${quotas.namespaceMaxBytes}`
  }
  const ofKey = usage.keyBytes(key, namespaces)
  if (ofKey + growth > quotas.keyMaxBytes) {
    return `"${candidate.name}": the namespace files of key ${key} would hold ${ofKey + growth} bytes, its quota (limits.key_max_bytes) is ${quotas.keyMaxBytes}`
  }
  return undefined
}
