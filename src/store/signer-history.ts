// Which keys this node's configuration has ever allowed to sign each configured name
// (issue 19 item 3). A floor a peer sends is justified by a revoked record; this node
// takes it only when its own configuration once allowed that record's signer for the
// name and allows it no more — the same removal, seen here. Without this memory, a node
// restarted with the new configuration could not tell a co-signer it used to trust from
// a key an admitted peer just made up (which could then raise floors and censor names).
//
// <state_dir>/signers.json, rewritten atomically when the configuration adds a key: keys
// are never forgotten (a key removed and configured again is simply allowed again).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { REVOCATIONS_NAME } from '../crypto/revocation-list.js'
import { encodeBase64Key } from '../crypto/keys.js'
import type { Policy } from '../rule/which-version-wins.js'
import { writeFileAtomic } from './atomic-file.js'

export const SIGNERS_FILE = 'signers.json'
const FORMAT = 'data-mesher signers v1'

export class SignerHistoryCorruptError extends Error {}

export class SignerHistory {
  private writing: Promise<unknown> = Promise.resolve()

  private constructor (readonly path: string, private readonly seen: Map<string, Set<string>>) {}

  static async load (stateDir: string): Promise<SignerHistory> {
    const path = join(stateDir, SIGNERS_FILE)
    let text: string
    try { text = await readFile(path, 'utf8') } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new SignerHistory(path, new Map())
      throw err
    }
    return new SignerHistory(path, parse(text, path))
  }

  /** Whether the configuration ever allowed `key` (base64) to sign `name`. */
  wasSigner (name: string, key: string): boolean { return this.seen.get(name)?.has(key) === true }

  /** Adds the signers `policy` allows (configured files, and the network key for its revocation list); durable on return. */
  async remember (policy: Policy): Promise<void> {
    const run = this.writing.then(async () => {
      const added: Array<[string, string]> = []
      for (const [name, keys] of policy.files) for (const k of keys) if (!this.wasSigner(name, k)) added.push([name, k])
      if (policy.network !== undefined) {
        const k = encodeBase64Key(policy.network.id)
        if (!this.wasSigner(REVOCATIONS_NAME, k)) added.push([REVOCATIONS_NAME, k])
      }
      if (added.length === 0) return
      const next = new Map([...this.seen].map(([n, ks]) => [n, new Set(ks)]))
      for (const [name, k] of added) next.set(name, (next.get(name) ?? new Set()).add(k))
      const doc = { format: FORMAT, signers: Object.fromEntries([...next].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([n, ks]) => [n, [...ks].sort()])) }
      await writeFileAtomic(this.path, Buffer.from(JSON.stringify(doc, null, 1) + '\n'), 0o640)
      for (const [name, ks] of next) this.seen.set(name, ks)
    })
    this.writing = run.catch(() => {})
    await run
  }
}

function parse (text: string, path: string): Map<string, Set<string>> {
  const bad = (why: string): SignerHistoryCorruptError => new SignerHistoryCorruptError(
    `${path} is damaged (${why}). Remove it to start afresh: this node then takes floors from peers only for keys removed from its configuration from now on`)
  let doc: unknown
  try { doc = JSON.parse(text) } catch { throw bad('not JSON') }
  const d = doc as { format?: unknown, signers?: unknown }
  if (typeof doc !== 'object' || doc === null || d.format !== FORMAT) throw bad(`format is not "${FORMAT}"`)
  if (typeof d.signers !== 'object' || d.signers === null || Array.isArray(d.signers)) throw bad('"signers" is not an object')
  const out = new Map<string, Set<string>>()
  for (const [name, keys] of Object.entries(d.signers)) {
    if (!Array.isArray(keys) || keys.some(k => typeof k !== 'string')) throw bad(`the signers of "${name}" are not a list of keys`)
    out.set(name, new Set(keys as string[]))
  }
  return out
}
