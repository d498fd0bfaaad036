// File names (DESIGN.md §3): 1–255 bytes of [A-Za-z0-9._:-] segments joined by "/",
// no empty, "." or ".." segment. A name maps directly to a path under files/, so this
// check is what keeps a signed record from escaping the delivery directory.

const SEGMENT = /^[A-Za-z0-9._:-]+$/
export const MAX_NAME_BYTES = 255

/** Returns a reason the name is invalid, or undefined when it is fine. */
export function nameProblem (name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8')
  if (bytes === 0) return 'name is empty'
  if (bytes > MAX_NAME_BYTES) return `name is ${bytes} bytes, the limit is ${MAX_NAME_BYTES}`
  if (name.startsWith('/') || name.endsWith('/')) return 'name must not start or end with "/"'
  for (const segment of name.split('/')) {
    if (segment === '') return 'name has an empty segment ("//")'
    if (segment === '.' || segment === '..') return `name has a "${segment}" segment`
    if (!SEGMENT.test(segment)) return `name segment "${printable(segment)}" has characters outside [A-Za-z0-9._:-]`
  }
  return undefined
}

// The store keeps a name's record at records/<name>.rec (and held/<name>.rec) and its
// content at files/<name>, and writes through temp files named .dm-tmp-* beside them
// (src/store/). A valid name that this layout cannot hold is refused when the config is
// loaded (DESIGN.md §3: every configured name must be storable, recoverable, deliverable).
/** Prefix of the store's temp files; a name segment must not start with it (recovery deletes them). */
export const STORE_TEMP_PREFIX = '.dm-tmp-'
/** Suffix of a record file in records/ and held/. */
export const RECORD_SUFFIX = '.rec'
/** Longest file name (one path component) the file systems the store runs on allow. */
const MAX_COMPONENT_BYTES = 255
/** Longest last segment: records/<...>/<last>.rec must fit in one component. */
export const MAX_LAST_SEGMENT_BYTES = MAX_COMPONENT_BYTES - RECORD_SUFFIX.length

/**
 * Returns why a valid name cannot be held by the store on its own, or undefined. Whether
 * two names collide is checked over the whole configuration (config.ts).
 */
export function storableNameProblem (name: string): string | undefined {
  const segments = name.split('/')
  for (const segment of segments) {
    if (segment.startsWith(STORE_TEMP_PREFIX)) return `name segment "${segment}" starts with "${STORE_TEMP_PREFIX}", which the store reserves for its temp files`
  }
  const last = Buffer.byteLength(segments[segments.length - 1], 'utf8')
  if (last > MAX_LAST_SEGMENT_BYTES) return `the last name segment is ${last} bytes, the limit is ${MAX_LAST_SEGMENT_BYTES} (the store adds "${RECORD_SUFFIX}" to it)`
  return undefined
}

function printable (s: string): string {
  return s.replace(/[^\x20-\x7e]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** base64url without padding, as used in namespace names. */
export function base64url (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}

/**
 * A namespace name is "<ns>/<base64url(pubkey)>". Returns the namespace and the key it
 * names, or undefined when the name does not have that shape.
 */
export function parseNamespaceName (name: string): { namespace: string, key: Uint8Array } | undefined {
  const slash = name.lastIndexOf('/')
  if (slash <= 0) return undefined
  const tail = name.slice(slash + 1)
  if (!/^[A-Za-z0-9_-]{43}$/.test(tail)) return undefined
  const key = Buffer.from(tail, 'base64url')
  if (key.length !== 32 || base64url(key) !== tail) return undefined
  return { namespace: name.slice(0, slash), key: new Uint8Array(key) }
}
