import { describe, expect, it } from 'vitest'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord, type SignedRecord } from '../../src/crypto/record.ts'
import { compareVersions, contentProblem, isDeliverable, isExpired, judge, needsContent, revocationFloor, stillAuthorized } from '../../src/rule/which-version-wins.ts'
import { keys, policy } from '../helpers/keys.ts'

const NOW = 1_700_000_000_000
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const [alice, bob, mallory] = keys(3)
const P = policy({ 'etc/motd': [alice, bob] })

function v (o: { ts?: number, content?: string, key?: typeof alice, name?: string, expires?: number, tombstone?: boolean } = {}): SignedRecord {
  return signRecord(o.key ?? alice, { name: o.name ?? 'etc/motd', content: text(o.content ?? 'x'), timestamp: o.ts ?? NOW, expires: o.expires, tombstone: o.tombstone })
}

describe('which version wins', () => {
  it('1. refuses a name that is not configured', () => {
    expect(judge(v({ name: 'etc/passwd' }), undefined, P, NOW)).toMatchObject({ action: 'refuse', code: 'not-configured' })
  })

  it('2. refuses a signer that is not one of the name\'s keys', () => {
    expect(judge(v({ key: mallory }), undefined, P, NOW)).toMatchObject({ action: 'refuse', code: 'not-signer' })
  })

  it('3. refuses a signature over different bytes', () => {
    const r = v()
    expect(judge({ ...r, timestamp: r.timestamp + 1 }, undefined, P, NOW)).toMatchObject({ action: 'refuse', code: 'bad-signature' })
    expect(judge({ ...r, signature: new Uint8Array(64) }, undefined, P, NOW)).toMatchObject({ action: 'refuse', code: 'bad-signature' })
    // a valid signature by bob presented as alice's
    expect(judge({ ...v({ key: bob }), signer: alice.publicKey }, undefined, P, NOW)).toMatchObject({ action: 'refuse', code: 'bad-signature' })
  })

  it('3. refuses content that does not hash to the record, and oversize records', () => {
    expect(judge(v({ content: 'good' }), undefined, P, NOW, text('evil'))).toMatchObject({ action: 'refuse', code: 'bad-content' })
    expect(judge(v({ content: 'good' }), undefined, P, NOW, text('good'))).toEqual({ action: 'accept' })
    expect(judge(v({ content: 'y'.repeat(1025) }), undefined, P, NOW)).toMatchObject({ action: 'refuse', code: 'too-large' })
    expect(judge(v({ content: 'y'.repeat(1024) }), undefined, P, NOW)).toEqual({ action: 'accept' })
    expect(contentProblem(v({ content: 'ab' }), text('abc'))).toMatch(/3 bytes/)
  })

  it('4. holds a record from the future back, and accepts it once in range', () => {
    const future = v({ ts: NOW + 60 * 60_000 })
    const verdict = judge(future, undefined, P, NOW)
    expect(verdict).toEqual({ action: 'hold', until: NOW + 55 * 60_000 })
    expect(judge(future, undefined, P, NOW + 55 * 60_000 - 1).action).toBe('hold')
    expect(judge(future, undefined, P, NOW + 55 * 60_000)).toEqual({ action: 'accept' })
    // within the skew is fine
    expect(judge(v({ ts: NOW + 5 * 60_000 }), undefined, P, NOW)).toEqual({ action: 'accept' })
  })

  it('5. newer timestamp wins; older and identical are ignored', () => {
    const cur = v({ ts: NOW })
    expect(judge(v({ ts: NOW + 1 }), cur, P, NOW)).toEqual({ action: 'accept' })
    expect(judge(v({ ts: NOW - 1 }), cur, P, NOW)).toEqual({ action: 'ignore', why: 'not-newer' })
    expect(judge(cur, cur, P, NOW)).toEqual({ action: 'ignore', why: 'identical' })
    // the same version signed by the other allowed key is newer only if its timestamp is
    expect(judge(v({ ts: NOW - 1, key: bob }), cur, P, NOW).action).toBe('ignore')
  })

  it('5. equal timestamps: the larger signature wins, the same on every node', () => {
    const a = v({ ts: NOW, content: 'a' })
    const b = v({ ts: NOW, content: 'b', key: bob })
    const [lo, hi] = Buffer.compare(Buffer.from(a.signature), Buffer.from(b.signature)) < 0 ? [a, b] : [b, a]
    expect(judge(hi, lo, P, NOW)).toEqual({ action: 'accept' })
    expect(judge(lo, hi, P, NOW)).toEqual({ action: 'ignore', why: 'not-newer' })
    expect(compareVersions(hi, lo)).toBeGreaterThan(0)
    expect(compareVersions(lo, hi)).toBeLessThan(0)
  })

  it('a tombstone is a version like any other and needs no content', () => {
    const cur = v({ ts: NOW })
    const del = v({ ts: NOW + 1, tombstone: true })
    expect(del.size).toBe(0)
    expect(judge(del, cur, P, NOW, new Uint8Array(0))).toEqual({ action: 'accept' })
    expect(isDeliverable(del, NOW)).toBe(false)
    expect(needsContent(del, NOW)).toBe(false)
    // an older version cannot resurrect a deleted file
    expect(judge(cur, del, P, NOW).action).toBe('ignore')
  })

  it('expiry: an expired version is not delivered, but still blocks older versions', () => {
    const temp = v({ ts: NOW, expires: NOW + 1000 })
    expect(isDeliverable(temp, NOW + 999)).toBe(true)
    expect(isExpired(temp, NOW + 1000)).toBe(true)
    expect(isDeliverable(temp, NOW + 1000)).toBe(false)
    expect(needsContent(temp, NOW + 1000)).toBe(false)
    expect(judge(v({ ts: NOW - 1 }), temp, P, NOW + 2000).action).toBe('ignore')
    expect(judge(v({ ts: NOW + 1 }), temp, P, NOW + 2000).action).toBe('accept')
  })

  it('namespaces: ns/<base64url(key)> may be signed by that key only', () => {
    const NS = policy({}, { namespaces: new Set(['machines']) })
    const own = `machines/${base64url(alice.publicKey)}`
    expect(judge(v({ name: own }), undefined, NS, NOW)).toEqual({ action: 'accept' })
    expect(judge(v({ name: own, key: bob }), undefined, NS, NOW)).toMatchObject({ action: 'refuse', code: 'not-signer' })
    expect(judge(v({ name: `other/${base64url(alice.publicKey)}` }), undefined, NS, NOW)).toMatchObject({ code: 'not-configured' })
    expect(judge(v({ name: 'machines/short' }), undefined, NS, NOW)).toMatchObject({ code: 'not-configured' })
  })

  it('a signer removed from the config: its version stops counting and no longer blocks an older honest update', () => {
    const leaked = v({ ts: NOW + 4 * 60_000, key: mallory }) // far ahead of the honest one
    const withMallory = policy({ 'etc/motd': [alice, mallory] })
    const honest = v({ ts: NOW, key: alice })
    expect(judge(honest, leaked, withMallory, NOW).action).toBe('ignore')
    const reloaded = policy({ 'etc/motd': [alice] })
    expect(stillAuthorized(reloaded, leaked)).toBe(false)
    expect(judge(honest, leaked, reloaded, NOW)).toEqual({ action: 'accept' })
    expect(judge(leaked, honest, reloaded, NOW)).toMatchObject({ action: 'refuse', code: 'not-signer' })
  })

  it('a floor (F3): nothing at or below it is accepted, whatever the current version; above it the usual rule applies', () => {
    const leaked = v({ ts: NOW + 365 * 86_400_000, key: mallory })
    const floor = revocationFloor(leaked, NOW) // capped at the time of revocation
    expect(floor).toBe(NOW)
    // just below the revoked version: it may come back if its key is configured again (review R6)
    expect(revocationFloor(v({ ts: NOW - 5 }), NOW)).toBe(NOW - 6)
    expect(judge(v({ ts: NOW - 86_400_000 }), undefined, P, NOW + 10, undefined, floor)).toEqual({ action: 'ignore', why: 'below-floor' })
    expect(judge(v({ ts: NOW }), undefined, P, NOW + 10, undefined, floor)).toEqual({ action: 'ignore', why: 'below-floor' })
    expect(judge(v({ ts: NOW + 1 }), undefined, P, NOW + 10, undefined, floor)).toEqual({ action: 'accept' })
    // refusals still come first: a bad record below the floor is refused, not ignored
    expect(judge(v({ ts: NOW - 1, key: mallory }), undefined, P, NOW, undefined, floor)).toMatchObject({ action: 'refuse', code: 'not-signer' })
  })
})
