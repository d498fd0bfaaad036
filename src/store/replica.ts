// The node's replica of every file: the in-memory index over the DiskStore, the one
// door through which a version enters (submit), and the timers that end expired
// versions and release held-back future ones. It does not know which transport a record
// came by: the API and the mesh both call submit().
import type { Logger } from 'pino'
import { DEFAULTS } from '../config/defaults.js'
import type { Certificate } from '../crypto/certificate.js'
import { sameRecord, type SignedRecord } from '../crypto/record.js'
import {
  compareVersions, configuredNamespace, contentProblem, isDeliverable, isExpired, judge, justifiedFloor, needsContent, revocationFloor, stillAuthorized, triage, verifyContent,
  type IgnoreReason, type Policy, type QuotaUsage, type RefusalCode
} from '../rule/which-version-wins.js'
import { ContentMismatchError, ContentReader, VerifiedFiles } from './content-reader.js'
import { DiskStore } from './disk-store.js'
import { RetryBackoff } from './retry-backoff.js'
import { Floors, type ProvenFloor } from './floors.js'
import { NamespaceUsage, TalliedSlots } from './namespace-usage.js'
import { SignerHistory } from './signer-history.js'
import { unauthorizedReason } from './stored-version-reason.js'

export type ChangeKind = 'updated' | 'deleted' | 'expired' | 'revoked'
export interface Change {
  kind: ChangeKind
  record: SignedRecord
  origin: string
  /** the delivered content, on 'updated' (the mesh inlines small files in its announcements) */
  content?: Uint8Array
}

export type SubmitResult =
  | { outcome: 'accepted', record: SignedRecord }
  | { outcome: 'held', until: number }
  | { outcome: 'ignored', why: IgnoreReason }
  | { outcome: 'refused', code: RefusalCode, reason: string }

/** What became of a floor a peer sent (learnFloor). */
export type FloorResult = 'taken' | 'known' | { refused: string }

/** Content given with the record (API), or fetched on demand once the record passed the rule (mesh). */
export type ContentSource = Uint8Array | ((record: SignedRecord) => Promise<Uint8Array>)

/**
 * Where the certificates of namespace records are kept (certificate-book.ts). The replica
 * writes the certificate a record was judged with durably before the record's commit
 * point, so that record and certificate share that commit point: after a crash the
 * record is either absent (the certificate, an orphan, goes after a grace period) or
 * present with its certificate (issue 18).
 */
export interface CertificateKeeper {
  /** the certificate `record` is judged with (the policy's certificateOf), if any */
  get: (record: SignedRecord) => Certificate | undefined
  /** writes it durably (a no-op when it is on disk already); throws on a disk error */
  persist: (record: SignedRecord, cert: Certificate) => Promise<void>
}

/** A disk error while writing: nothing stored was changed. */
export class StoreIOError extends Error {
  override name = 'StoreIOError'
  constructor (readonly code: string, message: string) { super(message) }
}

const MAX_TIMER = 2 ** 31 - 1
const EMPTY = new Uint8Array(0)

export class Replica {
  /** what the index holds per namespace and key, for the quotas (counted by the slots themselves) */
  private readonly usage = new NamespaceUsage()
  private readonly current: Map<string, SignedRecord> = new TalliedSlots(this.usage)
  private readonly held: Map<string, SignedRecord> = new TalliedSlots(this.usage)
  private readonly delivered = new Set<string>()
  private readonly locks = new Map<string, Promise<unknown>>()
  /** per namespace and per key, for namespace files (withQuotaLocks) */
  private readonly quotaLocks = new Map<string, Promise<unknown>>()
  /**
   * Closed while a config reload applies: every write that starts meanwhile (any name)
   * waits for it, so the reload sees no version half-written (see setPolicy).
   */
  private reloadGate: Promise<void> = Promise.resolve()
  /** config reloads, one at a time */
  private reloads: Promise<unknown> = Promise.resolve()
  private readonly listeners = new Set<(c: Change) => void>()
  /** stored files whose content was hashed and found right (openContent skips re-hashing them) */
  private readonly verified = new VerifiedFiles()
  private expiryTimer?: NodeJS.Timeout
  private holdTimer?: NodeJS.Timeout
  /** a failed timer action (expiry, held release) is retried with backoff (DEFAULTS.store) */
  private readonly expiryRetry = new RetryBackoff(DEFAULTS.store.retryFirst, DEFAULTS.store.retryMax)
  private readonly holdRetry = new RetryBackoff(DEFAULTS.store.retryFirst, DEFAULTS.store.retryMax)
  private closed = false

