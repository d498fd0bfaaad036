import { expect, it } from 'vitest'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { identityFromKey } from '../../src/mesh/identity.js'
import { KnownMembers } from '../../src/mesh/known-members.js'

const id = (): string => identityFromKey(generateSigningKey()).peerId.toString()

it('members: configured ones always; learnt ones at most `max`, the least recently confirmed forgotten first', () => {
  const [allowed, boot, a, b, c, stranger] = [id(), id(), id(), id(), id(), id()]
  const m = new KnownMembers(new Set([allowed]), [boot, undefined], 2)
  expect([allowed, boot, a, stranger].map(p => m.has(p))).toEqual([true, true, false, false])
  m.add(a)
  m.add(b)
  m.add(a) // confirmed again: b is now the least recently confirmed
  m.add(c)
  expect([a, b, c].map(p => m.has(p))).toEqual([true, false, true])
  m.add(allowed) // configured: takes no learnt slot
  m.add(boot)
  expect(m.learntCount).toBe(2)
  expect([allowed, boot, a, c].every(p => m.has(p))).toBe(true)
})

it('a bootstrap entry\'s peer id counts in any spelling libp2p reads (base58 or CID); garbage is ignored', () => {
  const peer = identityFromKey(generateSigningKey()).peerId
  const m = new KnownMembers(undefined, [peer.toCID().toString(), 'not-a-peer-id'], 10)
  expect(m.has(peer)).toBe(true)
  expect(m.has(peer.toString())).toBe(true)
})
