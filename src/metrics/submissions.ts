// Every call of Replica.submit (the one door through which a version enters, from the API
// and the mesh alike), told to listeners with its outcome: the metrics and the status's
// list of refusals observe the replica from outside, so the store keeps no such code.
// The instance's submit is wrapped once; the wrapper stays until the last listener leaves.
import type { SignedRecord } from '../crypto/record.js'
import type { Replica, SubmitResult } from '../store/replica.js'

/** One submission: its result, or the error it threw (content fetch failed, disk error). */
export type Submission = { record: SignedRecord, origin: string } & ({ result: SubmitResult } | { error: unknown })
export type SubmissionListener = (s: Submission) => void

const observed = new WeakMap<Replica, { listeners: Set<SubmissionListener>, restore: () => void }>()

/** Calls `fn` after every submit to `replica`; returns the unsubscribe. */
export function observeSubmissions (replica: Replica, fn: SubmissionListener): () => void {
  let entry = observed.get(replica)
  if (entry === undefined) {
    const listeners = new Set<SubmissionListener>()
    const submit = replica.submit
    const tell = (s: Submission): void => {
      for (const l of listeners) {
        try { l(s) } catch { /* an observer's fault never changes a submission's outcome */ }
      }
    }
    replica.submit = async (record, source, origin) => {
      let result: SubmitResult
      try { result = await submit.call(replica, record, source, origin) } catch (error) {
        tell({ record, origin, error })
        throw error
      }
      tell({ record, origin, result })
      return result
    }
    entry = { listeners, restore: () => { replica.submit = submit } }
    observed.set(replica, entry)
  }
  const e = entry
  e.listeners.add(fn)
  return () => {
    e.listeners.delete(fn)
    if (e.listeners.size === 0) {
      e.restore()
      observed.delete(replica)
    }
  }
}
