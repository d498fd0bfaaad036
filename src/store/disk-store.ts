// The on-disk layout under state_dir and the order of writes that makes it crash-safe.
//
//   files/<name>        delivered content: the stable path that .path units watch
//   records/<name>.rec  the current signed record of each name (the index)
//   held/<name>.rec     a record from the future, held back until its time (DESIGN.md §4)
//   staging/<key>       content written before its record, one blob per record (key:
//                       sha256 of the encoded record): the roll-forward journal
//   floors.json         per-name floors left by revocations and corrupt records, with their proofs (floors.ts)
//   signers.json        the keys the configuration ever allowed per name, and when removed (signer-history.ts)
//
// Writing a version: (1) stage the content durably, and, for a namespace file under a
// network, write its certificate durably (certificate-book.ts; the replica does both
// before calling commit), (2) write the record atomically — the commit point, (3) rename
// the staged content to files/<name>. A crash before (2) leaves the old version (a staged
// blob and a certificate without a record are swept); a crash after it is rolled forward
// by recover(), which finds the staged content by its record and the certificate beside
// it. Nothing is ever delivered that was not verified. Four fsyncs per version: the
// staged content and staging/ before (2), the record's temp file before its rename and
// its folder after it; step (3) is not synced, recover() redoes it (docs/DECISIONS.md,
// "Four fsyncs per stored update"; tests/crash/fsyncs-per-update.test.ts).
import { open, readdir, readFile, stat, unlink, type FileHandle } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { constants as fsConstants, createReadStream } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { decodeRecord, encodeRecord, recordIdHex, type SignedRecord } from '../crypto/record.js'
import { RECORD_SUFFIX } from '../crypto/names.js'
import { authenticity, isDeliverable, needsContent, compareVersions, revocationFloor, type Policy } from '../rule/which-version-wins.js'
import { unauthorizedReason } from './stored-version-reason.js'
import type { Floors } from './floors.js'
import { DirSyncer, ensureDir, moveIntoPlace, TEMP_PREFIX, unlinkDurable, unlinkIfPresent, writeFileAtomic, writeFileVerifiable } from './atomic-file.js'

export interface Warn { (msg: string, fields?: Record<string, unknown>): void }

export class DiskStore {
  readonly filesDir: string
  readonly recordsDir: string
  readonly heldDir: string
  readonly stagingDir: string
  /** open directory handles for the fsyncs of the write path */
  private readonly dirs = new DirSyncer()
  /** directories known to exist (names may contain '/'); forgotten after any write error */
  private readonly knownDirs = new Set<string>()

  constructor (readonly stateDir: string) {
    this.filesDir = join(stateDir, 'files')
    this.recordsDir = join(stateDir, 'records')
    this.heldDir = join(stateDir, 'held')
    this.stagingDir = join(stateDir, 'staging')
  }

  async init (): Promise<void> {
    await ensureDir(this.stateDir)
    for (const d of [this.filesDir, this.recordsDir, this.heldDir, this.stagingDir]) await ensureDir(d)
  }

  deliveredPath (name: string): string { return join(this.filesDir, ...name.split('/')) }
  private recordPath (name: string): string { return join(this.recordsDir, ...name.split('/')) + RECORD_SUFFIX }
  private heldPath (name: string): string { return join(this.heldDir, ...name.split('/')) + RECORD_SUFFIX }
  stagedPath (record: SignedRecord): string { return join(this.stagingDir, stagedKey(record)) }

  /**
   * Step 1: content is durable under staging/ before any record points to it. Written in
   * place: whoever reads a staged blob (roll-forward, release of a held record, fetch)
   * checks it against the record's sha256 first, so a torn blob is never used.
   */
  async stage (record: SignedRecord, content: Uint8Array): Promise<void> {
    await this.guard(async () => await writeFileVerifiable(this.stagedPath(record), content, 0o640, this.dirs))
  }

  /**
   * Steps 2 and 3. `deliver` says whether the content goes to files/<name>. Should step 3
   * fail once the record is written, `previous` (the version the index still holds, or
   * none) is written back before the error is thrown: a failed commit leaves the stored
   * version as it was, as the index believes it is. (If even that write fails, the next
   * start sorts it out: it rolls the new record forward from its staged content, or drops
   * it with a floor.)
   */
  async commit (record: SignedRecord, deliver: boolean, previous: SignedRecord | undefined): Promise<void> {
    await this.guard(async () => {
      const recordPath = this.recordPath(record.name)
      await this.ensure(dirname(recordPath))
      await writeFileAtomic(recordPath, encodeRecord(record), 0o640, this.dirs)
      try { await this.placeDelivered(record, deliver) } catch (err) {
        const undo = previous === undefined ? unlinkDurable(recordPath) : writeFileAtomic(recordPath, encodeRecord(previous), 0o640, this.dirs)
        await undo.catch(() => {})
        throw err
      }
    })
  }

