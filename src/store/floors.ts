// Per-name floors (DESIGN.md §7): when a version is revoked (its signer lost its key) or a
// stored record is found corrupt, the name is forgotten, but not the height it had
// reached. Nothing with a timestamp at or below a name's floor is accepted again, so an
// old version replayed by anyone (or re-spread by a node that was offline) cannot come
// back. Floors only go up, and a floor is durable before what it protects is removed.
//
// One small JSON file, <state_dir>/floors.json, rewritten atomically on every change:
// floors change only on a reload that revokes something or on a start that finds damage,
// and there is at most one per name, so the file stays small.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from './atomic-file.js'

export const FLOORS_FILE = 'floors.json'
const FORMAT = 'data-mesher floors v1'

export class FloorsCorruptError extends Error {}

export class Floors {
  /** writes one at a time: each rewrites the whole file from the map */
  private writing: Promise<unknown> = Promise.resolve()

  private constructor (readonly path: string, private readonly floors: Map<string, number>) {}

  /** Reads <stateDir>/floors.json (none yet: no floors). A damaged file stops the start: without it, rollbacks would be accepted. */
  static async load (stateDir: string): Promise<Floors> {
    const path = join(stateDir, FLOORS_FILE)
    let text: string
    try { text = await readFile(path, 'utf8') } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Floors(path, new Map())
      throw err
    }
    return new Floors(path, parse(text, path))
  }

  /** The floor of `name`: versions with a timestamp at or below it are refused. */
  get (name: string): number | undefined { return this.floors.get(name) }

  /**
   * Raises floors (never lowers one) and returns once they are on disk. On failure
   * nothing changed, neither on disk nor in memory.
   */
  async raise (entries: Iterable<readonly [string, number]>): Promise<void> {
    const run = this.writing.then(async () => {
      const next = new Map(this.floors)
      let changed = false
      for (const [name, floor] of entries) {
        if ((next.get(name) ?? -1) >= floor) continue
        next.set(name, floor)
        changed = true
      }
      if (!changed) return
      const doc = { format: FORMAT, floors: Object.fromEntries([...next].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) }
      await writeFileAtomic(this.path, Buffer.from(JSON.stringify(doc, null, 1) + '\n'), 0o640)
      for (const [name, floor] of next) this.floors.set(name, floor)
    })
    this.writing = run.catch(() => {})
    await run
  }
}

function parse (text: string, path: string): Map<string, number> {
  const bad = (why: string): FloorsCorruptError => new FloorsCorruptError(
    `${path} is damaged (${why}); refusing to start without the floors that keep revoked versions out. ` +
    'Restore it from a backup, or remove it to start without floors (old versions could then be accepted again)')
  let doc: unknown
  try { doc = JSON.parse(text) } catch { throw bad('not JSON') }
  const d = doc as { format?: unknown, floors?: unknown }
  if (typeof doc !== 'object' || doc === null || d.format !== FORMAT) throw bad(`format is not "${FORMAT}"`)
  if (typeof d.floors !== 'object' || d.floors === null || Array.isArray(d.floors)) throw bad('"floors" is not an object')
  const out = new Map<string, number>()
  for (const [name, floor] of Object.entries(d.floors)) {
    if (!Number.isSafeInteger(floor) || (floor as number) < 0) throw bad(`the floor of "${name}" is not a timestamp`)
    out.set(name, floor as number)
  }
  return out
}
