// The certificates that travel with namespace files under a network (DESIGN.md §7): one
// per record, kept beside the store in <state_dir>/certificates/<sha256(record)>.cert so
// that the start-up check and config reloads can judge stored namespace files again.
// A certificate that came with a record not (yet) accepted is only held in memory
// ("pending", bounded); settle() persists those whose record the replica now holds and
// forgets the rest, so junk from peers costs neither disk writes nor unbounded memory.
import { readdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeCertificate, encodeCertificate, type Certificate } from '../crypto/certificate.js'
import { recordIdHex, type SignedRecord } from '../crypto/record.js'
import { ensureDir, writeFileAtomic } from './atomic-file.js'
import { DEFAULTS } from '../config/defaults.js'

const PENDING_MAX = DEFAULTS.network.certificatePending

/** when it came: an entry whose record is not held is dropped only after DEFAULTS.network.certificateGrace */
interface Entry { name: string, cert: Certificate, since: number }

export const recordKey = recordIdHex

export class CertificateBook {
  private readonly stored = new Map<string, Entry>()
  private readonly pending = new Map<string, Entry>()

  private constructor (private readonly dir: string, private readonly clock: () => number) {}

  static async open (stateDir: string, clock: () => number = Date.now): Promise<CertificateBook> {
    const book = new CertificateBook(join(stateDir, 'certificates'), clock)
    await ensureDir(book.dir)
    for (const file of await readdir(book.dir)) {
      const m = /^([0-9a-f]{64})\.([^/]+)\.cert$/.exec(file)
      if (m === null) continue
      try {
        const cert = decodeCertificate(new Uint8Array(await readFile(join(book.dir, file))))
        book.stored.set(m[1], { name: Buffer.from(m[2], 'base64url').toString('utf8'), cert, since: clock() })
      } catch { /* a damaged file: its record is judged without it (and refused) */ }
    }
    return book
  }

  get (record: SignedRecord): Certificate | undefined {
    const key = recordKey(record)
    return (this.stored.get(key) ?? this.pending.get(key))?.cert
  }

  has (record: SignedRecord): boolean { return this.get(record) !== undefined }

  /**
   * The certificate that came with `record`, before the record is judged: held in memory
   * only. The caller has checked it (certificateFitsRecord); a stored one is never replaced.
   */
  offer (record: SignedRecord, cert: Certificate): void {
    const key = recordKey(record)
    if (this.stored.has(key)) return
    this.pending.delete(key)
    this.pending.set(key, { name: record.name, cert, since: this.clock() })
    if (this.pending.size > PENDING_MAX) this.pending.delete(this.pending.keys().next().value!)
  }

  /** Forgets `cert` offered for `record` when the record was not taken (refused, ignored, identical). */
  withdraw (record: SignedRecord, cert: Certificate): void {
    const key = recordKey(record)
    if (this.pending.get(key)?.cert === cert) this.pending.delete(key)
  }

  /**
   * The API path, once the replica accepted or holds `record`: writes its certificate to
   * disk. A certificate already stored for the record stays (it was checked when it came):
   * nothing is written for a record that is already held with one (review 11-R1).
   */
  async persist (record: SignedRecord, cert: Certificate): Promise<void> {
    const key = recordKey(record)
    if (this.stored.has(key)) return
    this.pending.delete(key)
    await writeFileAtomic(this.path(key, record.name), Buffer.from(encodeCertificate(cert)), 0o644)
    this.stored.set(key, { name: record.name, cert, since: this.clock() })
  }

  /** Certificate bytes by record key (what peers ask for). */
  bytesByKey (key: string): Uint8Array | undefined {
    const e = this.stored.get(key) ?? this.pending.get(key)
    return e === undefined ? undefined : encodeCertificate(e.cert)
  }

  /** Keeps the book in step with the replica: settles after every change and every `interval` ms. */
  follow (replica: { get: (name: string) => SignedRecord | undefined, getHeld: (name: string) => SignedRecord | undefined, onChange: (fn: () => void) => () => void }, interval: number = DEFAULTS.network.certificateSettleInterval): () => void {
    let running = Promise.resolve()
    const holds = (name: string): SignedRecord[] => [replica.get(name), replica.getHeld(name)].filter((r): r is SignedRecord => r !== undefined)
    const settle = (): void => { running = running.then(async () => await this.settle(holds)).catch(() => {}) }
    const off = replica.onChange(settle)
    const timer = setInterval(settle, interval)
    timer.unref()
    return () => { off(); clearInterval(timer) }
  }

  /**
   * Persists pending certificates whose record `holds` (the replica's current or held
   * version of its name), and drops the others, stored or pending, once they are older
   * than the grace period (a record may still be on its way in: its content being
   * fetched, or its turn to be stored awaited).
   */
  async settle (holds: (name: string) => SignedRecord[]): Promise<void> {
    const held = (e: Entry, key: string): boolean => holds(e.name).some(r => recordKey(r) === key)
    const stale = (e: Entry): boolean => this.clock() - e.since > DEFAULTS.network.certificateGrace
    for (const [key, e] of [...this.pending]) {
      if (held(e, key)) {
        this.pending.delete(key)
        await writeFileAtomic(this.path(key, e.name), Buffer.from(encodeCertificate(e.cert)), 0o644)
        this.stored.set(key, e)
      } else if (stale(e)) this.pending.delete(key)
    }
    for (const [key, e] of [...this.stored]) {
      if (held(e, key) || !stale(e)) continue
      this.stored.delete(key)
      await unlink(this.path(key, e.name)).catch(() => {})
    }
  }

  private path (key: string, name: string): string {
    return join(this.dir, `${key}.${Buffer.from(name, 'utf8').toString('base64url')}.cert`)
  }
}
