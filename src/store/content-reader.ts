// Reading stored content to serve it (mesh fetch) without holding the file in memory:
// an open file handle and one chunk at a time. Served bytes must match the record,
// whatever happens to the file behind the daemon's back (an operator editing files/,
// a torn staged blob, a disk error), so:
//  - before the first byte, the file is known to hash to the record: verified by a
//    full (chunked) read, or found unchanged (same inode, size, mtime and ctime — ctime
//    cannot be set back by a user) since such a verification;
//  - while serving, the bytes are hashed again and the last chunk is held back until the
//    digest matches: a file changed in place during a transfer ends the transfer (the
//    receiver, which checks the hash anyway, never gets a complete wrong file).
import { createHash } from 'node:crypto'
import type { BigIntStats } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import type { SignedRecord } from '../crypto/record.js'

import { DEFAULTS } from '../config/defaults.js'

/** A file hashing pass reads this much at a time. */
const VERIFY_CHUNK = DEFAULTS.store.hashChunk
/** Files remembered as verified, at most (one per stored version in practice). */
const MAX_VERIFIED = DEFAULTS.store.verifiedFiles

/** The content on disk does not match the record it is stored for. */
export class ContentMismatchError extends Error { override name = 'ContentMismatchError' }

/**
 * Files whose content was verified: inode → what it was verified against and its
 * metadata at the time. Any write to the file changes its ctime, so a match means the
 * bytes are the ones verified.
 */
export class VerifiedFiles {
  private readonly byInode = new Map<string, string>()

  key (st: BigIntStats, record: SignedRecord): { inode: string, stamp: string } {
    return {
      inode: `${st.dev}:${st.ino}`,
      stamp: `${Buffer.from(record.sha256).toString('hex')}:${record.size}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`
    }
  }

  has (st: BigIntStats, record: SignedRecord): boolean {
    const k = this.key(st, record)
    return this.byInode.get(k.inode) === k.stamp
  }

  add (st: BigIntStats, record: SignedRecord): void {
    const k = this.key(st, record)
    this.byInode.delete(k.inode)
    if (this.byInode.size >= MAX_VERIFIED) this.byInode.delete(this.byInode.keys().next().value!)
    this.byInode.set(k.inode, k.stamp)
  }
}

export class ContentReader {
  private closed = false
  private constructor (private readonly handle: FileHandle, readonly record: SignedRecord) {}

  get size (): number { return this.record.size }

  /**
   * Takes ownership of `handle`: a reader for exactly `record`'s content, or a
   * ContentMismatchError (the handle is then closed).
   */
  static async open (handle: FileHandle, record: SignedRecord, verified: VerifiedFiles): Promise<ContentReader> {
    try {
      const st = await handle.stat({ bigint: true })
      if (!st.isFile()) throw new ContentMismatchError('not a regular file')
      if (st.size !== BigInt(record.size)) throw new ContentMismatchError(`${st.size} bytes on disk for a record of ${record.size}`)
      if (!verified.has(st, record)) {
        await verifyWhole(handle, record)
        verified.add(st, record)
      }
      return new ContentReader(handle, record)
    } catch (err) {
      await handle.close().catch(() => {})
      throw err
    }
  }

  /**
   * The content in chunks of `chunk` bytes, each a fresh buffer (the caller may hand it
   * to a stream that keeps it). The last chunk comes only once the whole content hashed
   * to the record; otherwise a ContentMismatchError ends the iteration.
   */
  async * chunks (chunk: number): AsyncGenerator<Uint8Array> {
    const hash = createHash('sha256')
    let position = 0
    let pending: Uint8Array | undefined
    while (position < this.record.size) {
      const want = Math.min(chunk, this.record.size - position)
      const buf = Buffer.allocUnsafe(want)
      let got = 0
      while (got < want) {
        const { bytesRead } = await this.handle.read(buf, got, want - got, position + got)
        if (bytesRead === 0) throw new ContentMismatchError(`the file ended after ${position + got} of ${this.record.size} bytes`)
        got += bytesRead
      }
      position += want
      hash.update(buf)
      if (pending !== undefined) yield pending
      pending = buf
    }
    if (!hash.digest().equals(this.record.sha256)) throw new ContentMismatchError('the content changed while it was read: its sha256 no longer matches the record')
    if (pending !== undefined) yield pending
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.handle.close().catch(() => {})
  }
}

async function verifyWhole (handle: FileHandle, record: SignedRecord): Promise<void> {
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(Math.min(VERIFY_CHUNK, Math.max(1, record.size)))
  let position = 0
  while (position < record.size) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, record.size - position), position)
    if (bytesRead === 0) throw new ContentMismatchError(`the file ended after ${position} of ${record.size} bytes`)
    hash.update(buf.subarray(0, bytesRead))
    position += bytesRead
  }
  if (!hash.digest().equals(record.sha256)) throw new ContentMismatchError('its sha256 does not match the record')
}
