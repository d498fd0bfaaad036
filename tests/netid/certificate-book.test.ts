// The certificates kept beside namespace records (src/store/certificate-book.ts).
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { issueCertificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey } from '../../src/crypto/keys.ts'
import { signRecord, type SignedRecord } from '../../src/crypto/record.ts'
import { CertificateBook } from '../../src/store/certificate-book.ts'
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

  it('persists the certificate of a held record, finds it after a restart, and forgets it once the record is replaced', async () => {
    let now = 1_000_000
    const dir = join(work.dir, 'b')
    const book = await CertificateBook.open(dir, () => now)
    const r = record('two')
    book.offer(r, cert)
    await book.settle(name => name === 'ns/x' ? [r] : [])
    expect(readdirSync(join(dir, 'certificates'))).toHaveLength(1)
    const again = await CertificateBook.open(dir, () => now)
    expect(again.get(r)).toEqual(cert)
    const api = record('three')
    await again.persist(api, cert) // the API path: on disk before the record is submitted
    await again.settle(name => name === 'ns/x' ? [r] : []) // not held yet, within grace: kept
    expect(again.has(api)).toBe(true)
    now += 11 * 60_000
    await again.settle(name => name === 'ns/x' ? [api] : []) // api replaced r
    expect(again.has(api)).toBe(true)
    expect(again.has(r)).toBe(false)
    expect(readdirSync(join(dir, 'certificates'))).toHaveLength(1)
    expect(existsSync(join(dir, 'certificates'))).toBe(true)
  })
})
