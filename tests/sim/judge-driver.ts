// The judgement of flooding signers (src/mesh/proto/flood-judge.ts), driven as
// src/mesh/receive.ts drives it: a new version of a judged signer (by the tree or by
// anti-entropy) is dropped before its check unless its signer's interval came ('take':
// checked and stored, not passed on); a checked new version that replaces a version of
// the same signer (stored or waiting for its turn) tells the judge the signed gap.
import { compareRecords, type SimRecord } from './records.js'
import type { World } from './world.js'
import type { SimNode } from './node.js'

/** The signer of a simulated version: the node that made it. */
const signerOf = (r: SimRecord): string => String(r.origin)

/**
 * Whether the judge looks at `r` (receive.ts judged()): a member's own file, a namespace
 * name (a hostile member's `ns/member-<i>`, `ns2/member-<i>`…, a node's `facts/<i>`); not a file the
 * configuration names its signers for (the measured updates, the shared pointer).
 */
export function memberFile (r: SimRecord): boolean {
  return /^ns\d*\//.test(r.name) || r.name.startsWith('facts/')
}

/** Whether `r`'s signer is judged flooding at `n`. */
export function judged (n: SimNode, r: SimRecord, t: number): boolean {
  return memberFile(r) && n.judge.floods(signerOf(r), n.local(t))
}

/** A new version, before its check (FloodJudge.admit): 'drop' (its signer floods, and its interval has not come), else 'take'. `tree`: it came by the tree. */
export function admit (w: World, n: SimNode, r: SimRecord, t: number, tree: boolean): 'take' | 'drop' {
  if (!suspected(n, r, t)) return 'take'
  const a = n.judge.admit(signerOf(r), n.local(t), tree, { name: r.name, id: String(r.serial) }) === 'drop' ? 'drop' : 'take'
  if (a === 'take' && tree && !judged(n, r, t)) return a // suspected, by the tree: as usual
  if (a === 'drop') w.metrics.floodDropped++
  else w.metrics.floodKept++
  return a
}

/** Whether `r`'s signer is suspected (or judged) at `n`. */
export function suspected (n: SimNode, r: SimRecord, t: number): boolean {
  return memberFile(r) && n.judge.suspects(signerOf(r), n.local(t))
}

/** A checked new version: the gap to the version of its name it replaces here, when the same signer signed both. */
export function checked (w: World, n: SimNode, r: SimRecord, t: number): void {
  let prev = n.replica.get(r.name)
  for (const p of n.turns.waitingFor(r.name)) if (prev === undefined || p.r.timestamp > prev.timestamp) prev = p.r
  if (!memberFile(r) || prev === undefined || prev.origin !== r.origin || compareRecords(r, prev) <= 0) return // (the same version waiting: no supersede)
  superseded(w, n, r, r.timestamp - prev.timestamp, t)
}

/**
 * A copy of `r` came after `newer`, a newer version of its name by the same signer
 * (receive.ts: overtaken on its way here; its signature checked there while the signer is
 * not judged): the signer signed both, `newer` so many ms after.
 */
export function overtaken (w: World, n: SimNode, r: SimRecord, newer: SimRecord, t: number): void {
  if (!memberFile(r) || judged(n, r, t)) return
  superseded(w, n, r, newer.timestamp - r.timestamp, t)
}

function superseded (w: World, n: SimNode, r: SimRecord, gap: number, t: number): void {
  if (gap < w.settings.floodQuickGap && w.nodes[r.origin]?.hostile !== true) w.metrics.quickHonest++
  if (!n.judge.superseded(signerOf(r), gap, n.local(t))) return
  if (w.nodes[r.origin]?.hostile === true) w.metrics.judgedHostile++
  else w.metrics.judgedHonest++
}

