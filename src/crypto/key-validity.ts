// Which 32-byte strings are acceptable Ed25519 public keys (DESIGN.md §7). node:crypto
// verifies against any encoding OpenSSL can decode, small-order points included: with a
// small-order key a "signature" can be forged without any private key, and every record
// by such a key can share one signature (so the tie-break could not tell them apart).
// A key must therefore decode strictly (RFC 8032: y < p, no x = 0 with the sign bit set),
// re-encode to the very same bytes, and not be one of the 8 points of small order.
// @noble/ed25519 does the point arithmetic; node:crypto cannot decode points.
import { Point } from '@noble/ed25519'

const cache = new Map<string, string | undefined>()
const CACHE_MAX = 4096

/** Returns why `raw` is not an acceptable Ed25519 public key, or undefined when it is. */
export function publicKeyProblem (raw: Uint8Array): string | undefined {
  if (raw.length !== 32) return `an Ed25519 public key is 32 bytes, got ${raw.length}`
  const id = Buffer.from(raw).toString('hex')
  if (cache.has(id)) return cache.get(id)
  const problem = check(raw)
  if (cache.size >= CACHE_MAX) cache.clear() // bounded: namespace names bring keys from anyone
  cache.set(id, problem)
  return problem
}

function check (raw: Uint8Array): string | undefined {
  let point: Point
  try { point = Point.fromBytes(raw) } catch {
    return 'is not a canonical encoding of an Ed25519 point'
  }
  if (!Buffer.from(point.toBytes()).equals(raw)) return 'is not a canonical encoding of an Ed25519 point'
  if (point.isSmallOrder()) return 'is a small-order Ed25519 point (anyone could sign for it)'
  return undefined
}
