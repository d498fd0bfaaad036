// Namespace quotas (issue 19 item 4) at the replica's door: the counts follow every way a
// version enters or leaves the index (accept, hold, release, delete, restart, revocation
// by reload), concurrent writes of different names cannot overshoot a quota, and the net
// change is what counts. A real Replica on a temp dir.
import { afterEach, describe, expect, it } from 'vitest'
import { signRecord, type SignedRecord } from '../../src/crypto/record.ts'
import { base64url } from '../../src/crypto/names.ts'
import type { SigningKey } from '../../src/crypto/keys.ts'
import type { Policy } from '../../src/rule/which-version-wins.ts'
import { Replica } from '../../src/store/replica.ts'
import { keys, policy } from '../helpers/keys.ts'
import { quietLog, tempDir } from '../helpers/fs.ts'

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

const SKEW = 60_000
const P: Policy = policy({}, { namespaces: new Set(['ns', 'other']), maxClockSkew: SKEW, quotas: { namespaceMaxNames: 3, namespaceMaxBytes: 1000, keyMaxBytes: 600 } })

async function open (p = P, dir?: string): Promise<{ r: Replica, dir: string }> {
  if (dir === undefined) { const t = tempDir(); dir = t.dir; cleanups.push(t.cleanup) }
  const r = await Replica.open(dir, p, quietLog)
  cleanups.push(async () => await r.close())
  return { r, dir }
}

const nameOf = (k: SigningKey, ns = 'ns'): string => `${ns}/${base64url(k.publicKey)}`
const rec = (k: SigningKey, size: number, o: { ns?: string, ts?: number, tombstone?: boolean } = {}): { record: SignedRecord, content: Uint8Array } => {
  const content = new Uint8Array(o.tombstone === true ? 0 : size).fill(7)
  return { record: signRecord(k, { name: nameOf(k, o.ns), content, timestamp: o.ts ?? Date.now(), tombstone: o.tombstone }), content }
}
const submit = async (r: Replica, x: { record: SignedRecord, content: Uint8Array }): Promise<string> => {
  const res = await r.submit(x.record, x.content, 'test')
  return res.outcome === 'refused' ? `${res.code}: ${res.reason}` : res.outcome
}

describe('namespace quotas in the replica', () => {
  it('concurrent writes of different names in one namespace fill exactly the quota', async () => {
    const { r } = await open()
    const outcomes = await Promise.all(keys(20).map(async k => await submit(r, rec(k, 10))))
    expect(outcomes.filter(o => o === 'accepted')).toHaveLength(3)
    expect(outcomes.filter(o => o.startsWith('over-quota: ') && o.includes('limits.namespace_max_names'))).toHaveLength(17)
    expect(r.getUsage().namespace('ns')).toEqual({ names: 3, bytes: 30 })
  })

  it('concurrent writes of one key in two namespaces cannot both take its bytes', async () => {
    const { r } = await open()
    const [k] = keys(1)
    const outcomes = await Promise.all([submit(r, rec(k, 400)), submit(r, rec(k, 400, { ns: 'other' }))])
    expect(outcomes.filter(o => o === 'accepted')).toHaveLength(1)
    expect(outcomes.find(o => o !== 'accepted')).toMatch(/^over-quota: .*would hold 800 bytes, its quota \(limits\.key_max_bytes\) is 600/)
  })

  it('counts a held version beside the current one, releases it without a refusal, and follows deletions, restarts and revocations', async () => {
    const { r, dir } = await open()
    const [a, b, c] = keys(3)
    const t = Date.now()
    expect(await submit(r, rec(a, 300, { ts: t }))).toBe('accepted')
    // a version from the future is held: its bytes count beside the current version's
    expect(await submit(r, rec(a, 250, { ts: t + SKEW + 1500 }))).toBe('held')
    expect(r.getUsage().namespace('ns')).toEqual({ names: 1, bytes: 550 })
    expect(r.getUsage().keyBytes(base64url(a.publicKey), P.namespaces)).toBe(550)
    // a held version replaced by a larger held one counts the net change (the key's 600 bytes)
    expect(await submit(r, rec(a, 301, { ts: t + SKEW + 1600 }))).toMatch(/limits\.key_max_bytes/)
    expect(await submit(r, rec(b, 300))).toBe('accepted')
    expect(await submit(r, rec(c, 300))).toMatch(/would hold 1150 bytes, its quota \(limits\.namespace_max_bytes\) is 1000/)
    // the held version's time comes: it replaces the current one (net -300)
    await new Promise<void>(resolve => { const off = r.onChange(ch => { if (ch.record.name === nameOf(a)) { off(); resolve() } }) })
    expect(r.getUsage().namespace('ns')).toEqual({ names: 2, bytes: 550 })
    // a deletion keeps the name (its tombstone), frees its bytes
    expect(await submit(r, rec(b, 0, { tombstone: true }))).toBe('accepted')
    expect(r.getUsage().namespace('ns')).toEqual({ names: 2, bytes: 250 })
    // the counts are rebuilt from disk at start
    await r.close()
    const again = (await open(P, dir)).r
    expect(again.getUsage().namespace('ns')).toEqual({ names: 2, bytes: 250 })
    // a namespace no longer configured: its versions are revoked, and leave the counts
    await again.setPolicy({ ...P, namespaces: new Set(['other']) })
    expect(again.getUsage().namespace('ns')).toEqual({ names: 0, bytes: 0 })
  })

  it('a configured file whose name only looks like a namespace name does not count against the key it names', async () => {
    const [admin, k] = keys(2)
    const lookalike = `cfg/${base64url(k.publicKey)}` // "cfg" is not a namespace: a file of the config
    const { r } = await open({ ...P, files: new Map([[lookalike, new Set([Buffer.from(admin.publicKey).toString('base64')])]]) })
    const content = new Uint8Array(500).fill(1)
    expect((await r.submit(signRecord(admin, { name: lookalike, content }), content, 'test')).outcome).toBe('accepted')
    expect(await submit(r, rec(k, 500))).toBe('accepted') // 500 of the key's 600 bytes, not 1000
  })

  it('a replacement at quota counts the net change, and a policy without quotas bounds nothing', async () => {
    const { r } = await open()
    const ks = keys(3)
    for (const k of ks) expect(await submit(r, rec(k, 300))).toBe('accepted')
    // at 3 of 3 names and 900 of 1000 bytes: the owners replace theirs
    expect(await submit(r, rec(ks[0], 400))).toBe('accepted')
    expect(await submit(r, rec(ks[1], 401))).toMatch(/limits\.namespace_max_bytes/)
    expect(await submit(r, rec(ks[1], 10))).toBe('accepted')
    const { r: free } = await open({ ...P, quotas: undefined })
    for (const k of keys(10)) expect(await submit(free, rec(k, 900))).toBe('accepted')
  })
})
