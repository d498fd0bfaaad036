// Replica.openContent (src/store/content-reader.ts): what the mesh serves to a fetch —
// exactly the record asked for, from disk in chunks, and never bytes that do not match.
import { afterEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { openSync, writeSync, closeSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signedBytes, signRecord, type SignedRecord, type UnsignedRecord } from '../../src/crypto/record.ts'
import { ContentMismatchError, type ContentReader } from '../../src/store/content-reader.ts'
import { Replica } from '../../src/store/replica.ts'
import { keys, policy } from '../helpers/keys.ts'
import { quietLog, tempDir } from '../helpers/fs.ts'

const [alice] = keys(1)
const P = policy({ big: [alice] }, { maxFileSize: 4 * 1024 * 1024 })
const CHUNK = 64 * 1024
const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function withFile (size: number, timestamp = Date.now()): Promise<{ r: Replica, dir: string, record: SignedRecord, content: Uint8Array }> {
  const t = tempDir('dm-content-')
  cleanups.push(t.cleanup)
  const r = await Replica.open(t.dir, P, quietLog)
  cleanups.push(async () => await r.close())
  const content = new Uint8Array(randomBytes(size))
  const record = signRecord(alice, { name: 'big', content, timestamp })
  expect((await r.submit(record, content, 'test')).outcome).toBe('accepted')
  return { r, dir: t.dir, record, content }
}

async function readAll (reader: ContentReader): Promise<Buffer> {
  const parts: Uint8Array[] = []
  try { for await (const c of reader.chunks(CHUNK)) parts.push(c) } finally { await reader.close() }
  return Buffer.concat(parts)
}

describe('Replica.openContent', () => {
  it('gives exactly the record asked for, in chunks; another record of the same name and sha256 gets nothing', async () => {
    const { r, record, content } = await withFile(300 * 1024)
    const reader = await r.openContent(record)
    expect(reader?.size).toBe(content.length)
    expect((await readAll(reader!)).equals(content)).toBe(true)
    // F2 at the store: same name and hash, another size, newer — not what this node holds
    const unsigned: UnsignedRecord = { name: 'big', timestamp: record.timestamp + 1, expires: 0, tombstone: false, size: record.size + 1, sha256: record.sha256 }
    const crafted = { ...unsigned, signer: alice.publicKey, signature: alice.sign(signedBytes(unsigned)) }
    expect(await r.openContent(crafted)).toBeUndefined()
  })

  it('a held record\'s staged content is served; a version that is not stored is not', async () => {
    const { r, record } = await withFile(1000)
    const futureContent = new Uint8Array(randomBytes(100 * 1024))
    const future = signRecord(alice, { name: 'big', content: futureContent, timestamp: Date.now() + 3_600_000 })
    expect((await r.submit(future, futureContent, 'test')).outcome).toBe('held')
    const held = await r.openContent(future)
    expect((await readAll(held!)).equals(futureContent)).toBe(true)
    expect(await r.openContent(record)).not.toBeUndefined() // the current one too
    const other = signRecord(alice, { name: 'big', content: futureContent, timestamp: Date.now() + 1 })
    expect(await r.openContent(other)).toBeUndefined()
  })

  it('a delivered file changed on disk after it was verified (same size) is not served', async () => {
    const { r, dir, record } = await withFile(200 * 1024)
    await readAll((await r.openContent(record))!) // verified once, remembered
    const fd = openSync(join(dir, 'files', 'big'), 'r+')
    writeSync(fd, Buffer.from('tampered'), 0, 8, 1000)
    closeSync(fd)
    expect(await r.openContent(record)).toBeUndefined()
  })

  it('a file changed while it is read: the transfer ends before the last chunk', async () => {
    const { r, dir, record } = await withFile(10 * CHUNK)
    const reader = (await r.openContent(record))!
    let yielded = 0
    let error: unknown
    try {
      for await (const c of reader.chunks(CHUNK)) {
        if (yielded === 0) { // after the first chunk, the tail is altered in place
          const fd = openSync(join(dir, 'files', 'big'), 'r+')
          writeSync(fd, Buffer.from('tampered'), 0, 8, record.size - 8)
          closeSync(fd)
        }
        yielded += c.length
      }
    } catch (err) { error = err } finally { await reader.close() }
    expect(error).toBeInstanceOf(ContentMismatchError)
    expect(yielded).toBe(record.size - CHUNK) // everything but the held-back last chunk
  })

  it('a symlink or a truncated file in place of the delivered file is not served', async () => {
    const { r, dir, record } = await withFile(100 * 1024)
    const path = join(dir, 'files', 'big')
    const elsewhere = join(dir, 'elsewhere')
    writeFileSync(elsewhere, randomBytes(record.size))
    rmSync(path)
    symlinkSync(elsewhere, path)
    expect(await r.openContent(record)).toBeUndefined()
    rmSync(path)
    writeFileSync(path, randomBytes(record.size - 1))
    expect(await r.openContent(record)).toBeUndefined()
  })
})
