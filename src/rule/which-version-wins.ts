// THE RULE: which version of a file wins (DESIGN.md §4). Pure: no I/O, no clock of its
// own (the caller passes `now`). The API path, the mesh path, the store's start-up check
// and config reloads all decide through this module and nothing else.
// Its one piece of state is the verify-once marks (which objects were already checked),
// which change how much work a verdict costs, never the verdict.
import { publicKeyProblem } from '../crypto/key-validity.js'
import { certificateProblem, type Certificate } from '../crypto/certificate.js'
import { encodeBase64Key } from '../crypto/keys.js'
import { parseNamespaceName } from '../crypto/names.js'
import { REVOCATIONS_NAME } from '../crypto/revocation-list.js'
import { encodeRecord, sha256, verifyRecordSignature, type SignedRecord } from '../crypto/record.js'
import { quotaProblem, type QuotaUsage, type Quotas } from './namespace-quota.js'

export type { QuotaUsage, Quotas }

/** What the rule needs to know about the configuration. */
export interface Policy {
  /** configured names → base64 public keys allowed to sign them */
  files: ReadonlyMap<string, ReadonlySet<string>>
  /** configured namespaces: "<ns>/<base64url(key)>" may be signed by that key */
  namespaces: ReadonlySet<string>
  maxFileSize: number
  /** milliseconds a timestamp may be ahead of the local clock */
  maxClockSkew: number
  /**
   * The node's network identity (DESIGN.md §7), absent without one. With it, a namespace
   * file's signer must hold a certificate of one of `trusted` (network.id and
   * certificate_authorities), valid at the record's timestamp.
   */
  network?: {
    id: Uint8Array
    trusted: readonly Uint8Array[]
    /**
     * identity keys (base64) revoked by the network's revocation list (REVOCATIONS_NAME,
     * issue 19): their namespace files are refused, stored ones revoked
     */
    revoked?: ReadonlySet<string>
  }
  /** the certificate that travels with a record (API upload or mesh), if one came */
  certificateOf?: (record: SignedRecord) => Certificate | undefined
  /** quotas on namespace files (namespace-quota.ts); absent: none (the config always sets them) */
  quotas?: Quotas
}

export type RefusalCode =
  | 'not-configured' // 1. the name is not configured (nor a namespace name)
  | 'not-signer' // 2. the signer is not one of the name's keys
  | 'bad-key' // 2. the signer key is not a canonical Ed25519 point, or is of small order
  | 'bad-signature' // 3. the signature does not verify
  | 'too-large' // 3. size > max_file_size
  | 'bad-content' // 3. the content does not hash to the record
  | 'not-certified' // 2. a namespace file under a network: its signer holds no valid certificate of it
  | 'wrong-network' // 1. bound to another network than this node's, or (un)bound when this node is not
  | 'over-quota' // 6. a namespace file that would take its namespace or key over a quota (namespace-quota.ts)

/**
 * 'below-floor': at or below the name's floor — the height the name had reached when a
 * version was revoked or a stored record found corrupt (DESIGN.md §7): nothing that old
 * comes back, whoever replays it.
 */
export type IgnoreReason = 'identical' | 'not-newer' | 'below-floor'

export type Verdict =
  | { action: 'accept' } // newest valid version: store it (content must match, see contentProblem)
  | { action: 'hold', until: number } // 4. from the future: keep it aside, judge again at `until`
  | { action: 'ignore', why: IgnoreReason } // 5. a no-op (a replay, or an older version)
  | { action: 'refuse', code: RefusalCode, reason: string }

/**
 * Steps 1–2: may this signer sign this name under the current configuration? A config
 * lookup (and, given the record, its network binding and — for a namespace file under a
 * network — its signer's certificate): it runs on every record a peer syncs, junk
 * included, so it must stay cheap. Whether the signer is an acceptable Ed25519 point is
 * checked by authenticity(), once the signature verified.
 */