  /**
   * Step 3, after the record is durable; not synced itself. Until the move into files/ is
   * durable, the staged blob is (synced before the record), so after a power loss
   * recover() finds the record's content in one of the two places and finishes the move;
   * a record that is not deliverable has its file removed by recover() again. files/<name>
   * may thus show the previous version between a power loss and the next start, never a
   * version newer than the durable record, never a torn one.
   */
  private async placeDelivered (record: SignedRecord, deliver: boolean): Promise<void> {
    const target = this.deliveredPath(record.name)
    if (deliver) {
      await this.ensure(dirname(target))
      await moveIntoPlace(this.stagedPath(record), target)
    } else {
      await unlinkIfPresent(target)
    }
  }

  private async ensure (dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return
    await ensureDir(dir)
    this.knownDirs.add(dir)
  }

  /** Runs a write; on failure, forgets which directories exist (someone may have removed them). */
  private async guard (write: () => Promise<void>): Promise<void> {
    try { await write() } catch (err) {
      this.knownDirs.clear()
      throw err
    }
  }

  /** Releases the open directory handles. */
  async close (): Promise<void> { await this.dirs.close() }

  /** Removes the delivered file only (expiry); the record stays so no older version returns. */
  async undeliver (name: string): Promise<boolean> {
    return await unlinkDurable(this.deliveredPath(name))
  }

  /** Forgets a name entirely (its signer lost its key). */
  async forget (name: string): Promise<void> {
    await unlinkDurable(this.deliveredPath(name))
    await unlinkDurable(this.recordPath(name))
  }

  async hold (record: SignedRecord): Promise<void> {
    const p = this.heldPath(record.name)
    await this.guard(async () => {
      await this.ensure(dirname(p))
      await writeFileAtomic(p, encodeRecord(record), 0o640, this.dirs)
    })
  }

  async unhold (record: SignedRecord, keepStaged: boolean): Promise<void> {
    await unlinkDurable(this.heldPath(record.name))
    if (!keepStaged) await this.dropStaged(record)
  }

  async dropStaged (record: SignedRecord): Promise<void> {
    await unlinkDurable(this.stagedPath(record))
  }

  async readStaged (record: SignedRecord): Promise<Uint8Array | undefined> {
    return await readIfExists(this.stagedPath(record))
  }

  async readDelivered (name: string): Promise<Uint8Array | undefined> {
    return await readIfExists(this.deliveredPath(name))
  }

  /** The delivered file, opened for reading (to serve it in chunks); undefined if absent. */
  async openDelivered (name: string): Promise<FileHandle | undefined> {
    return await openIfExists(this.deliveredPath(name))
  }

  /** A held record's staged content, opened for reading; undefined if absent. */
  async openStaged (record: SignedRecord): Promise<FileHandle | undefined> {
    return await openIfExists(this.stagedPath(record))
  }

  /**
   * Re-verifies everything on start: drops corrupt, unsigned or unauthorized entries
   * (with a warning), rolls forward a commit interrupted between record and delivery,
   * removes what must not be delivered, and clears leftovers of interrupted writes.
   * Every current record dropped leaves a floor in `floors` first (DESIGN.md §7), so the
   * versions it had superseded cannot be accepted again.
   */
  async recover (policy: Policy, now: number, warn: Warn, floors: Floors): Promise<{ current: SignedRecord[], held: SignedRecord[] }> {
    await this.init()
    const current: SignedRecord[] = []
    const dropped: Array<{ name: string, floor: number, reason: string, proof?: SignedRecord }> = []
    for (const { name, record } of await this.readRecords(this.recordsDir, warn)) {
      if (record === undefined) {
        // its timestamp cannot be trusted: nothing older than this moment comes back
        dropped.push({ name, floor: now, reason: 'unreadable or bad signature' })
        continue
      }
      const unauthorized = unauthorizedReason(policy, record)
      if (unauthorized !== undefined) {
        // the revoked record travels with its floor: the proof for nodes that missed it
        dropped.push({ name, floor: revocationFloor(record, now), reason: unauthorized, proof: record })
        continue
      }
      const floor = floors.get(name)
      if (floor !== undefined && record.timestamp <= floor) {
        dropped.push({ name, floor, reason: 'at or below the floor of its name' })
        continue
      }
      if (isDeliverable(record, now)) {
        const ok = await this.hashMatches(this.deliveredPath(name), record) ||
          (await this.stagedReady(record) && await this.placeDelivered(record, true).then(() => true))
        if (!ok) {
          // the record itself is intact: that very version may be fetched again, nothing older
          dropped.push({ name, floor: revocationFloor(record, now), reason: 'content is missing or corrupt' })
          continue
        }
      } else {
        await this.undeliver(name)
      }
      current.push(record)
    }
    // the floors are durable before anything they protect is removed
    await floors.raise(dropped.map(d => [d.name, d.floor, d.proof] as const))
    for (const { name, floor, reason } of dropped) {
      warn('dropping stored record', { name, reason, floor })
      await this.forget(name)
    }
    const byName = new Map(current.map(r => [r.name, r]))
    const held: SignedRecord[] = []
    for (const { name, record } of await this.readRecords(this.heldDir, warn)) {
      const reason = await this.heldProblem(record, byName.get(name), policy, floors.get(name), now)
      if (reason !== undefined) {
        if (reason !== 'superseded') warn('dropping held record', { name, reason }) // superseded: nothing is lost
        await unlinkDurable(this.heldPath(name))
        continue
      }
      held.push(record!)
    }
    await this.sweep(current, held, warn)
    return { current, held }
  }