  private constructor (
    readonly disk: DiskStore,
    private readonly floors: Floors,
    private readonly signers: SignerHistory,
    private policy: Policy,
    private readonly log: Logger,
    readonly clock: () => number,
    private readonly certificates?: CertificateKeeper
  ) {}

  /** `certificates`: with a network, where the certificates of namespace records go (the same book the policy's certificateOf reads). */
  static async open (stateDir: string, policy: Policy, log: Logger, clock: () => number = Date.now, certificates?: CertificateKeeper): Promise<Replica> {
    const disk = new DiskStore(stateDir)
    const floors = await Floors.load(stateDir)
    const signers = await SignerHistory.load(stateDir)
    const replica = new Replica(disk, floors, signers, policy, log, clock, certificates)
    const now = clock()
    const { current, held } = await disk.recover(policy, now, (msg, fields) => log.warn(fields ?? {}, msg), floors)
    for (const r of current) {
      replica.current.set(r.name, r)
      if (isDeliverable(r, now)) replica.delivered.add(r.name)
    }
    for (const r of held) replica.held.set(r.name, r)
    await signers.remember(policy, now) // the keys of this configuration: ones it allowed (recover made the directory)
    replica.scheduleExpiry()
    replica.scheduleHold()
    log.info({ files: current.length, held: held.length }, 'store opened')
    replica.logMissing()
    return replica
  }

  get (name: string): SignedRecord | undefined { return this.current.get(name) }
  list (): SignedRecord[] { return [...this.current.values()] }
  listHeld (): SignedRecord[] { return [...this.held.values()] }
  /** The record from the future held back for `name`, if any. */
  getHeld (name: string): SignedRecord | undefined { return this.held.get(name) }
  isDelivered (name: string): boolean { return this.delivered.has(name) }
  deliveredPath (name: string): string { return this.disk.deliveredPath(name) }
  getPolicy (): Policy { return this.policy }
  /** what the index holds per namespace and key (the quotas' counts) */
  getUsage (): QuotaUsage { return this.usage }
  /** The name's floor: no version at or below this timestamp is accepted (DESIGN.md §7). */
  getFloor (name: string): number | undefined { return this.floors.get(name) }
  /** The floors other nodes can check (with the revoked record that justifies each): what sync exchanges. */
  listFloors (): ProvenFloor[] { return this.floors.listProven() }

  /**
   * Each configured name with no valid version here, and why (status, and a log line
   * when it happens): what an operator needs after a revocation left a name empty.
   */
  missing (): Array<{ name: string, reason: string, floor: number }> {
    const out: Array<{ name: string, reason: string, floor: number }> = []
    for (const name of [...this.policy.files.keys()].sort()) {
      if (this.current.has(name)) continue
      out.push({ name, reason: this.whyMissing(name), floor: this.floors.get(name) ?? 0 })
    }
    return out
  }

