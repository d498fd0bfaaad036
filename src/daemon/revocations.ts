// Follows the network's revocation list (src/crypto/revocation-list.ts) in the store: it
// is read at start and again whenever its name changes (from the API or a peer), and
// each new set of revoked identity keys goes to `apply` (the rule's policy: namespace
// files of those keys are refused and stored ones revoked; admission: their connections
// closed and refused). A list that does not parse (signed by the network key, so an
// operator's mistake, never a peer's) is logged and the previous set kept: revocations
// do not silently vanish. A deleted or expired list revokes nothing.
import type { Logger } from 'pino'
import { parseRevocationList, REVOCATIONS_NAME, revokedKeys } from '../crypto/revocation-list.js'
import type { Replica } from '../store/replica.js'

export class Revocations {
  keys: ReadonlySet<string> = new Set()
  private chain = Promise.resolve()
  private stopped = false

  constructor (private readonly replica: Replica, private readonly log: Logger) {}

  /** Reads the stored list (at start). */
  async load (): Promise<ReadonlySet<string>> {
    this.keys = await this.read() ?? this.keys
    if (this.keys.size > 0) this.log.info({ revoked: this.keys.size }, 'network revocation list loaded')
    return this.keys
  }

  /** Calls `apply` with each changed set, one at a time; returns a function that stops following. */
  follow (apply: (keys: ReadonlySet<string>) => Promise<void>): () => Promise<void> {
    const off = this.replica.onChange(c => {
      if (c.record.name !== REVOCATIONS_NAME || this.stopped) return
      // not awaited here: a change is emitted while the store writes, and applying a
      // policy waits for the writes under way
      this.chain = this.chain.then(async () => {
        if (this.stopped) return
        const next = await this.read()
        if (next === undefined || same(next, this.keys)) return
        const added = [...next].filter(k => !this.keys.has(k))
        // set first: a reload or renewal that builds a policy meanwhile includes it, and
        // if applying fails the next reload or restart applies it
        this.keys = next
        await apply(next)
        this.log.warn({ revoked: next.size, added }, 'network revocation list changed: applied')
      }).catch(err => this.log.error({ err: (err as Error).message }, 'could not apply the network revocation list; it is applied again at the next change or restart'))
    })
    return async () => { this.stopped = true; off(); await this.chain }
  }

  private async read (): Promise<ReadonlySet<string> | undefined> {
    const stored = await this.replica.readContent(REVOCATIONS_NAME)
    if (stored === undefined) return new Set()
    try { return revokedKeys(parseRevocationList(stored.content)) } catch (err) {
      this.log.error({ err: (err as Error).message, timestamp: stored.record.timestamp }, `${REVOCATIONS_NAME} does not parse: keeping the previous revocations`)
      return undefined
    }
  }
}

function same (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every(k => b.has(k))
}
