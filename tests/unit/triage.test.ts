// triage(): the rule entered once per candidate, against both slots of a name (current
// and held), with the work it did counted (verify once).
import { expect, it } from 'vitest'
import { signRecord, type SignedRecord } from '../../src/crypto/record.ts'
import { triage, verifyContent, work } from '../../src/rule/which-version-wins.ts'
import { keys, policy } from '../helpers/keys.ts'

const NOW = 1_700_000_000_000
const SKEW = 5 * 60_000
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const [alice, mallory] = keys(2)
const P = { ...policy({ 'etc/motd': [alice] }), maxClockSkew: SKEW }
const v = (ts: number, content = 'x', key = alice): SignedRecord => signRecord(key, { name: 'etc/motd', content: text(content), timestamp: ts })

it('a replay of the current or held version is ignored without any crypto', () => {
  const cur = v(NOW - 10)
  const held = v(NOW + 60 * 60_000)
  const before = { ...work }
  expect(triage(v(NOW - 20), cur, undefined, undefined, P, NOW)).toEqual({ action: 'ignore', why: 'not-newer' })
  expect(triage(cur, cur, undefined, undefined, P, NOW)).toEqual({ action: 'ignore', why: 'identical' })
  expect(triage(held, cur, held, undefined, P, NOW)).toEqual({ action: 'ignore', why: 'identical' })
  expect(triage(v(NOW + 30 * 60_000), cur, held, undefined, P, NOW)).toEqual({ action: 'ignore', why: 'not-newer' })
  expect(work.signatureChecks - before.signatureChecks).toBe(0)
})

it('a held record never hides a version in the present, and a newer one from the future replaces it', () => {
  const held = v(NOW + 60 * 60_000)
  expect(triage(v(NOW), undefined, held, undefined, P, NOW)).toEqual({ action: 'accept' })
  expect(triage(v(NOW + 90 * 60_000), undefined, held, undefined, P, NOW)).toMatchObject({ action: 'hold' })
  // a held record whose signer lost its key no longer counts
  const leaked = signRecord(mallory, { name: 'etc/motd', content: text('x'), timestamp: NOW + 90 * 60_000 })
  expect(triage(v(NOW + 60 * 60_000), undefined, leaked, undefined, P, NOW)).toMatchObject({ action: 'hold' })
})

it('the floor, refusals and the signature: checked once per record object, a forgery every time', () => {
  expect(triage(v(NOW - 5), undefined, undefined, NOW - 1, P, NOW)).toEqual({ action: 'ignore', why: 'below-floor' })
  const r = v(NOW)
  const before = work.signatureChecks
  expect(triage(r, undefined, undefined, undefined, P, NOW).action).toBe('accept')
  expect(triage(r, undefined, undefined, undefined, P, NOW).action).toBe('accept')
  expect(work.signatureChecks - before).toBe(1)
  const forged = { ...r, timestamp: r.timestamp + 1 }
  expect(triage(forged, undefined, undefined, undefined, P, NOW)).toMatchObject({ action: 'refuse', code: 'bad-signature' })
  expect(triage(forged, undefined, undefined, undefined, P, NOW)).toMatchObject({ action: 'refuse', code: 'bad-signature' })
  expect(work.signatureChecks - before).toBe(3)
})

it('content: hashed once per (record, content) pair; other content or another record is checked again', () => {
  const r = v(NOW, 'hello')
  const c = text('hello')
  const before = work.contentHashes
  expect('content' in verifyContent(r, c)).toBe(true)
  expect('content' in verifyContent(r, c)).toBe(true)
  expect(work.contentHashes - before).toBe(1)
  expect(verifyContent(v(NOW, 'other'), c)).toMatchObject({ problem: expect.stringMatching(/does not match/) })
  expect(triage(r, undefined, undefined, undefined, P, NOW, text('evil'))).toMatchObject({ action: 'refuse', code: 'bad-content' })
})
