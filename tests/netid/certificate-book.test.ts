// The certificates kept beside namespace records (src/store/certificate-book.ts).
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { DEFAULTS } from '../../src/config/defaults.ts'
import { networkPolicy } from '../../src/config/network.ts'
import { encodeCertificate, issueCertificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord, type SignedRecord } from '../../src/crypto/record.ts'
import { CertificateBook } from '../../src/store/certificate-book.ts'
import { Replica } from '../../src/store/replica.ts'
import { tempDir } from '../helpers/fs.ts'
import { DAY } from './helpers.ts'

const work = tempDir('dm-netid-book-')
afterAll(() => work.cleanup())
const net = generateSigningKey()
const key = generateSigningKey()
const cert = issueCertificate(net, { subject: key.publicKey, name: 'n', validity: DAY })
const record = (content: string): SignedRecord => signRecord(key, { name: 'ns/x', content: Buffer.from(content), network: net.publicKey })

describe('certificate book', () => {
  it('a certificate that came with a record on its way in survives a settle (another change) until the grace period ends', async () => {
    let now = 1_000_000
    const book = await CertificateBook.open(join(work.dir, 'a'), () => now)
    const r = record('one')
    book.offer(r, cert) // fetched from a peer; the record waits for its content
    await book.settle(() => []) // some other record changed meanwhile
    expect(book.has(r)).toBe(true)
    now += 11 * 60_000
    await book.settle(() => [])
    expect(book.has(r)).toBe(false)
  })

  it('persists a certificate, finds it after a restart, and forgets it once its record is replaced', async () => {
    let now = 1_000_000
    const dir = join(work.dir, 'b')
    const book = await CertificateBook.open(dir, () => now)
    const r = record('two')
    book.offer(r, cert)
    await book.settle(name => name === 'ns/x' ? [r] : []) // a settle writes nothing: the replica does, before the record
    expect(readdirSync(join(dir, 'certificates'))).toHaveLength(0)
    await book.persist(r, cert)
    expect(readdirSync(join(dir, 'certificates'))).toHaveLength(1)
    writeFileSync(join(dir, 'certificates', '.dm-tmp-cut-short'), 'half a certifi') // a write cut short by a crash
    const again = await CertificateBook.open(dir, () => now)
    expect(again.get(r)).toEqual(cert)
    expect(readdirSync(join(dir, 'certificates'))).toHaveLength(1) // the leftover is gone
    const api = record('three')
    await again.persist(api, cert) // on disk before its record is
    await again.settle(name => name === 'ns/x' ? [r] : []) // not held yet, within grace: kept
    expect(again.has(api)).toBe(true)
    now += 11 * 60_000
    await again.settle(name => name === 'ns/x' ? [api] : []) // api replaced r
    expect(again.has(api)).toBe(true)
    expect(again.has(r)).toBe(false)
    expect(readdirSync(join(dir, 'certificates'))).toHaveLength(1)
  })
})