export function authorization (policy: Policy, name: string, signer: Uint8Array, record?: SignedRecord, now?: number): Verdict | undefined {
  if (record !== undefined) {
    const unbound = networkProblem(policy, record)
    if (unbound !== undefined) return unbound
  }
  // the network's revocation list: signed by network.id itself (not a certificate
  // authority: during a rotation the old key may be the leaked one)
  if (policy.network !== undefined && name === REVOCATIONS_NAME) {
    if (Buffer.from(policy.network.id).equals(signer)) return undefined
    return refuse('not-signer', `"${name}" is the network's revocation list: only the network key ${encodeBase64Key(policy.network.id)} may sign it`)
  }
  const keys = policy.files.get(name)
  if (keys !== undefined) {
    if (keys.has(encodeBase64Key(signer))) return undefined
    return refuse('not-signer', `key ${encodeBase64Key(signer)} is not allowed to sign "${name}"`)
  }
  const ns = configuredNamespace(policy, name)
  if (ns !== undefined) {
    if (!Buffer.from(ns.key).equals(signer)) return refuse('not-signer', `"${name}" is in namespace "${ns.namespace}" and may only be signed by the key it names`)
    if (policy.network === undefined) return undefined
    if (policy.network.revoked?.has(encodeBase64Key(signer)) === true) return refuse('not-certified', `"${name}": the certificate of its signer ${encodeBase64Key(signer)} was revoked by the network (${REVOCATIONS_NAME})`)
    if (record === undefined) return undefined
    return certified(policy, policy.network.trusted, record, now)
  }
  return refuse('not-configured', `"${name}" is not a configured file name`)
}

/** The namespace of `name` (and the key the name carries) when it is a configured one. */
export function configuredNamespace (policy: Policy, name: string): ReturnType<typeof parseNamespaceName> {
  const ns = parseNamespaceName(name)
  return ns !== undefined && policy.namespaces.has(ns.namespace) ? ns : undefined
}

/**
 * Whether `name` is a member's own file: a name of a configured namespace that is not
 * also a configured file, so that its signer's authority is its membership, not a key
 * the configuration names (proto/flood-judge.ts judges only these).
 */
export function isMemberFile (policy: Policy, name: string): boolean {
  return !policy.files.has(name) && configuredNamespace(policy, name) !== undefined
}

/**
 * Whether some version of `name` may be accepted here: a configured file, or a name in a
 * configured namespace (the signer is for authorization() to judge). What the mesh asks of
 * a notice or a sync summary entry, which name no signer.
 */
export function acceptsName (policy: Policy, name: string): boolean {
  return policy.files.has(name) || configuredNamespace(policy, name) !== undefined || (policy.network !== undefined && name === REVOCATIONS_NAME)
}

/**
 * Verify once (issue 14). A record whose signature and key passed authenticity(), and
 * content whose size and sha256 matched its record (verifyContent), are marked as checked
 * and travel on as such: the mesh checks what a peer sent where its bytes enter, and the
 * replica, given those very objects, does not hash or verify them again. The marks are by
 * object identity (weak: they go with the object), not a cache by bytes: only an object
 * this process checked itself is trusted, so a peer cannot make it skip a check, and two
 * nodes in one process share nothing they did not decode themselves.
 */
const checked = { records: new WeakSet<SignedRecord>(), content: new WeakMap<Uint8Array, SignedRecord>() }

/** What the rule hashed and verified, for tests that count the work per hop. */
export const work = { signatureChecks: 0, contentHashes: 0 }

/** Content whose size and sha256 this process checked against its record (see verifyContent). */
export type VerifiedContent = Uint8Array & { readonly __verified: 'content' }

/**
 * Step 3 for content, once: the problem with `content` for `record`, or the content
 * marked as verified for that record (a second call with the same objects does not hash).
 */
