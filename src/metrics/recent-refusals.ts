// The versions this node refused lately, for `data-mesher status`: the latest refusal per
// name and reason, at most MAX_REFUSALS (the oldest goes first), each with a count. A
// flood of junk names from a peer therefore costs a bounded list, not memory.
import type { SignedRecord } from '../crypto/record.js'
import type { Replica } from '../store/replica.js'
import { observeSubmissions } from './submissions.js'

export const MAX_REFUSALS = 64

export interface Refusal {
  name: string
  /** the refused version's timestamp, unix ms */
  timestamp: number
  signer: Uint8Array
  code: string
  reason: string
  /** when it was last refused here, unix ms */
  at: number
  /** "api" or "peer:<id>" of the last sender */
  origin: string
  count: number
}

export class RecentRefusals {
  /** "name\ncode" → refusal, in the order of their last refusal (Map keeps insertion order) */
  private readonly byKey = new Map<string, Refusal>()
  private readonly unsubscribe: () => void

  constructor (replica: Replica, private readonly clock: () => number = Date.now) {
    this.unsubscribe = observeSubmissions(replica, s => {
      if ('result' in s && s.result.outcome === 'refused') this.add(s.record, s.origin, s.result.code, s.result.reason)
    })
  }

  private add (record: SignedRecord, origin: string, code: string, reason: string): void {
    const key = `${record.name}\n${code}`
    const previous = this.byKey.get(key)
    this.byKey.delete(key)
    this.byKey.set(key, { name: record.name, timestamp: record.timestamp, signer: record.signer, code, reason, at: this.clock(), origin, count: (previous?.count ?? 0) + 1 })
    while (this.byKey.size > MAX_REFUSALS) this.byKey.delete(this.byKey.keys().next().value as string)
  }

  /** Newest first. */
  list (): Refusal[] { return [...this.byKey.values()].reverse() }

  stop (): void { this.unsubscribe() }
}