  private async readRecords (dir: string, warn: Warn): Promise<Array<{ name: string, record?: SignedRecord }>> {
    const out: Array<{ name: string, record?: SignedRecord }> = []
    for (const path of await walk(dir)) {
      const rel = relative(dir, path)
      if (rel.split(sep).some(p => p.startsWith(TEMP_PREFIX))) { await unlink(path).catch(() => {}); continue }
      if (!rel.endsWith('.rec')) { warn('removing unexpected file', { path }); await unlink(path).catch(() => {}); continue }
      const name = rel.slice(0, -4).split(sep).join('/')
      let record: SignedRecord | undefined
      try {
        const r = decodeRecord(await readFile(path))
        if (r.name === name && authenticity(r) === undefined) record = r
      } catch { record = undefined }
      out.push({ name, record })
    }
    return out
  }

  /** Removes staged blobs and delivered files that no record accounts for. */
  private async sweep (current: SignedRecord[], held: SignedRecord[], warn: Warn): Promise<void> {
    const staged = new Set(held.map(stagedKey))
    for (const path of await walk(this.stagingDir)) {
      if (!staged.has(relative(this.stagingDir, path))) await unlink(path).catch(() => {})
    }
    const delivered = new Set(current.map(r => r.name)) // undelivered ones were already removed
    for (const path of await walk(this.filesDir)) {
      const name = relative(this.filesDir, path).split(sep).join('/')
      if (delivered.has(name)) continue
      if (!name.split('/').some(p => p.startsWith(TEMP_PREFIX))) warn('removing delivered file without a valid record', { name })
      await unlink(path).catch(() => {})
    }
  }

  /** Why a held record found at start cannot stay held, or undefined when it can. */
  private async heldProblem (record: SignedRecord | undefined, current: SignedRecord | undefined, policy: Policy, floor: number | undefined, now: number): Promise<string | undefined> {
    if (record === undefined) return 'unreadable or bad signature'
    const unauthorized = unauthorizedReason(policy, record)
    if (unauthorized !== undefined) return unauthorized
    if (floor !== undefined && record.timestamp <= floor) return 'at or below the floor of its name'
    if (current !== undefined && compareVersions(record, current) <= 0) return 'superseded'
    // content is needed only if the version is still deliverable when it is released
    const releaseAt = Math.max(now, record.timestamp - policy.maxClockSkew)
    if (needsContent(record, releaseAt) && !await this.stagedReady(record)) return 'its staged content is missing or corrupt'
    return undefined
  }

  /**
   * Whether the staged blob of `record` is there and intact. A blob staged by 0.1.0 (keyed
   * by hash + name, possibly shared by a held and a current record) is staged again under
   * this record's key; sweep() then removes the old one.
   */
  private async stagedReady (record: SignedRecord): Promise<boolean> {
    if (await this.hashMatches(this.stagedPath(record), record)) return true
    const legacy = join(this.stagingDir, legacyStagedKey(record))
    if (!await this.hashMatches(legacy, record)) return false
    await this.stage(record, new Uint8Array(await readFile(legacy)))
    return true
  }

  private async hashMatches (path: string, record: SignedRecord): Promise<boolean> {
    try {
      const st = await stat(path)
      if (!st.isFile() || st.size !== record.size) return false
      const h = createHash('sha256')
      for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
      return h.digest().equals(record.sha256)
    } catch { return false }
  }
}

/**
 * Staged content is keyed by the exact record (sha256 of its encoding): a held version
 * and the current one never share a blob, even with equal content, so delivering one
 * cannot take the other's content away (issue 11, F9).
 */
const stagedKey = recordIdHex

/** The key used up to 0.1.0 (sha256 + name), still read by recover() after an upgrade. */
function legacyStagedKey (record: SignedRecord): string {
  const nameHash = createHash('sha256').update(record.name).digest('hex').slice(0, 16)
  return `${Buffer.from(record.sha256).toString('hex')}-${nameHash}`
}

async function readIfExists (path: string): Promise<Uint8Array | undefined> {
  try { return new Uint8Array(await readFile(path)) } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Opens for reading; a symlink put in place of a stored file is not followed (ELOOP: treated as absent). */
async function openIfExists (path: string): Promise<FileHandle | undefined> {
  try { return await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW) } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ELOOP') return undefined
    throw err
  }
}

async function walk (dir: string): Promise<string[]> {
  const out: string[] = []
  let entries
  try { entries = await readdir(dir, { withFileTypes: true }) } catch { return out }
  for (const e of entries) {
    const p = join(dir, e.name)
    // The daemon never creates symbolic links: one here is the operator's (the NixOS
    // module's files/home -> "." alias), so it is neither followed nor removed.
    if (e.isSymbolicLink()) continue
    if (e.isDirectory()) out.push(...await walk(p))
    else out.push(p)
  }
  return out
}