export function verifyContent (record: SignedRecord, content: Uint8Array): { content: VerifiedContent } | { problem: string } {
  if (checked.content.get(content) !== record) {
    const problem = contentProblem(record, content)
    if (problem !== undefined) return { problem }
    checked.content.set(content, record)
  }
  return { content: content as VerifiedContent }
}

/**
 * Step 3 for the signature: it verifies, and its key is a canonical Ed25519 point not of
 * small order (F8: with a small-order key anyone can "sign", node:crypto accepts such a
 * forgery). In this order: the native verify is fast and rejects junk first; the point
 * decode (pure JS, ~0.1 ms per new key) runs only for records that verified, so a peer
 * cannot make this node decode thousands of made-up namespace keys for free.
 */
export function authenticity (record: SignedRecord): Verdict | undefined {
  if (checked.records.has(record)) return undefined
  work.signatureChecks++
  if (!verifyRecordSignature(record)) return refuse('bad-signature', `the signature on "${record.name}" does not verify`)
  const problem = publicKeyProblem(record.signer)
  if (problem !== undefined) return refuse('bad-key', `signer key ${encodeBase64Key(record.signer)} of "${record.name}" ${problem}`)
  checked.records.add(record)
  return undefined
}

/**
 * Network binding (DESIGN.md §7): a node with a network accepts only records bound to an
 * accepted network id (network.id, or a certificate authority — the old id during a
 * rotation); a node without one accepts only unbound records.
 */
function networkProblem (policy: Policy, record: SignedRecord): Verdict | undefined {
  const bound = record.network
  if (policy.network === undefined) {
    if (bound === undefined) return undefined
    return refuse('wrong-network', `"${record.name}" is bound to network ${encodeBase64Key(bound)}; this node has no network`)
  }
  if (bound === undefined) {
    return refuse('wrong-network', `"${record.name}" is not bound to a network; this node is in network ${encodeBase64Key(policy.network.id)} (sign with --network-id)`)
  }
  if (policy.network.trusted.some(t => Buffer.from(t).equals(bound))) return undefined
  return refuse('wrong-network', `"${record.name}" is bound to network ${encodeBase64Key(bound)}; this node is in network ${encodeBase64Key(policy.network.id)}`)
}

/**
 * A namespace file under a network: the certificate that came with it must be for its
 * signer, by an accepted network key, and valid at the record's timestamp — a pure
 * function of record and certificate, so every node decides the same whenever the
 * record reaches it (DECISIONS.md "Certified namespaces"). With `now` (a version arriving
 * now, judge()), the certificate must also not have ended yet: otherwise the holder of an
 * expired certificate could sign new versions dated inside its old window for ever
 * (review 11-R6). Stored versions (start-up, reload) are judged without `now`; a held
 * version released by the clock is judged with it, like one arriving then (a node down
 * past the certificate's end drops it, as a node that never saw it would refuse it).
 */
function certified (policy: Policy, trusted: readonly Uint8Array[], record: SignedRecord, now?: number): Verdict | undefined {
  const cert = policy.certificateOf?.(record)
  if (cert === undefined) {
    return refuse('not-certified', `"${record.name}" is a namespace file: its signer ${encodeBase64Key(record.signer)} needs a certificate of this network, sent with the file (file update --cert CERT)`)
  }
  const problem = namespaceCertificateProblem(trusted, record, cert, now)
  return problem === undefined ? undefined : refuse('not-certified', problem)
}

function namespaceCertificateProblem (trusted: readonly Uint8Array[], record: SignedRecord, cert: Certificate, now?: number): string | undefined {
  const problem = certificateProblem(cert, record.signer, { networks: trusted, now: record.timestamp })
  if (problem !== undefined) return `"${record.name}": ${problem.replace('the certificate is not valid before', 'the record is dated before its certificate starts,').replace('the certificate expired at', 'the record is dated after its certificate ended at')}`
  if (now !== undefined && now >= cert.notAfter) return `"${record.name}": its signer's certificate expired at ${new Date(cert.notAfter).toISOString()}; no new version is taken under it (renew the certificate)`
  return undefined
}

