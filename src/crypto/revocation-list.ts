// The network's revocation list (issue 19): identity keys whose certificates no node of
// the network accepts any more, whatever their window. It is an ordinary file of the
// mesh under a reserved name, signed by the network key (network.id) and bound to the
// network, so it spreads, persists and rolls forward like any file (a newer version
// replaces the older; an older one is never taken back). docs/PROTOCOLS.md §4b.
//
//   content = UTF-8 JSON: {"revoked":[{"key":"<base64 identity key>","name":"<label>","at":"<ISO time>"}, ...]}
//
// `name` and `at` are informational (what `certificate revoke` writes); only `key` counts.
import { decodeBase64Key, encodeBase64Key } from './keys.js'

/** The reserved name; a node with a network refuses to have it configured as a file. */
export const REVOCATIONS_NAME = 'network.revocations'

export interface Revocation { key: string, name?: string, at?: string }

export class RevocationListError extends Error { override name = 'RevocationListError' }

/** At most this many entries (a 64-byte key and its label each: well under the default max file size). */
export const MAX_REVOCATIONS = 10_000

export function parseRevocationList (content: Uint8Array): Revocation[] {
  let doc: unknown
  try { doc = JSON.parse(Buffer.from(content).toString('utf8')) } catch (err) {
    throw new RevocationListError(`not JSON: ${(err as Error).message}`)
  }
  const list = (doc as { revoked?: unknown } | null)?.revoked
  if (typeof doc !== 'object' || doc === null || !Array.isArray(list)) throw new RevocationListError('expected {"revoked": [...]}')
  if (list.length > MAX_REVOCATIONS) throw new RevocationListError(`${list.length} entries, more than ${MAX_REVOCATIONS}`)
  return list.map((e: unknown, i) => {
    const entry = e as Partial<Revocation> | null
    if (typeof entry !== 'object' || entry === null || typeof entry.key !== 'string') throw new RevocationListError(`revoked[${i}]: expected {"key": "<base64 identity key>"}`)
    const raw = decodeBase64Key(entry.key)
    if (raw === undefined) throw new RevocationListError(`revoked[${i}]: "${entry.key}" is not a base64 32-byte key`)
    return { key: encodeBase64Key(raw), ...(typeof entry.name === 'string' ? { name: entry.name } : {}), ...(typeof entry.at === 'string' ? { at: entry.at } : {}) }
  })
}

export function encodeRevocationList (list: readonly Revocation[]): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify({ revoked: list }, null, 1) + '\n', 'utf8'))
}

/** The revoked keys (base64), as the rule and admission look them up. */
export function revokedKeys (list: readonly Revocation[]): ReadonlySet<string> {
  return new Set(list.map(r => r.key))
}
