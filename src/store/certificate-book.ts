// The certificates that travel with namespace files under a network (DESIGN.md §7): one
// per record, kept beside the store in <state_dir>/certificates/<sha256(record)>.cert so
// that the start-up check and config reloads can judge stored namespace files again.
//
// A certificate that came with a record not (yet) accepted is only held in memory
// ("pending", bounded), so junk from peers costs neither disk writes nor unbounded
// memory. The replica writes the certificate a record was judged with (persist) before
// that record's commit point — the record's own atomic write (replica.ts, disk-store.ts)
// — so a crash leaves either the old version, or the new one with its certificate beside
// it, never a record whose certificate is lost (issue 18: the book used to write it after
// the record, and a crash in between dropped the record at the next start).
//
// A certificate on disk whose record never got written (a crash between the two writes,
// a disk error on the record, or a record replaced since) is an orphan: following a
// replica, the book deletes it once the grace period ends, and drops pending certificates
// whose record never came then too. It settles after every change of the replica and arms
// a timer only while something is due; a book whose certificates all belong to records
// the replica holds arms none.
import { readdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeCertificate, encodeCertificate, type Certificate } from '../crypto/certificate.js'
import { recordIdHex, type SignedRecord } from '../crypto/record.js'
import { ensureDir, TEMP_PREFIX, writeFileAtomic } from './atomic-file.js'
import { DEFAULTS } from '../config/defaults.js'

const PENDING_MAX = DEFAULTS.network.certificatePending
const GRACE = DEFAULTS.network.certificateGrace
/** setTimeout's longest delay */
const MAX_DELAY = 2 ** 31 - 1

/** What the book follows: the replica's current and held versions, and its changes. */
export interface FollowedReplica {
  get: (name: string) => SignedRecord | undefined
  getHeld: (name: string) => SignedRecord | undefined
  onChange: (fn: () => void) => () => void
}

/** The versions of `name` the replica holds (current and held back). */
type Holds = (name: string) => SignedRecord[]

/** when it came: an entry whose record is not held is dropped only after DEFAULTS.network.certificateGrace */
interface Entry { name: string, cert: Certificate, since: number }

export const recordKey = recordIdHex

export class CertificateBook {
  private readonly stored = new Map<string, Entry>()
  private readonly pending = new Map<string, Entry>()
  /** set by follow(): where to look whether a record is held */
  private following?: { holds: Holds }
  /** the settles asked for so far, one after the other */
  private running: Promise<void> = Promise.resolve()
  private timer?: NodeJS.Timeout
  /** when the armed timer fires (clock ms); undefined when none is armed */
  private timerDue?: number

  private constructor (private readonly dir: string, private readonly clock: () => number) {}