/**
 * Whether `cert`, sent with `record` now, is one this node may keep beside it: the record
 * is a file of a configured namespace under this node's network, and the certificate is
 * for its signer (the key in the name), of an accepted network, valid at the record's
 * timestamp and (given `now`) not ended at `now`. Checked before a certificate is kept
 * (API upload, fetch from a peer), so junk never replaces or hides a good one (review
 * 11-R1, R4). Without `now` the answer does not depend on the clock: a peer that serves a
 * certificate failing it is at fault.
 */
export function certificateFitsRecord (policy: Policy, record: SignedRecord, cert: Certificate, now?: number): string | undefined {
  if (policy.network === undefined) return 'this node has no network: certificates play no part'
  const ns = parseNamespaceName(record.name)
  if (ns === undefined || !policy.namespaces.has(ns.namespace)) return `"${record.name}" is not a file of a configured namespace: it takes no certificate`
  if (!Buffer.from(ns.key).equals(record.signer)) return `"${record.name}" is in namespace "${ns.namespace}" and may only be signed by the key it names`
  if (policy.network.revoked?.has(encodeBase64Key(cert.subject)) === true) return `"${record.name}": the certificate of ${encodeBase64Key(cert.subject)} was revoked by the network (${REVOCATIONS_NAME})`
  return namespaceCertificateProblem(policy.network.trusted, record, cert, now)
}

/**
 * Whether a stored version may still be served under the (possibly reloaded) policy. Its
 * authenticity was checked when it was accepted (or read from disk), so this is the config
 * lookup only.
 */
export function stillAuthorized (policy: Policy, record: SignedRecord): boolean {
  return authorization(policy, record.name, record.signer, record) === undefined
}

/**
 * Judges a candidate record against the version currently held for its name.
 * `content`, when given, is checked against the record too (steps 3). `floor`, when the
 * name has one, is the timestamp at or below which no version is accepted any more.
 */
export function judge (candidate: SignedRecord, current: SignedRecord | undefined, policy: Policy, now: number, content?: Uint8Array, floor?: number): Verdict {
  const denied = authorization(policy, candidate.name, candidate.signer, candidate, now)
  if (denied !== undefined) return denied
  const forged = authenticity(candidate)
  if (forged !== undefined) return forged
  if (candidate.size > policy.maxFileSize) {
    return refuse('too-large', `"${candidate.name}" is ${candidate.size} bytes, the limit is ${policy.maxFileSize}`)
  }
  if (content !== undefined) {
    const checkedContent = verifyContent(candidate, content)
    if ('problem' in checkedContent) return refuse('bad-content', checkedContent.problem)
  }
  if (floor !== undefined && candidate.timestamp <= floor) return { action: 'ignore', why: 'below-floor' }
  if (candidate.timestamp > now + policy.maxClockSkew) {
    return { action: 'hold', until: candidate.timestamp - policy.maxClockSkew }
  }
  // A stored version whose signer lost its key no longer counts (leaked-key recovery).
  const incumbent = current !== undefined && stillAuthorized(policy, current) ? current : undefined
  if (incumbent === undefined) return { action: 'accept' }
  const order = compareVersions(candidate, incumbent)
  if (order > 0) return { action: 'accept' }
  if (order === 0) return { action: 'ignore', why: 'identical' }
  return { action: 'ignore', why: 'not-newer' }
}

/**
 * The rule, entered once per candidate (mesh pre-check, Replica.submit, and again under
 * the store's lock for ordering only — the signature and content checks are not redone
 * for objects already checked). Against both slots of its name: the current version, and
 * the record from the future held back (a held record is compared only with records that
 * would be held too: one in the present is judged against the current version alone,
 * however far ahead the held one is — a held record never hides a current one, issue 11
 * F1). A replay or a version already stored is ignored before any crypto: a flood of
 * genuine old records costs a comparison each.
 */
