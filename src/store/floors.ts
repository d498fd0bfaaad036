// Per-name floors (DESIGN.md §7): when a version is revoked (its signer lost its key) or a
// stored record is found corrupt, the name is forgotten, but not the height it had
// reached. Nothing with a timestamp at or below a name's floor is accepted again, so an
// old version replayed by anyone (or re-spread by a node that was offline) cannot come
// back. Floors only go up, and a floor is durable before what it protects is removed.
//
// A floor left by a revocation keeps its proof: the revoked record itself (signed, so any
// node can check it). Floors travel in sync with their proof (issue 19 item 3): a node that
// missed the revocation takes the floor when its own configuration would have revoked
// that record too, and no higher than when it saw the signer removed (rule: justifiedFloor). A floor without a proof (a corrupt record
// found at start, or a file written before proofs were kept) holds here only.
//
// One small JSON file, <state_dir>/floors.json, rewritten atomically on every change:
// floors change only on a reload that revokes something, a start that finds damage, or a
// floor learnt from a peer, and there is at most one per name, so the file stays small.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeRecord, encodeRecord, type SignedRecord } from '../crypto/record.js'
import { writeFileAtomic } from './atomic-file.js'

export const FLOORS_FILE = 'floors.json'
const FORMAT = 'data-mesher floors v2'
/** read, never written: floors without proofs */
const FORMAT_V1 = 'data-mesher floors v1'

export class FloorsCorruptError extends Error { override name = 'FloorsCorruptError' }

/** A floor and the revoked record that justifies it (floor ≤ record.timestamp − 1). */
export interface ProvenFloor { name: string, floor: number, proof: SignedRecord }
/** name, floor, and the record that justifies it when there is one */
export type FloorEntry = readonly [string, number, SignedRecord?]

export class Floors {
  /** writes one at a time: each rewrites the whole file from the maps */
  private writing: Promise<unknown> = Promise.resolve()

  private constructor (
    readonly path: string,
    private readonly floors: Map<string, number>,
    /** the highest proven floor of each name (at most its floor) */
    private readonly proofs: Map<string, ProvenFloor>
  ) {}

  /** Reads <stateDir>/floors.json (none yet: no floors). A damaged file stops the start: without it, rollbacks would be accepted. */
  static async load (stateDir: string): Promise<Floors> {
    const path = join(stateDir, FLOORS_FILE)
    let text: string
    try { text = await readFile(path, 'utf8') } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Floors(path, new Map(), new Map())
      throw err
    }
    const { floors, proofs } = parse(text, path)
    return new Floors(path, floors, proofs)
  }

  /** The floor of `name`: versions with a timestamp at or below it are refused. */
  get (name: string): number | undefined { return this.floors.get(name) }

  /** The floor of `name` that other nodes can check, with its proof. */
  proven (name: string): ProvenFloor | undefined { return this.proofs.get(name) }

  /** Every floor that travels (sync), by name. */
  listProven (): ProvenFloor[] { return [...this.proofs.values()] }

  /**
   * Raises floors (never lowers one) and returns once they are on disk. On failure
   * nothing changed, neither on disk nor in memory. A proof is kept when its floor is
   * higher than the proven floor the name had.
   */
  async raise (entries: Iterable<FloorEntry>): Promise<void> {
    const list = [...entries]
    const run = this.writing.then(async () => {
      const next = new Map(this.floors)
      const nextProofs = new Map(this.proofs)
      let changed = false
      for (const [name, floor, proof] of list) {
        if ((next.get(name) ?? -1) < floor) {
          next.set(name, floor)
          changed = true
        }
        if (proof !== undefined && (nextProofs.get(name)?.floor ?? -1) < floor) {
          nextProofs.set(name, { name, floor, proof })
          changed = true
        }
      }
      if (!changed) return
      const doc = {
        format: FORMAT,
        floors: Object.fromEntries(sorted([...next])),
        proofs: Object.fromEntries(sorted([...nextProofs]).map(([name, p]) => [name, { floor: p.floor, record: Buffer.from(encodeRecord(p.proof)).toString('base64') }]))
      }
      await writeFileAtomic(this.path, Buffer.from(JSON.stringify(doc, null, 1) + '\n'), 0o640)
      for (const [name, floor] of next) this.floors.set(name, floor)
      for (const [name, p] of nextProofs) this.proofs.set(name, p)
    })
    this.writing = run.catch(() => {})
    await run
  }
}

function sorted<T> (entries: Array<[string, T]>): Array<[string, T]> {
  return entries.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
}

function parse (text: string, path: string): { floors: Map<string, number>, proofs: Map<string, ProvenFloor> } {
  const bad = (why: string): FloorsCorruptError => new FloorsCorruptError(
    `${path} is damaged (${why}); refusing to start without the floors that keep revoked versions out. ` +
    'Restore it from a backup, or remove it to start without floors (old versions could then be accepted again)')
  let doc: unknown
  try { doc = JSON.parse(text) } catch { throw bad('not JSON') }
  const d = doc as { format?: unknown, floors?: unknown, proofs?: unknown }
  if (typeof doc !== 'object' || doc === null || (d.format !== FORMAT && d.format !== FORMAT_V1)) throw bad(`format is not "${FORMAT}"`)
  if (typeof d.floors !== 'object' || d.floors === null || Array.isArray(d.floors)) throw bad('"floors" is not an object')
  const floors = new Map<string, number>()
  for (const [name, floor] of Object.entries(d.floors)) {
    if (!isTimestamp(floor)) throw bad(`the floor of "${name}" is not a timestamp`)
    floors.set(name, floor)
  }
  const proofs = new Map<string, ProvenFloor>()
  if (d.format === FORMAT_V1) return { floors, proofs }
  if (typeof d.proofs !== 'object' || d.proofs === null || Array.isArray(d.proofs)) throw bad('"proofs" is not an object')
  for (const [name, p] of Object.entries(d.proofs as Record<string, unknown>)) {
    const { floor, record } = (p ?? {}) as { floor?: unknown, record?: unknown }
    if (!isTimestamp(floor) || typeof record !== 'string') throw bad(`the proof of "${name}" is not { floor, record }`)
    let proof: SignedRecord
    try { proof = decodeRecord(Buffer.from(record, 'base64')) } catch { throw bad(`the proof of "${name}" is not a record`) }
    if (proof.name !== name || floor >= proof.timestamp || floor > (floors.get(name) ?? -1)) throw bad(`the proof of "${name}" does not fit its floor`)
    proofs.set(name, { name, floor, proof })
  }
  return { floors, proofs }
}

function isTimestamp (v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0
}