describe('certificate book following a replica', () => {
  const { certificateGrace: GRACE } = DEFAULTS.network
  const RECHECK = 10_000 // what the book's timer used to tick at (certificateSettleInterval, gone since issue 18)
  const name = `test_ns/${base64url(key.publicKey)}`
  const nsRecord = (content: string, timestamp?: number): SignedRecord =>
    signRecord(key, { name, content: Buffer.from(content), network: net.publicKey, timestamp })
  const files = (dir: string): string[] => readdirSync(join(dir, 'certificates'))

  // time is fake (timers and Date, which the book and the replica read); disk I/O is real
  afterEach(() => { vi.useRealTimers() })
  const setup = async (dir: string): Promise<{ book: CertificateBook, replica: Replica }> => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    const book = await CertificateBook.open(dir, () => Date.now())
    const identity = { id: net.publicKey, trusted: [net.publicKey], certificate: cert, certificateBytes: encodeCertificate(cert) }
    const policy = networkPolicy({ files: new Map([['motd', new Set([Buffer.from(key.publicKey).toString('base64')])]]), namespaces: new Set(['test_ns']), maxFileSize: 1024, maxClockSkew: 60_000 }, identity, r => book.get(r))
    const replica = await Replica.open(dir, policy, pino({ level: 'silent' }), Date.now, book)
    return { book, replica }
  }
  /** moves fake time on by `ms`, a second at a time, letting each settle finish before the next step */
  const advance = async (book: CertificateBook, ms: number): Promise<void> => {
    for (let left = ms; left > 0; left -= 1000) {
      await vi.advanceTimersByTimeAsync(Math.min(1000, left))
      await book.settled()
    }
  }

  it('issue 14: at idle (nothing pending, every certificate belongs to a held record) no timer is armed; a replaced record\'s certificate goes at the end of the grace period', async () => {
    const dir = join(work.dir, 'idle')
    const { book, replica } = await setup(dir)
    expect(vi.getTimerCount()).toBe(0) // an empty replica arms nothing either
    const stop = book.follow(replica)
    expect(vi.getTimerCount()).toBe(0) // the old book ticked every 10 s from here on
    await book.settled()
    expect(vi.getTimerCount()).toBe(0)

    const one = nsRecord('one')
    const came = Date.now()
    book.offer(one, cert) // fetched from a peer before its record is judged: something is due
    expect(vi.getTimerCount()).toBe(1)
    expect(await replica.submit(one, Buffer.from('one'), 'peer:x')).toMatchObject({ outcome: 'accepted' })
    expect(files(dir)).toHaveLength(1) // written with its record
    await book.settled() // nothing due any more
    expect(files(dir)).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
    await advance(book, 3 * RECHECK)
    expect(files(dir)).toHaveLength(1)

    const two = nsRecord('two', Date.now() + 1)
    book.offer(two, cert) // the API path
    expect(await replica.submit(two, Buffer.from('two'), 'api')).toMatchObject({ outcome: 'accepted' })
    await book.settled()
    expect(files(dir)).toHaveLength(2) // one's certificate stays for the grace period (counted from when it came)...
    expect(vi.getTimerCount()).toBe(1)
    await advance(book, came + GRACE - 1000 - Date.now())
    expect(book.has(one)).toBe(true)
    await advance(book, 2000) // ...and goes when it ends
    expect(book.has(one)).toBe(false)
    expect(files(dir)).toHaveLength(1)
    expect(book.has(two)).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    await stop()
    await replica.close()
  })

  it('the certificate is on disk when its record is: a record whose certificate cannot be written is not taken, the old version stays', async () => {
    const dir = join(work.dir, 'disk-error')
    const { book, replica } = await setup(dir)
    vi.useRealTimers()
    const stop = book.follow(replica)
    const old = nsRecord('old')
    book.offer(old, cert)
    expect(await replica.submit(old, Buffer.from('old'), 'peer:x')).toMatchObject({ outcome: 'accepted' })
    expect(files(dir)).toHaveLength(1) // written before submit resolved, with no settle awaited
    const certs = join(dir, 'certificates')
    rmSync(certs, { recursive: true })
    writeFileSync(certs, '') // a file where the directory was: every write fails (ENOTDIR), root or not
    const r = nsRecord('new', Date.now() + 1)
    book.offer(r, cert)
    // before issue 18 the record was taken and its certificate written later: a crash (or
    // this disk error) then left a record the next start dropped as unauthorized
    await expect(replica.submit(r, Buffer.from('new'), 'peer:x')).rejects.toThrow(/storing/)
    expect(replica.get(name)).toBe(old)
    expect(book.has(r)).toBe(true) // still pending: the same record may come again
    rmSync(certs)
    mkdirSync(certs) // the disk is back
    expect(await replica.submit(r, Buffer.from('new'), 'peer:x')).toMatchObject({ outcome: 'accepted' })
    expect(files(dir)).toHaveLength(1)
    await stop()
    await replica.close()
  })

  it('a held record\'s certificate is written with it; one whose record never came is forgotten at the end of the grace period', async () => {
    const dir = join(work.dir, 'pending')
    const { book, replica } = await setup(dir)
    const stop = book.follow(replica)
    await book.settled()
    const future = nsRecord('future', Date.now() + 5 * 60_000)
    const released = new Promise<void>(resolve => replica.onChange(c => { if (c.record === future) resolve() }))
    book.offer(future, cert)
    expect(await replica.submit(future, Buffer.from('future'), 'peer:x')).toMatchObject({ outcome: 'held' })
    expect(files(dir)).toHaveLength(1)

    const junk = nsRecord('junk') // its record never arrives (refused, or another peer's lie)
    book.offer(junk, cert)
    await advance(book, GRACE - 1000)
    expect(book.has(junk)).toBe(true)
    await advance(book, 2000)
    expect(book.has(junk)).toBe(false)
    await released // at timestamp - max_clock_skew, during the grace period
    await book.settled()
    expect(replica.get(name)).toBe(future)
    expect(book.has(future)).toBe(true)
    expect(files(dir)).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0) // nothing due in the book, nothing held in the replica
    await stop()
    await replica.close()
  })

  it('a stored record found without its certificate at start is dropped with that reason, not as "signer no longer allowed"', async () => {
    const dir = join(work.dir, 'no-cert')
    const { book, replica } = await setup(dir)
    vi.useRealTimers()
    const r = nsRecord('lost')
    book.offer(r, cert)
    expect(await replica.submit(r, Buffer.from('lost'), 'api')).toMatchObject({ outcome: 'accepted' })
    await replica.close()
    for (const f of files(dir)) rmSync(join(dir, 'certificates', f)) // lost behind the daemon's back
    const lines: Array<Record<string, unknown>> = []
    const log = pino({ level: 'warn' }, { write: (l: string) => { lines.push(JSON.parse(l)) } })
    const again = await CertificateBook.open(dir)
    const identity = { id: net.publicKey, trusted: [net.publicKey], certificate: cert, certificateBytes: encodeCertificate(cert) }
    const policy = networkPolicy({ files: new Map(), namespaces: new Set(['test_ns']), maxFileSize: 1024, maxClockSkew: 60_000 }, identity, x => again.get(x))
    const reopened = await Replica.open(dir, policy, log, Date.now, again)
    expect(reopened.get(name)).toBeUndefined()
    const dropped = lines.filter(l => l.msg === 'dropping stored record')
    expect(dropped).toMatchObject([{ name }])
    expect(String(dropped[0].reason)).toMatch(/no valid certificate of this network beside it/)
    expect(lines.some(l => /signer no longer allowed/.test(JSON.stringify(l)))).toBe(false)
    await reopened.close()
  })
})