export function triage (candidate: SignedRecord, current: SignedRecord | undefined, held: SignedRecord | undefined, floor: number | undefined, policy: Policy, now: number, content?: Uint8Array, usage?: QuotaUsage): Verdict {
  if (current !== undefined && stillAuthorized(policy, current)) {
    const order = compareVersions(candidate, current)
    if (order <= 0) return { action: 'ignore', why: order === 0 ? 'identical' : 'not-newer' }
  }
  const fromTheFuture = candidate.timestamp > now + policy.maxClockSkew
  if (fromTheFuture && held !== undefined && stillAuthorized(policy, held)) {
    const order = compareVersions(candidate, held)
    if (order <= 0) return { action: 'ignore', why: order === 0 ? 'identical' : 'not-newer' }
  }
  const v = judge(candidate, current, policy, now, content, floor)
  if (usage === undefined || (v.action !== 'accept' && v.action !== 'hold')) return v
  return overQuota(candidate, v.action, current, held, policy, usage) ?? v
}

/**
 * Step 6, for a version the rule would take (accept or hold): a namespace file must not
 * take its namespace or key over a quota (namespace-quota.ts). Counted net: accepted, it
 * replaces the current version (and a held one it is newer than); held, the held one.
 * Not asked when a held version is released by the clock: it was counted when it came.
 */
export function overQuota (candidate: SignedRecord, action: 'accept' | 'hold', current: SignedRecord | undefined, held: SignedRecord | undefined, policy: Policy, usage: QuotaUsage): Verdict | undefined {
  const ns = policy.quotas === undefined ? undefined : configuredNamespace(policy, candidate.name)
  if (ns === undefined) return undefined
  const replaced = action === 'hold' ? [held] : [current, held !== undefined && compareVersions(held, candidate) <= 0 ? held : undefined]
  const key = candidate.name.slice(candidate.name.lastIndexOf('/') + 1)
  const problem = quotaProblem(candidate, ns.namespace, key, replaced, current !== undefined || held !== undefined, usage, policy.quotas!, policy.namespaces)
  return problem === undefined ? undefined : refuse('over-quota', problem)
}

/**
 * Total order of versions of one name: larger timestamp wins; on equal timestamps the
 * lexicographically larger signature wins, so every node picks the same winner; should
 * two different records ever carry one signature (a weak key), the larger encoded record
 * wins. Returns >0 when a is newer, <0 when b is newer, 0 only for the very same record.
 */
export function compareVersions (a: SignedRecord, b: SignedRecord): number {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp ? 1 : -1
  const bySignature = Buffer.compare(Buffer.from(a.signature), Buffer.from(b.signature))
  if (bySignature !== 0) return bySignature
  return Buffer.compare(Buffer.from(encodeRecord(a)), Buffer.from(encodeRecord(b)))
}

/** Step 3 for content: size and sha256 must match the record. */
export function contentProblem (record: SignedRecord, content: Uint8Array): string | undefined {
  if (record.tombstone) return content.length === 0 ? undefined : 'a deletion carries no content'
  work.contentHashes++
  if (content.length !== record.size) return `content is ${content.length} bytes, the record says ${record.size}`
  if (!Buffer.from(sha256(content)).equals(record.sha256)) return `content of "${record.name}" does not match the signed sha256`
  return undefined
}

/**
 * The floor a revocation leaves (DESIGN.md §7): everything older than the revoked version
 * stays out; capped at the time of revocation, so that a version signed after the reload
 * wins even when the revoked one was dated far in the future (a leaked key). Just below
 * the revoked version, not at it: that version itself is kept out by its signer not being
 * configured, and if the key is configured again (a mistaken config push undone) that
 * validly signed version may come back, as it would on a node that never saw the mistake.
 */