  private whyMissing (name: string): string {
    const floor = this.floors.get(name)
    const at = (t: number): string => new Date(Math.min(t, 8.64e15)).toISOString()
    const proven = this.floors.proven(name)
    const held = this.held.get(name)
    const heldNote = held !== undefined ? `; a version from the future is held until ${at(held.timestamp - this.policy.maxClockSkew)}` : ''
    if (proven !== undefined && proven.floor === floor && !stillAuthorized(this.policy, proven.proof)) {
      return `revoked: signer no longer allowed (${Buffer.from(proven.proof.signer).toString('base64')}); below floor: versions signed at or before ${at(floor)} are refused, sign a new one${heldNote}`
    }
    if (floor !== undefined) return `below floor: versions signed at or before ${at(floor)} are refused (a revoked or damaged version was dropped), sign a new one${heldNote}`
    if (held !== undefined) return `held: its only version is from the future, taken at ${at(held.timestamp - this.policy.maxClockSkew)}`
    return 'no version received yet'
  }

  private logMissing (names?: Iterable<string>): void {
    const wanted = names === undefined ? undefined : new Set(names)
    for (const m of this.missing()) {
      if (wanted === undefined ? this.floors.get(m.name) !== undefined : wanted.has(m.name)) this.log.warn(m, 'configured name has no valid version')
    }
  }

  /**
   * A floor a peer sent with its proof (sync, issue 19 item 3): taken when this node's own
   * configuration justifies it, at most up to when this node saw the key removed
   * (justifiedFloor); durable before anything it rules out is removed; the current or held
   * version at or below it is then dropped, as a revocation here would have. Refused (and
   * not punished: configurations may differ for a while) otherwise.
   */
  async learnFloor (floor: number, proof: SignedRecord, origin: string): Promise<FloorResult> {
    const name = proof.name
    const check = (): { floor: number } | { problem: string } => justifiedFloor(this.policy, floor, proof, this.clock(), (n, k) => this.signers.removedAt(n, k), this.current.get(name))
    const known = (f: number): boolean => (this.floors.get(name) ?? -1) >= f && (this.floors.proven(name)?.floor ?? -1) >= f
    if (known(floor)) return 'known'
    const first = check()
    if ('problem' in first) return { refused: first.problem }
    if (known(first.floor)) return 'known'
    return await this.withLock(name, async () => {
      const again = check() // a reload may have happened meanwhile
      if ('problem' in again) return { refused: again.problem }
      floor = again.floor
      if (known(floor)) return 'known'
      try {
        await this.floors.raise([[name, floor, proof]])
      } catch (err) {
        throw ioError(err, `recording the floor of "${name}"`, 'nothing stored was changed')
      }
      this.log.info({ name, floor, origin, proofSigner: Buffer.from(proof.signer).toString('base64') }, 'floor learnt from a peer')
      const held = this.held.get(name)
      if (held !== undefined && held.timestamp <= floor) {
        this.held.delete(name)
        this.log.warn({ name, timestamp: held.timestamp, reason: 'at or below the floor of its name' }, 'held record dropped')
        await this.disk.unhold(held, false).catch(() => {})
      }
      const current = this.current.get(name)
      if (current !== undefined && current.timestamp <= floor) {
        this.current.delete(name)
        this.delivered.delete(name)
        this.log.warn({ name, timestamp: current.timestamp, floor }, 'version at or below a floor learnt from a peer: dropped')
        this.emit({ kind: 'revoked', record: current, origin })
        try { await this.disk.forget(name) } catch (err) {
          this.log.error({ err, name }, 'could not remove the files of a dropped version')
        }
        this.logMissing([name])
      }
      this.scheduleExpiry()
      this.scheduleHold()
      return 'taken'
    })
  }