  static async open (stateDir: string, clock: () => number = Date.now): Promise<CertificateBook> {
    const book = new CertificateBook(join(stateDir, 'certificates'), clock)
    await ensureDir(book.dir)
    for (const file of await readdir(book.dir)) {
      if (file.startsWith(TEMP_PREFIX)) { await unlink(join(book.dir, file)).catch(() => {}); continue } // a write cut short
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
    const since = this.clock()
    this.pending.set(key, { name: record.name, cert, since })
    if (this.pending.size > PENDING_MAX) this.pending.delete(this.pending.keys().next().value!)
    if (this.following !== undefined) this.arm(since + GRACE + 1)
  }

  /** Forgets `cert` offered for `record` when the record was not taken (refused, ignored, identical). */
  withdraw (record: SignedRecord, cert: Certificate): void {
    const key = recordKey(record)
    if (this.pending.get(key)?.cert === cert) this.pending.delete(key)
  }

  /**
   * Writes `cert`, the certificate `record` is judged with, to disk (durably: it is
   * synced before this resolves). Called by the replica before the record's commit point
   * (replica.ts, CertificateKeeper). A certificate already stored for the record stays (it
   * was checked when it came): nothing is written again (review 11-R1), but its grace
   * period starts again, so that the cleanup of an orphan (left by a crash, now coming
   * back with its record) cannot remove it while its record is written. On a disk error
   * it throws, and a pending certificate stays pending.
   */
  async persist (record: SignedRecord, cert: Certificate): Promise<void> {
    const key = recordKey(record)
    const stored = this.stored.get(key)
    if (stored !== undefined) { stored.since = this.clock(); return }
    await writeFileAtomic(this.path(key, record.name), Buffer.from(encodeCertificate(cert)), 0o644)
    this.pending.delete(key)
    this.stored.set(key, { name: record.name, cert, since: this.clock() })
    // its record is written next; if that fails (or a newer version wins), this settle arms the cleanup
    this.settleSoon()
  }

  /** Certificate bytes by record key (what peers ask for). */
  bytesByKey (key: string): Uint8Array | undefined {
    const e = this.stored.get(key) ?? this.pending.get(key)
    return e === undefined ? undefined : encodeCertificate(e.cert)
  }

  /**
   * Keeps the book in step with the replica: settles now, after every change, and when
   * something is due (see the top of this file). The function returned stops following
   * and resolves once the settle under way (a file being removed) is done.
   */
  follow (replica: FollowedReplica): () => Promise<void> {
    if (this.following !== undefined) throw new Error('this certificate book already follows a replica')
    const following = { holds: (name: string) => [replica.get(name), replica.getHeld(name)].filter((r): r is SignedRecord => r !== undefined) }
    this.following = following
    const off = replica.onChange(() => this.settleSoon())
    this.settleSoon() // certificates on disk whose record is gone: their cleanup is armed
    return async () => {
      off()
      if (this.following === following) this.following = undefined
      this.disarm()
      await this.running
    }
  }

  /** Resolves once the settles asked for so far are done (tests; stopping). */
  async settled (): Promise<void> { await this.running }

  /** Settles after the settle under way, then arms the timer for what is due next. */
  private settleSoon (): void {
    const f = this.following
    if (f === undefined) return
    this.running = this.running.then(async () => {
      if (this.following !== f) return
      // this settle covers every certificate here now; one offered while it runs arms its own timer
      this.disarm()
      const next = await this.settle(f.holds)
      if (next !== undefined && this.following === f) this.arm(next)
    }).catch(() => {}) // never a rejected chain: the next settle must still run
  }

  /** Arms the timer for `at` (clock ms), unless one is armed for that time or earlier. */
  private arm (at: number): void {
    if (this.timerDue !== undefined && this.timerDue <= at) return
    this.disarm()
    this.timerDue = at
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerDue = undefined
      this.settleSoon()
    }, Math.min(MAX_DELAY, Math.max(0, at - this.clock())))
    this.timer.unref()
  }

  private disarm (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.timerDue = undefined
  }

  /**
   * Drops the certificates, stored or pending, whose record `holds` does not hold (the
   * replica's current or held version of its name), once they are older than the grace
   * period (a record may still be on its way in: its certificate fetched, its content being
   * fetched, its turn to be stored awaited). Returns when the book next has something to
   * do (clock ms), or undefined when nothing is due: every certificate left belongs to a
   * record the replica holds.
   */
  async settle (holds: Holds): Promise<number | undefined> {
    const held = (e: Entry, key: string): boolean => holds(e.name).some(r => recordKey(r) === key)
    const graceEnds = (e: Entry): number => e.since + GRACE + 1
    let next = Infinity
    for (const [key, e] of [...this.pending]) {
      // (none is held: the replica persists a record's certificate, which takes it out of pending, before it holds the record)
      if (this.clock() >= graceEnds(e)) this.pending.delete(key)
      else next = Math.min(next, graceEnds(e))
    }
    for (const [key, e] of [...this.stored]) {
      if (held(e, key)) continue
      if (this.clock() >= graceEnds(e)) {
        this.stored.delete(key)
        await unlink(this.path(key, e.name)).catch(() => {})
      } else next = Math.min(next, graceEnds(e))
    }
    return next === Infinity ? undefined : next
  }

  private path (key: string, name: string): string {
    return join(this.dir, `${key}.${Buffer.from(name, 'utf8').toString('base64url')}.cert`)
  }
}
