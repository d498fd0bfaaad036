// The mesh's seam to the store: the few things it asks of the node's replica. The
// concrete store (src/store/replica.ts) fits it as is; the mesh never sees its disk.
import type { SignedRecord } from '../crypto/record.js'
import type { Policy, QuotaUsage, VerifiedContent } from '../rule/which-version-wins.js'
import type { ContentReader } from '../store/content-reader.js'
import type { ProvenFloor } from '../store/floors.js'
import type { Change, FloorResult, SubmitResult } from '../store/replica.js'

export interface ReplicaPort {
  /** the current version of a name, and the record from the future held back for it */
  get: (name: string) => SignedRecord | undefined
  getHeld: (name: string) => SignedRecord | undefined
  /** no version at or below this timestamp is accepted for the name (DESIGN.md §7) */
  getFloor: (name: string) => number | undefined
  /** the floors that travel in sync, each with the revoked record that justifies it */
  listFloors: () => ProvenFloor[]
  /** a floor a peer sent: taken only when this node's configuration justifies it */
  learnFloor: (floor: number, proof: SignedRecord, origin: string) => Promise<FloorResult>
  getPolicy: () => Policy
  /** what the index holds per namespace and key, for the quotas */
  getUsage: () => QuotaUsage
  clock: () => number
  /** the index: every current version, every held one */
  list: () => SignedRecord[]
  listHeld: () => SignedRecord[]
  /**
   * Offers a record a peer sent. Its content was verified where it entered (inline, or by
   * the fetcher), and is only fetched once the record passed the rule.
   */
  submit: (record: SignedRecord, content: VerifiedContent | ((record: SignedRecord) => Promise<VerifiedContent>), origin: string) => Promise<SubmitResult>
  /** every accepted version (and expiry, revocation); returns the unsubscribe */
  onChange: (fn: (c: Change) => void) => () => void
  /** exactly `record`'s content, in chunks (fetch serving); undefined when not held or damaged */
  openContent: (record: SignedRecord) => Promise<ContentReader | undefined>
  /** the delivered content of the current version, verified (a GRAFT's answer inlines it) */
  readContent: (name: string) => Promise<{ record: SignedRecord, content: Uint8Array } | undefined>
}
