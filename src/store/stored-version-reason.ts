// Why a stored version may no longer be served under a policy, in the words the store
// logs when it drops it (start-up check, config reload). The rule's verdict says which
// step failed; "signer no longer allowed" is said only when that is what happened, not
// for a namespace file whose certificate is missing or no longer fits (issue 18: a
// record whose certificate was lost in a crash was logged as if its key had been removed).
import type { SignedRecord } from '../crypto/record.js'
import { authorization, type Policy } from '../rule/which-version-wins.js'

export function unauthorizedReason (policy: Policy, record: SignedRecord): string | undefined {
  const v = authorization(policy, record.name, record.signer, record)
  if (v === undefined || v.action !== 'refuse') return undefined
  switch (v.code) {
    case 'not-signer': return 'signer no longer allowed'
    case 'not-configured': return 'name no longer configured'
    case 'not-certified': return `no valid certificate of this network beside it: ${v.reason}`
    default: return v.reason // the network binding: the rule's own words
  }
}
