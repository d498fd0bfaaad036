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

export function isValidName (name: string): boolean {
  return nameProblem(name) === undefined
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