export function revocationFloor (revoked: SignedRecord, now: number): number {
  return Math.min(revoked.timestamp - 1, now)
}

/**
 * The floor this node may take from `floor`, sent by a peer with `proof` (issue 19 item
 * 3), or why none. The proof must be a record of the name, validly signed, that this
 * node's own configuration revokes for the same cause — a configured file (or the
 * revocation list) whose signer this configuration once allowed and allows no more
 * (`removedAt`: when this node saw it removed), or a namespace file whose signer the
 * network's revocation list names — and the floor below the proof's timestamp and not in
 * the future. A key this node never allowed proves nothing: otherwise any admitted peer
 * could raise floors with a key it made up and so censor a name. The floor taken is at
 * most the moment this node saw the key removed: the holder of a removed (leaked) key
 * could otherwise sign a record dated far ahead and push the floor past every version
 * signed since. Cheap checks first: a signature is verified only for a signer this node
 * used to trust.
 *
 * Also justified, whatever the signer: a floor below this node's `current` version, when
 * that version is valid here (a signed newer record). Such a floor changes nothing this
 * node accepts — every version at or below it is older than the current one, and any
 * floor a later revocation or loss of that version leaves is higher — but taking it makes
 * this node's index equal to its peers' (the digest), so a node that cannot check the
 * removal (it never had the key) still agrees once a new version is signed.
 */
export function justifiedFloor (policy: Policy, floor: number, proof: SignedRecord, now: number, removedAt: (name: string, key: string) => number | undefined, current?: SignedRecord):
{ floor: number } | { problem: string } {
  const name = proof.name
  const no = (problem: string): { problem: string } => ({ problem })
  if (!acceptsName(policy, name)) return no(`"${name}" is not a name this node holds`)
  if (floor >= proof.timestamp) return no(`the floor ${floor} of "${name}" is not below its proof's timestamp ${proof.timestamp}`)
  if (floor > now + policy.maxClockSkew) return no(`the floor ${floor} of "${name}" is in the future`)
  const signer = encodeBase64Key(proof.signer)
  if (networkProblem(policy, proof) !== undefined) return no(`the proof of "${name}" is not bound to this node's network`)
  let cap = floor
  if (current !== undefined && current.name === name && current.timestamp > floor && stillAuthorized(policy, current)) {
    // below a valid current version: changes nothing here (see above); only the signature is checked
  } else if (policy.files.has(name) || name === REVOCATIONS_NAME) {
    if (authorization(policy, name, proof.signer, proof) === undefined) return no(`the signer ${signer} of the proof may sign "${name}" here: nothing to revoke`)
    const removed = removedAt(name, signer)
    if (removed === undefined) return no(`the signer ${signer} of the proof was never allowed to sign "${name}" here`)
    cap = Math.min(floor, removed)
  } else {
    const ns = configuredNamespace(policy, name)
    if (ns === undefined || !Buffer.from(ns.key).equals(proof.signer)) return no(`"${name}" may only be signed by the key it names`)
    if (policy.network?.revoked?.has(signer) !== true) return no(`the signer ${signer} of the proof is not revoked by this node's network`)
  }
  const forged = authenticity(proof)
  if (forged !== undefined && forged.action === 'refuse') return no(`the proof of "${name}": ${forged.reason}`)
  return { floor: cap }
}

export function isExpired (record: SignedRecord, now: number): boolean {
  return record.expires !== 0 && record.expires <= now
}

/** Whether the record's content belongs at files/<name> right now. */
export function isDeliverable (record: SignedRecord, now: number): boolean {
  return !record.tombstone && !isExpired(record, now)
}

/** Whether accepting the record needs its content (a tombstone or an expired version does not). */
export function needsContent (record: SignedRecord, now: number): boolean {
  return isDeliverable(record, now) && record.size > 0
}

function refuse (code: RefusalCode, reason: string): Verdict {
  return { action: 'refuse', code, reason }
}
