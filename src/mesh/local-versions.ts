// What the broadcast tree (announce.ts) asks about this node's own versions: whether a
// notice names a version it lacks, and what to send a peer that grafted. Reads the
// replica and the records being offered right now; decides nothing about acceptance
// (that stays with the rule, when the full record arrives).
import { recordId, type SignedRecord } from '../crypto/record.js'
import { acceptsName, stillAuthorized } from '../rule/which-version-wins.js'
import type { ReplicaPort } from './replica-port.js'
import { type AnnounceDelegate, type NoticeVerdict } from './announce.js'
import type { Notice } from './proto/tree.js'

const sameId = (r: SignedRecord | undefined, id: Uint8Array): boolean => r !== undefined && Buffer.from(recordId(r)).equals(id)

/**
 * A notice names a version this node lacks when the name is one it accepts, it has no
 * newer version, and neither that version nor a newer one is stored or on its way in.
 * Nor is a newer version of a name whose signer floods (`floods`, receive.ts): it is not
 * grafted for (each GRAFT would make a tree link eager for a version that is overtaken
 * by the time it comes); the tree brings its newest on its way, anti-entropy backs it up.
 */
export function judgeNotice (replica: ReplicaPort, incoming: (name: string) => Iterable<SignedRecord>, waiting: (name: string) => Iterable<SignedRecord> = () => [], floods: (r: SignedRecord) => boolean = () => false): (n: Notice) => NoticeVerdict {
  return (n) => {
    // a version waiting for its signer's turn (receive.ts): the notifier holds it, so it is
    // not sent that version when it is released (a late copy would be a duplicate, and prune the link)
    for (const r of waiting(n.name)) if (sameId(r, n.id)) return { holds: r }
    if (!acceptsName(replica.getPolicy(), n.name)) return 'stale'
    const current = replica.get(n.name)
    if (current !== undefined && sameId(current, n.id)) return { holds: current }
    if (current !== undefined && n.timestamp < current.timestamp) return 'stale'
    if (current !== undefined && floods(current)) return 'stale'
    if (sameId(replica.getHeld(n.name), n.id)) return 'stale'
    for (const r of incoming(n.name)) if (sameId(r, n.id) || n.timestamp < r.timestamp) return 'stale' // (or a newer one: e.g. waiting for its signer's turn)
    return 'missing'
  }
}

/**
 * A peer grafted (name, id): it gets the current version (the one it asked for, or a newer
 * one), small content inline — unless `skip` says it needs none, asked before the read.
 */
export function answerGraft (replica: ReplicaPort, inlineMax: number): AnnounceDelegate['forGraft'] {
  return async (name, _id, skip) => {
    const record = replica.get(name)
    if (record === undefined || skip(record) || !stillAuthorized(replica.getPolicy(), record)) return undefined
    if (record.size === 0) return { record, content: new Uint8Array(0) }
    if (record.size > inlineMax) return { record } // the peer fetches it
    const got = await replica.readContent(name)
    return got !== undefined && got.record === record ? got : { record }
  }
}
