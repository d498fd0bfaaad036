import { afterEach, describe, expect, it } from 'vitest'
import { existsSync, readFileSync, statSync, writeFileSync, readdirSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { encodeRecord, signRecord } from '../../src/crypto/record.ts'
import { Replica, StoreIOError, type Change } from '../../src/store/replica.ts'
import { keys, policy } from '../helpers/keys.ts'
import { quietLog, smallTmpfs, tempDir } from '../helpers/fs.ts'

const [alice, bob] = keys(2)
const P = policy({ motd: [alice, bob], 'dns/zone': [alice] }, { maxFileSize: 1024 * 1024 })
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function open (dir?: string, p = P, clock?: () => number): Promise<{ r: Replica, dir: string }> {
  if (dir === undefined) { const t = tempDir(); dir = t.dir; cleanups.push(t.cleanup) }
  const r = await Replica.open(dir, p, quietLog, clock)
  cleanups.push(async () => await r.close())
  return { r, dir }
}

function nextChange (r: Replica, kind: Change['kind']): Promise<Change> {
  return new Promise(resolve => { const off = r.onChange(c => { if (c.kind === kind) { off(); resolve(c) } }) })
}

const put = (r: Replica, content: string, o: { ts?: number, name?: string, expires?: number, key?: typeof alice } = {}) => {
  const rec = signRecord(o.key ?? alice, { name: o.name ?? 'motd', content: text(content), timestamp: o.ts ?? Date.now(), expires: o.expires })
  return r.submit(rec, text(content), 'test')
}

describe('replica and store', () => {
  it('delivers the newest version durably at files/<name>, group-readable, and keeps it across restarts', async () => {
    const { r, dir } = await open()
    const t = Date.now()
    expect(await put(r, 'one', { ts: t })).toMatchObject({ outcome: 'accepted' })
    expect(await put(r, 'two', { ts: t + 1, name: 'dns/zone' })).toMatchObject({ outcome: 'accepted' })
    const path = join(dir, 'files', 'motd')
    expect(readFileSync(path, 'utf8')).toBe('one')
    expect(statSync(path).mode & 0o777).toBe(0o640)
    expect(readFileSync(join(dir, 'files', 'dns', 'zone'), 'utf8')).toBe('two')
    await r.close()
    const again = await open(dir)
    expect(again.r.list().map(x => x.name).sort()).toEqual(['dns/zone', 'motd'])
    expect((await again.r.readContent('motd'))?.content).toEqual(text('one'))
  })

  it('ignores a replayed older version and refuses bad input, leaving what is stored unchanged', async () => {
    const { r, dir } = await open()
    const t = Date.now()
    const old = signRecord(alice, { name: 'motd', content: text('old'), timestamp: t - 10 })
    await r.submit(old, text('old'), 'test')
    expect(await put(r, 'new', { ts: t })).toMatchObject({ outcome: 'accepted' })
    expect(await r.submit(old, text('old'), 'test')).toEqual({ outcome: 'ignored', why: 'not-newer' })
    expect(await put(r, 'same-ts-other', { ts: t - 5 })).toMatchObject({ outcome: 'ignored' })
    const good = signRecord(alice, { name: 'motd', content: text('good'), timestamp: t + 1 })
    expect(await r.submit(good, text('evil'), 'test')).toMatchObject({ outcome: 'refused', code: 'bad-content' })
    expect(await put(r, 'x', { key: bob, name: 'dns/zone' })).toMatchObject({ outcome: 'refused', code: 'not-signer' })
    expect(await put(r, 'x', { name: 'unknown' })).toMatchObject({ outcome: 'refused', code: 'not-configured' })
    expect(await put(r, 'x'.repeat(1024 * 1024 + 1), { ts: t + 2 })).toMatchObject({ outcome: 'refused', code: 'too-large' })
    expect(readFileSync(join(dir, 'files', 'motd'), 'utf8')).toBe('new')
    expect(existsSync(join(dir, 'files', 'unknown'))).toBe(false)
  })

  it('a tombstone removes the delivered file; its record stays so no older version returns, even after restart', async () => {
    const { r, dir } = await open()
    const t = Date.now()
    await put(r, 'v1', { ts: t })
    const deleted = nextChange(r, 'deleted')
    expect(await r.submit(signRecord(alice, { name: 'motd', tombstone: true, timestamp: t + 1 }), new Uint8Array(0), 'test')).toMatchObject({ outcome: 'accepted' })
    expect((await deleted).record.tombstone).toBe(true)
    expect(existsSync(join(dir, 'files', 'motd'))).toBe(false)
    await r.close()
    const again = await open(dir)
    expect(await put(again.r, 'v1', { ts: t })).toMatchObject({ outcome: 'ignored' })
    expect(existsSync(join(dir, 'files', 'motd'))).toBe(false)
  })

  it('removes an expired version on time, by its timer, and keeps the record', async () => {
    const { r, dir } = await open()
    const expired = nextChange(r, 'expired')
    const t = Date.now()
    await put(r, 'temporary grant', { ts: t, expires: t + 400 })
    expect(readFileSync(join(dir, 'files', 'motd'), 'utf8')).toBe('temporary grant')
    const c = await expired
    expect(Date.now()).toBeGreaterThanOrEqual(t + 400)
    expect(c.origin).toBe('timer')
    expect(existsSync(join(dir, 'files', 'motd'))).toBe(false)
    expect(r.get('motd')?.expires).toBe(t + 400)
    expect(await put(r, 'older', { ts: t - 1 })).toMatchObject({ outcome: 'ignored' })
  })

  it('removes a version that expired while the node was down, on start', async () => {
    const { r, dir } = await open()
    const t = Date.now()
    await put(r, 'short', { ts: t, expires: t + 150 })
    await r.close()
    while (Date.now() < t + 200) await new Promise(resolve => setTimeout(resolve, 20))
    const again = await open(dir)
    expect(existsSync(join(dir, 'files', 'motd'))).toBe(false)
    expect(again.r.get('motd')).toBeDefined()
  })

  it('holds a record from the future back and accepts it once in range, also across a restart', async () => {
    const skewed = policy({ motd: [alice] }, { maxClockSkew: 200 })
    const { r, dir } = await open(undefined, skewed)
    const t = Date.now()
    const future = signRecord(alice, { name: 'motd', content: text('from the future'), timestamp: t + 900 })
    expect(await r.submit(future, text('from the future'), 'test')).toEqual({ outcome: 'held', until: t + 700 })
    expect(existsSync(join(dir, 'files', 'motd'))).toBe(false)
    expect(r.listHeld()).toHaveLength(1)
    await r.close()
    const again = await open(dir, skewed)
    expect(again.r.listHeld()).toHaveLength(1)
    const c = await nextChange(again.r, 'updated')
    expect(Date.now()).toBeGreaterThanOrEqual(t + 700)
    expect(c.origin).toBe('held')
    expect(readFileSync(join(dir, 'files', 'motd'), 'utf8')).toBe('from the future')
    expect(again.r.listHeld()).toHaveLength(0)
  })

  it('reload: a version whose signer was removed is revoked, and an older honest update then wins', async () => {
    const { r, dir } = await open()
    const t = Date.now()
    await put(r, 'leaked key, far future', { ts: t + 60_000, key: bob })
    expect(await put(r, 'honest', { ts: t })).toMatchObject({ outcome: 'ignored' })
    const revoked = nextChange(r, 'revoked')
    await r.setPolicy(policy({ motd: [alice] }, { maxFileSize: 1024 * 1024 }))
    await revoked
    expect(existsSync(join(dir, 'files', 'motd'))).toBe(false)
    expect(await put(r, 'honest', { ts: t })).toMatchObject({ outcome: 'accepted' })
    expect(readFileSync(join(dir, 'files', 'motd'), 'utf8')).toBe('honest')
  })

  it('recovers: rolls an interrupted commit forward, drops corrupt entries, clears leftovers', async () => {
    const { r, dir } = await open()
    const t = Date.now()
    await put(r, 'old', { ts: t })
    await put(r, 'zone', { ts: t, name: 'dns/zone' })
    await r.close()
    // crash after the record was committed but before the content was renamed into place
    const next = signRecord(alice, { name: 'motd', content: text('new'), timestamp: t + 1 })
    await r.disk.stage(next, text('new'))
    writeFileSync(join(dir, 'records', 'motd.rec'), encodeRecord(next))
    // a torn delivered file for dns/zone, a temp file, and a record file full of garbage
    writeFileSync(join(dir, 'files', 'dns', 'zone'), 'zo')
    writeFileSync(join(dir, 'files', '.dm-tmp-abc'), 'half')
    mkdirSync(join(dir, 'records', 'x'), { recursive: true })
    writeFileSync(join(dir, 'records', 'x', 'y.rec'), 'garbage')
    const again = await open(dir)
    expect(readFileSync(join(dir, 'files', 'motd'), 'utf8')).toBe('new')
    expect(again.r.get('motd')?.timestamp).toBe(t + 1)
    expect(again.r.get('dns/zone')).toBeUndefined()
    expect(existsSync(join(dir, 'files', 'dns', 'zone'))).toBe(false)
    expect(readdirSync(join(dir, 'files'))).not.toContain('.dm-tmp-abc')
    expect(existsSync(join(dir, 'records', 'x', 'y.rec'))).toBe(false)
    expect(readdirSync(join(dir, 'staging'))).toEqual([])
  })

  it('a full disk refuses the update with a clear error, keeps the old version, and recovers when space returns', async () => {
    const fs = smallTmpfs(256)
    if (fs === undefined) { console.warn('skipped: mounting a tmpfs needs root'); return }
    cleanups.push(fs.cleanup)
    const { r, dir } = await open(fs.dir)
    const t = Date.now()
    await put(r, 'precious', { ts: t })
    writeFileSync(join(fs.dir, 'filler'), Buffer.alloc(150 * 1024))
    const big = 'b'.repeat(200 * 1024)
    const err = await put(r, big, { ts: t + 1 }).catch(e => e)
    expect(err).toBeInstanceOf(StoreIOError)
    expect(err.message).toMatch(/disk is full/)
    expect(readFileSync(join(dir, 'files', 'motd'), 'utf8')).toBe('precious')
    expect(r.get('motd')?.timestamp).toBe(t)
    expect(readdirSync(join(dir, 'staging'))).toEqual([])
    writeFileSync(join(fs.dir, 'filler'), '')
    expect(await put(r, big, { ts: t + 1 })).toMatchObject({ outcome: 'accepted' })
    expect(readFileSync(join(dir, 'files', 'motd'), 'utf8')).toBe(big)
  })
})
