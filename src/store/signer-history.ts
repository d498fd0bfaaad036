// Which keys this node's configuration has allowed to sign each configured name, and
// when it stopped allowing them (issue 19 item 3). A floor a peer sends is justified by a
// revoked record; this node takes it only when its own configuration once allowed that
// record's signer for the name and allows it no more — the same removal, seen here — and
// no higher than the moment this node saw the removal. Without this memory, a node
// restarted with the new configuration could not tell a co-signer it used to trust from a
// key an admitted peer just made up (which could then raise floors and censor names); and
// without the moment, the holder of the removed (perhaps leaked) key could sign a record
// dated far ahead and push the floor past every version signed since, again and again.
//
// <state_dir>/signers.json, rewritten atomically when the configuration adds or removes a
// key: keys are never forgotten (a key configured again is simply allowed again).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { REVOCATIONS_NAME } from '../crypto/revocation-list.js'
import { encodeBase64Key } from '../crypto/keys.js'
import type { Policy } from '../rule/which-version-wins.js'
import { writeFileAtomic } from './atomic-file.js'

export const SIGNERS_FILE = 'signers.json'
const FORMAT = 'data-mesher signers v1'

export class SignerHistoryCorruptError extends Error { override name = 'SignerHistoryCorruptError' }

/** name → key (base64) → when this node saw it removed (unix ms), null while allowed */
type Seen = Map<string, Map<string, number | null>>

export class SignerHistory {
  private writing: Promise<unknown> = Promise.resolve()

  private constructor (readonly path: string, private readonly seen: Seen) {}

  static async load (stateDir: string): Promise<SignerHistory> {
    const path = join(stateDir, SIGNERS_FILE)
    let text: string
    try { text = await readFile(path, 'utf8') } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new SignerHistory(path, new Map())
      throw err
    }
    return new SignerHistory(path, parse(text, path))
  }

  /**
   * When this node saw `key` (base64) removed from the keys allowed to sign `name`;
   * undefined when the configuration never allowed it, or allows it now.
   */
  removedAt (name: string, key: string): number | undefined { return this.seen.get(name)?.get(key) ?? undefined }

  /**
   * Records the signers `policy` allows (configured files, and the network key for its
   * revocation list) and the removal, at `now`, of those it no longer allows; durable on return.
   */
  async remember (policy: Policy, now: number): Promise<void> {
    const run = this.writing.then(async () => {
      const allowed = new Map<string, Set<string>>([...policy.files].map(([n, ks]) => [n, new Set(ks)]))
      if (policy.network !== undefined) allowed.set(REVOCATIONS_NAME, new Set([encodeBase64Key(policy.network.id)]))
      const next: Seen = new Map([...this.seen].map(([n, ks]) => [n, new Map(ks)]))
      let changed = false
      for (const [name, keys] of allowed) {
        const known = next.get(name) ?? new Map<string, number | null>()
        next.set(name, known)
        for (const k of keys) if (known.get(k) !== null) { known.set(k, null); changed = true }
      }
      for (const [name, known] of next) {
        for (const [k, removed] of known) {
          if (removed === null && allowed.get(name)?.has(k) !== true) { known.set(k, now); changed = true }
        }
      }
      if (!changed) return
      const doc = {
        format: FORMAT,
        signers: Object.fromEntries([...next].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
          .map(([n, ks]) => [n, Object.fromEntries([...ks].sort(([a], [b]) => a < b ? -1 : 1))]))
      }
      await writeFileAtomic(this.path, Buffer.from(JSON.stringify(doc, null, 1) + '\n'), 0o640)
      this.seen.clear()
      for (const [name, ks] of next) this.seen.set(name, ks)
    })
    this.writing = run.catch(() => {})
    await run
  }
}

function parse (text: string, path: string): Seen {
  const bad = (why: string): SignerHistoryCorruptError => new SignerHistoryCorruptError(
    `${path} is damaged (${why}). Remove it to start afresh: this node then takes floors from peers only for keys removed from its configuration from now on`)
  let doc: unknown
  try { doc = JSON.parse(text) } catch { throw bad('not JSON') }
  const d = doc as { format?: unknown, signers?: unknown }
  if (typeof doc !== 'object' || doc === null || d.format !== FORMAT) throw bad(`format is not "${FORMAT}"`)
  if (typeof d.signers !== 'object' || d.signers === null || Array.isArray(d.signers)) throw bad('"signers" is not an object')
  const out: Seen = new Map()
  for (const [name, keys] of Object.entries(d.signers)) {
    if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) throw bad(`the signers of "${name}" are not an object`)
    const m = new Map<string, number | null>()
    for (const [k, removed] of Object.entries(keys)) {
      if (removed !== null && !(Number.isSafeInteger(removed) && (removed as number) >= 0)) throw bad(`the removal of ${k} from "${name}" is not a time`)
      m.set(k, removed as number | null)
    }
    out.set(name, m)
  }
  return out
}