  onChange (fn: (c: Change) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** The delivered content of the current version, verified against its record. */
  async readContent (name: string): Promise<{ record: SignedRecord, content: Uint8Array } | undefined> {
    const record = this.current.get(name)
    if (record === undefined || !this.delivered.has(name)) return undefined
    const content = await this.disk.readDelivered(name)
    if (content === undefined || contentProblem(record, content) !== undefined) {
      // changed behind our back (not by us): never serve it
      this.log.error({ name }, 'delivered file does not match its record')
      return undefined
    }
    return { record, content }
  }

  /**
   * Exactly `record`'s content, to be read in chunks (mesh fetch): when `record` is the
   * current version and delivered, or the record held back for its name. Undefined
   * otherwise, or when the file on disk does not match the record (never served). The
   * caller closes the reader.
   */
  async openContent (record: SignedRecord): Promise<ContentReader | undefined> {
    const isCurrent = (): boolean => {
      const c = this.current.get(record.name)
      return c !== undefined && sameRecord(c, record) && this.delivered.has(record.name)
    }
    const isHeld = (): boolean => {
      const h = this.held.get(record.name)
      return h !== undefined && !h.tombstone && sameRecord(h, record)
    }
    const current = isCurrent()
    if (!current && !isHeld()) return undefined
    const handle = current ? await this.disk.openDelivered(record.name) : await this.disk.openStaged(record)
    if (handle === undefined) return undefined
    try {
      return await ContentReader.open(handle, record, this.verified)
    } catch (err) {
      if (!(err instanceof ContentMismatchError)) throw err
      // replaced by a newer version a moment ago, or changed behind our back: never serve it
      if (current ? isCurrent() : isHeld()) this.log.error({ name: record.name, problem: err.message, held: !current }, 'stored content does not match its record: not served')
      return undefined
    }
  }

  /** Offers a version. Content is only read or fetched once the record itself passed the rule. */
  async submit (record: SignedRecord, source: ContentSource, origin: string): Promise<SubmitResult> {
    const given = source instanceof Uint8Array ? source : undefined
    const first = this.decide(record, given)
    if (first.kind === 'done') return first.result
    let content = given
    if (content === undefined && needsContent(record, first.at)) {
      // fetched: checked here; not needed (a tombstone, an expired version): nothing to check
      content = await (source as (r: SignedRecord) => Promise<Uint8Array>)(record)
      const checked = verifyContent(record, content) // the mesh's fetcher checked it already: not hashed again
      if ('problem' in checked) return { outcome: 'refused', code: 'bad-content', reason: checked.problem }
    }
    const fetched = content
    return await this.withLock(record.name, async () => await this.withQuotaLocks(record.name, async () => {
      const again = this.decide(record, fetched) // the index may have moved while content was fetched
      if (again.kind === 'done') return again.result
      if (fetched === undefined && needsContent(record, again.at)) throw new Error(`content of "${record.name}" became needed while deciding; offer it again`)
      const bytes = fetched ?? EMPTY
      if (again.kind === 'hold') return await this.hold(record, bytes)
      await this.commit(record, bytes, origin, false)
      return { outcome: 'accepted', record }
    }))
  }

  /**
   * A namespace file is decided and written under the locks of its namespace and its key
   * too (inside its name's lock, always in that order): the quotas count over many names,
   * so two names of one namespace (or one key) deciding at once would both see room for
   * one. Other names are not held up. These locks do not wait for a reload's gate (the
   * name's lock did; the reload waits for the writes under way, this one among them).
   */
  private async withQuotaLocks<T> (name: string, fn: () => Promise<T>): Promise<T> {
    const ns = configuredNamespace(this.policy, name)
    if (ns === undefined) return await fn()
    const key = name.slice(name.lastIndexOf('/') + 1)
    return await this.quotaLock(`namespace ${ns.namespace}`, async () => await this.quotaLock(`key ${key}`, fn))
  }

  private async quotaLock<T> (id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.quotaLocks.get(id) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.catch(() => {})
    this.quotaLocks.set(id, tail)
    void tail.then(() => { if (this.quotaLocks.get(id) === tail) this.quotaLocks.delete(id) })
    return await run
  }

  /**
   * The rule for `record` against both slots of its name (triage). Signature and content
   * already checked (the mesh's objects, or the first call here) are not checked again, so
   * the second call, under the lock, re-checks ordering only.
   */
  private decide (record: SignedRecord, content: Uint8Array | undefined):
  { kind: 'done', result: SubmitResult } | { kind: 'accept', at: number } | { kind: 'hold', at: number } {
    const now = this.clock()
    const name = record.name
    const v = triage(record, this.current.get(name), this.held.get(name), this.floors.get(name), this.policy, now, content, this.usage)
    switch (v.action) {
      case 'refuse': return { kind: 'done', result: { outcome: 'refused', code: v.code, reason: v.reason } }
      case 'ignore': return { kind: 'done', result: { outcome: 'ignored', why: v.why } }
      case 'accept': return { kind: 'accept', at: now }
      case 'hold': return { kind: 'hold', at: v.until }
    }
  }

  private async commit (record: SignedRecord, content: Uint8Array, origin: string, staged: boolean): Promise<void> {
    const now = this.clock()
    const deliver = isDeliverable(record, now)
    const heldNow = this.held.get(record.name)
    const cert = this.certificates?.get(record) // (read now, as the rule just did: nothing awaited since)
    try {
      if (deliver && !staged) await this.disk.stage(record, content)
      if (cert !== undefined) await this.certificates!.persist(record, cert) // before the commit point
      // on failure the disk store puts the previous record back: memory and disk still agree
      await this.disk.commit(record, deliver, this.current.get(record.name))
    } catch (err) {
      // a blob staged for this attempt only goes (a held record's own blob stays for its retry)
      if (deliver && !staged && !(heldNow !== undefined && sameRecord(heldNow, record))) await this.disk.dropStaged(record).catch(() => {})
      throw ioError(err, `storing "${record.name}"`)
    }
    this.current.set(record.name, record)
    this.expiryRetry.reset(record.name) // a new version: its expiry has not failed yet
    if (deliver) this.delivered.add(record.name)
    else this.delivered.delete(record.name)
    const held = this.held.get(record.name)
    if (held !== undefined && compareVersions(held, record) <= 0) {
      this.held.delete(record.name)
      // the released record's blob was moved to files/<name> when delivered; otherwise it goes
      await this.disk.unhold(held, held === record && deliver).catch(err => this.log.warn({ err }, 'could not remove held record'))
    }
    this.log.info({ name: record.name, timestamp: record.timestamp, size: record.size, tombstone: record.tombstone, origin }, 'accepted')
    this.emit({ kind: record.tombstone ? 'deleted' : deliver ? 'updated' : 'expired', record, origin, content: deliver ? content : undefined })
    this.scheduleExpiry()
  }

  private async hold (record: SignedRecord, content: Uint8Array): Promise<SubmitResult> {
    const until = record.timestamp - this.policy.maxClockSkew
    const cert = this.certificates?.get(record)
    try {
      if (needsContent(record, until)) await this.disk.stage(record, content)
      if (cert !== undefined) await this.certificates!.persist(record, cert) // before the held record is written
      await this.disk.hold(record)
    } catch (err) {
      throw ioError(err, `holding "${record.name}"`)
    }
    const prev = this.held.get(record.name)
    this.held.set(record.name, record)
    this.holdRetry.reset(record.name)
    if (prev !== undefined && prev !== record) {
      // its held record was just overwritten; staged blobs are per record, so this is prev's own
      await this.disk.dropStaged(prev).catch(() => {})
    }
    this.log.info({ name: record.name, timestamp: record.timestamp, until }, 'record from the future held back')
    this.scheduleHold()
    return { outcome: 'held', until }
  }

  /**
   * Config reload: versions whose signer lost its key stop being served (DESIGN.md §4),
   * and their names keep a floor (§7). Applies wholly or not at all (L3): it first lets
   * the writes already under way finish and holds back every write that starts meanwhile
   * (a version being written by a leaked key during the reload must not slip through, nor
   * a held record be released while it is dropped); then it writes the floors of all it
   * revokes in one go — if that fails, it throws a StoreIOError and the running policy and
   * every stored version are unchanged (a later call can retry) — and only then installs
   * the policy and removes what it revoked.
   */
  async setPolicy (policy: Policy): Promise<void> {
    // the gate closes now, synchronously: a write asked for after this call waits for the
    // reload; the writes already queued (snapshot taken now, so none of those waits for
    // this gate) are what the reload waits for
    let open!: () => void
    this.reloadGate = new Promise<void>(resolve => { open = resolve })
    const underWay = [...this.locks.values()]
    const run = this.reloads.then(async () => await this.applyPolicy(policy, underWay)).finally(open)
    this.reloads = run.catch(() => {})
    await run
  }

  private async applyPolicy (policy: Policy, underWay: Array<Promise<unknown>>): Promise<void> {
    await Promise.all(underWay)
    const now = this.clock()
    const revoked = [...this.current.values()].filter(r => !stillAuthorized(policy, r))
    try {
      await this.signers.remember(policy, now)
      // each floor keeps the revoked record: its proof for nodes that missed this reload
      await this.floors.raise(revoked.map(r => [r.name, revocationFloor(r, now), r] as const))
    } catch (err) {
      throw ioError(err, `recording the floors of ${revoked.length} revoked version(s)`, 'the running configuration is unchanged')
    }
    this.policy = policy
    // out of the index before anything is awaited (nor served, nor offered in a sync)
    const unheld = [...this.held.values()].filter(r => !stillAuthorized(policy, r))
    for (const record of unheld) {
      this.held.delete(record.name)
      this.log.warn({ name: record.name, timestamp: record.timestamp, reason: unauthorizedReason(policy, record) }, 'held record dropped')
    }
    for (const record of revoked) {
      this.current.delete(record.name)
      this.delivered.delete(record.name)
    }
    for (const record of revoked) await this.revoke(record, unauthorizedReason(policy, record))
    for (const record of unheld) await this.disk.unhold(record, false).catch(() => {})
    this.logMissing(revoked.map(r => r.name))
    this.scheduleExpiry()
    this.scheduleHold()
  }

  /** Announces a revoked version (already out of the index, its floor on disk) and removes its files. */
  private async revoke (record: SignedRecord, reason: string | undefined): Promise<void> {
    const name = record.name
    this.log.warn({ name, signer: Buffer.from(record.signer).toString('base64'), floor: this.floors.get(name), reason }, 'no longer authorized: version revoked')
    this.emit({ kind: 'revoked', record, origin: 'config' })
    try { await this.disk.forget(name) } catch (err) {
      // no longer served (not in the index); the record is dropped again at the next start
      this.log.error({ err, name }, 'could not remove the files of a revoked version')
    }
  }

  private scheduleExpiry (): void {
    clearTimeout(this.expiryTimer)
    if (this.closed) return
    let next = Infinity
    for (const name of this.delivered) {
      const e = this.current.get(name)?.expires ?? 0
      if (e !== 0) next = Math.min(next, this.expiryRetry.notBefore(name, e))
    }
    if (next === Infinity) return
    this.expiryTimer = setTimeout(() => { void this.expireDue() }, clampDelay(next - this.clock()))
    this.expiryTimer.unref()
  }

  private async expireDue (): Promise<void> {
    const now = this.clock()
    for (const name of [...this.delivered]) {
      const record = this.current.get(name)
      if (record === undefined || !isExpired(record, now) || this.expiryRetry.notBefore(name, 0) > now) continue
      await this.withLock(name, async () => {
        if (this.current.get(name) !== record || !this.delivered.has(name)) return
        try { await this.disk.undeliver(name) } catch (err) {
          const retryAt = this.expiryRetry.failed(name, this.clock())
          this.log.error({ err, name, retryInMs: retryAt - this.clock() }, 'could not remove expired file; retrying later')
          return
        }
        this.expiryRetry.reset(name)
        this.delivered.delete(name)
        this.log.info({ name, expires: record.expires }, 'expired')
        this.emit({ kind: 'expired', record, origin: 'timer' })
      })
    }
    this.scheduleExpiry()
  }

  private scheduleHold (): void {
    clearTimeout(this.holdTimer)
    if (this.closed) return
    let next = Infinity
    for (const r of this.held.values()) next = Math.min(next, this.holdRetry.notBefore(r.name, r.timestamp - this.policy.maxClockSkew))
    if (next === Infinity) return
    this.holdTimer = setTimeout(() => { void this.releaseDue() }, clampDelay(next - this.clock()))
    this.holdTimer.unref()
  }

  private async releaseDue (): Promise<void> {
    for (const record of [...this.held.values()]) {
      const due = record.timestamp - this.policy.maxClockSkew
      if (this.holdRetry.notBefore(record.name, due) > this.clock()) continue
      try {
        await this.withLock(record.name, async () => await this.release(record))
      } catch (err) {
        const retryAt = this.holdRetry.failed(record.name, this.clock())
        this.log.error({ err, name: record.name, retryInMs: retryAt - this.clock() }, 'could not release held record; retrying later')
      }
    }
    this.scheduleHold()
  }

  /**
   * A held record whose time has come becomes current, or is dropped with a warning that
   * says why (a newer version won meanwhile, its signer lost its key, its staged content
   * is gone or damaged). A disk error throws: the record stays held and is retried.
   */
  private async release (record: SignedRecord): Promise<void> {
    if (this.held.get(record.name) !== record) return
    const now = this.clock()
    const v = judge(record, this.current.get(record.name), this.policy, now, undefined, this.floors.get(record.name))
    if (v.action === 'hold') return // the clock went back: scheduleHold() finds it again
    let reason: string
    if (v.action === 'accept') {
      // an empty version has no staged blob; one that expired meanwhile needs no content,
      // its record becomes current all the same so nothing older comes back (DESIGN.md §4)
      const needed = needsContent(record, now)
      const content = needed ? await this.disk.readStaged(record) : EMPTY
      const problem = content === undefined ? 'its staged content is missing' : needed ? contentProblem(record, content) : undefined
      if (problem === undefined) {
        await this.commit(record, content ?? EMPTY, 'held', needed)
        this.holdRetry.reset(record.name)
        return
      }
      reason = problem
    } else {
      reason = v.action === 'refuse' ? v.reason : v.why === 'below-floor' ? 'at or below the floor of its name' : 'the current version is newer'
    }
    this.held.delete(record.name)
    this.holdRetry.reset(record.name)
    this.log.warn({ name: record.name, timestamp: record.timestamp, reason }, 'held record dropped at its release')
    await this.disk.unhold(record, false).catch(err => this.log.warn({ err, name: record.name }, 'could not remove held record'))
  }

  private emit (c: Change): void {
    for (const fn of this.listeners) {
      try { fn(c) } catch (err) { this.log.error({ err }, 'change listener failed') }
    }
  }

  private async withLock<T> (name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve()
    const run = Promise.all([prev, this.reloadGate]).then(fn, fn)
    const tail = run.catch(() => {})
    this.locks.set(name, tail)
    void tail.then(() => { if (this.locks.get(name) === tail) this.locks.delete(name) })
    return await run
  }

  /** Waits for in-flight writes and stops the timers. */
  async close (): Promise<void> {
    this.closed = true
    clearTimeout(this.expiryTimer)
    clearTimeout(this.holdTimer)
    await Promise.all([...this.locks.values()])
    await this.disk.close()
  }
}

function clampDelay (ms: number): number {
  return Math.min(Math.max(ms, 0), MAX_TIMER)
}

function ioError (err: unknown, what: string, unchanged = 'the previous version is unchanged'): StoreIOError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
  const reason = code === 'ENOSPC' ? 'the disk is full' : code === 'EROFS' ? 'the disk is read-only' : code === 'EDQUOT' ? 'the disk quota is exhausted' : (err as Error).message
  return new StoreIOError(code, `${what} failed: ${reason}; ${unchanged}`)
}
