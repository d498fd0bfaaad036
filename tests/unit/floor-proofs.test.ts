// Issue 19 item 3: what makes a floor sent by a peer trustworthy here (justifiedFloor), and
// a real replica taking one (learnFloor) durably — or refusing it with the reason.
import { afterEach, describe, expect, it } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeBase64Key } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { encodeRecord, signRecord } from '../../src/crypto/record.ts'
import { justifiedFloor } from '../../src/rule/which-version-wins.ts'
import { Replica } from '../../src/store/replica.ts'
import { keys, policy } from '../helpers/keys.ts'
import { quietLog, tempDir } from '../helpers/fs.ts'

const [alice, bob, mallory, net] = keys(4)
const B = encodeBase64Key(bob.publicKey)
const both = policy({ motd: [alice, bob] })
const aliceOnly = policy({ motd: [alice] })
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function open (dir: string, p = both): Promise<Replica> {
  const r = await Replica.open(dir, p, quietLog)
  cleanups.push(async () => await r.close())
  return r
}

describe('justifiedFloor (the rule)', () => {
  const now = Date.now()
  const byBob = signRecord(bob, { name: 'motd', content: text('v1'), timestamp: now - 1000 })
  const removedBob = (n: string, k: string): number | undefined => n === 'motd' && k === B ? now - 500 : undefined

  it('a record of a key removed here justifies a floor below it, capped at the removal', () => {
    expect(justifiedFloor(aliceOnly, now - 1001, byBob, now, removedBob)).toEqual({ floor: now - 1001 })
    const ahead = signRecord(bob, { name: 'motd', content: text('ahead'), timestamp: now + 60_000 })
    expect(justifiedFloor(aliceOnly, now, ahead, now, removedBob)).toEqual({ floor: now - 500 })
  })

  it('refuses, saying why: a key never allowed here, one still allowed, a floor not below its proof or in the future, a forged proof, an unknown name', () => {
    const problem = (r: ReturnType<typeof justifiedFloor>): string => 'problem' in r ? r.problem : 'taken'
    const byMallory = signRecord(mallory, { name: 'motd', content: text('x'), timestamp: now - 1000 })
    expect(problem(justifiedFloor(aliceOnly, now - 1001, byMallory, now, removedBob))).toMatch(/was never allowed to sign "motd" here/)
    expect(problem(justifiedFloor(both, now - 1001, byBob, now, removedBob))).toMatch(/may sign "motd" here: nothing to revoke/)
    expect(problem(justifiedFloor(aliceOnly, byBob.timestamp, byBob, now, removedBob))).toMatch(/is not below its proof's timestamp/)
    const far = signRecord(bob, { name: 'motd', content: text('far'), timestamp: now + 3_600_000 })
    expect(problem(justifiedFloor(aliceOnly, now + 3_000_000, far, now, removedBob))).toMatch(/is in the future/)
    const forged = { ...byBob, signature: new Uint8Array(byBob.signature).fill(1, 0, 8) }
    expect(problem(justifiedFloor(aliceOnly, now - 1001, forged, now, removedBob))).toMatch(/does not verify/)
    const other = signRecord(bob, { name: 'other', content: text('x'), timestamp: now - 1000 })
    expect(problem(justifiedFloor(aliceOnly, now - 1001, other, now, removedBob))).toMatch(/not a name this node holds/)
  })

  it('below a valid current version here (a signed newer record), any signed proof justifies the floor: it changes nothing, and the indexes agree', () => {
    const byMallory = signRecord(mallory, { name: 'motd', content: text('x'), timestamp: now - 1000 })
    const newer = signRecord(alice, { name: 'motd', content: text('v2'), timestamp: now - 100 })
    const older = signRecord(alice, { name: 'motd', content: text('v0'), timestamp: now - 5000 })
    expect(justifiedFloor(aliceOnly, now - 1001, byMallory, now, removedBob, newer)).toEqual({ floor: now - 1001 })
    expect(justifiedFloor(aliceOnly, now - 1001, byMallory, now, removedBob, older)).toMatchObject({ problem: expect.stringMatching(/never allowed/) })
    const byBobNewer = signRecord(bob, { name: 'motd', content: text('v2 by bob'), timestamp: now - 100 })
    expect(justifiedFloor(aliceOnly, now - 1001, byMallory, now, removedBob, byBobNewer)).toMatchObject({ problem: expect.stringMatching(/never allowed/) }) // a current version not valid here proves nothing
  })

  it('a namespace file: justified when the network revoked its signer, not otherwise', () => {
    const name = `ns/${base64url(bob.publicKey)}`
    const withNet = (revoked: string[]) => policy({}, { namespaces: new Set(['ns']), network: { id: net.publicKey, trusted: [net.publicKey], revoked: new Set(revoked) } })
    const rec = signRecord(bob, { name, content: text('n'), timestamp: now - 1000, network: net.publicKey })
    expect(justifiedFloor(withNet([B]), now - 1001, rec, now, () => undefined)).toEqual({ floor: now - 1001 })
    expect(justifiedFloor(withNet([]), now - 1001, rec, now, () => undefined)).toMatchObject({ problem: expect.stringMatching(/is not revoked by this node's network/) })
  })
})

describe('Replica.learnFloor', () => {
  it('takes a justified floor durably (with its proof), drops the version at or below it; after a restart with the key removed, the removal is remembered', async () => {
    const t = tempDir(); cleanups.push(t.cleanup)
    const now = Date.now()
    let r = await open(t.dir, both)
    const v0 = signRecord(alice, { name: 'motd', content: text('v0'), timestamp: now - 2000 })
    expect((await r.submit(v0, text('v0'), 'test')).outcome).toBe('accepted')
    await r.close()
    r = await open(t.dir, aliceOnly) // restarted with bob removed
    const proof = signRecord(bob, { name: 'motd', content: text('v1'), timestamp: now - 1000 })
    expect(await r.learnFloor(proof.timestamp - 1, proof, 'peer x')).toBe('taken')
    expect(r.get('motd')).toBeUndefined()
    expect(await r.learnFloor(proof.timestamp - 1, proof, 'peer x')).toBe('known')
    expect(r.listFloors()).toEqual([{ name: 'motd', floor: proof.timestamp - 1, proof: expect.objectContaining({ timestamp: proof.timestamp }) }])
    expect(r.missing()).toEqual([{ name: 'motd', floor: proof.timestamp - 1, reason: expect.stringMatching(/^revoked: signer no longer allowed/) }])
    await r.close()
    const doc = JSON.parse(readFileSync(join(t.dir, 'floors.json'), 'utf8'))
    expect(doc.proofs.motd).toEqual({ floor: proof.timestamp - 1, record: Buffer.from(encodeRecord(proof)).toString('base64') })
    r = await open(t.dir, aliceOnly)
    expect(r.getFloor('motd')).toBe(proof.timestamp - 1)
    expect(r.listFloors()).toHaveLength(1)
  })

  it('a key this node never allowed raises nothing; nothing is dropped', async () => {
    const t = tempDir(); cleanups.push(t.cleanup)
    const r = await open(t.dir, aliceOnly)
    const v0 = signRecord(alice, { name: 'motd', content: text('v0'), timestamp: Date.now() - 2000 })
    await r.submit(v0, text('v0'), 'test')
    const proof = signRecord(bob, { name: 'motd', content: text('v1'), timestamp: Date.now() + 60_000 })
    expect(await r.learnFloor(Date.now(), proof, 'peer x')).toEqual({ refused: expect.stringMatching(/never allowed/) })
    expect(r.get('motd')).toBeDefined()
    expect(r.getFloor('motd')).toBeUndefined()
  })

  it('a floors file whose proof does not fit its floor stops the start with a clear error; a v1 file (no proofs) is still read', async () => {
    const t = tempDir(); cleanups.push(t.cleanup)
    const proof = signRecord(bob, { name: 'motd', content: text('v1'), timestamp: 1000 })
    const rec = Buffer.from(encodeRecord(proof)).toString('base64')
    writeFileSync(join(t.dir, 'floors.json'), JSON.stringify({ format: 'data-mesher floors v2', floors: { motd: 1000 }, proofs: { motd: { floor: 1000, record: rec } } }))
    await expect(Replica.open(t.dir, aliceOnly, quietLog)).rejects.toThrow(/floors\.json is damaged \(the proof of "motd" does not fit its floor\)/)
    writeFileSync(join(t.dir, 'floors.json'), JSON.stringify({ format: 'data-mesher floors v1', floors: { motd: 999 } }))
    const r = await open(t.dir, aliceOnly)
    expect(r.getFloor('motd')).toBe(999)
    expect(r.listFloors()).toEqual([]) // no proof: holds here only
  })
})
