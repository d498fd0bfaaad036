// The turns of new versions per signer (src/mesh/proto/signer-turns.ts), driven as
// src/mesh/receive.ts drives them: a new version the tree brought, once checked (its CPU
// charged), goes on at once while the node-wide bucket holds a token and nothing waits;
// else it waits (the newest per name) for its signer's turn, taken (passed on and stored)
// when the core's wake comes. A waiting version counts as on its way in: a notice of it
// (or of an older version) is not a miss. Anti-entropy's records do not wait (receive.ts).
import { SignerTurns, type SignerTurnsSettings } from '../../src/mesh/proto/signer-turns.js'
import { compareRecords, type SimRecord } from './records.js'
import type { World } from './world.js'
import type { SimNode } from './node.js'
import * as announce from './announce-driver.js'
import * as judge from './judge-driver.js'

/** A version waiting for its signer's turn, and where it came from. */
export interface Turn { r: SimRecord, from: number, via: number, hops: number | undefined }

export function turnsFor (settings: SignerTurnsSettings): SignerTurns<Turn> {
  return new SignerTurns<Turn>(settings, (a, b) => compareRecords(a.r, b.r))
}

/** The signer of a simulated version: the node that made it. */
const signerOf = (r: SimRecord): string => String(r.origin)

/** A checked new version: 'now' (take it), 'queued' (it waits; taken later) or 'superseded' (it, or a newer one, waits already). */
export function admit (w: World, n: SimNode, r: SimRecord, from: number, t: number, via: number, hops: number | undefined): 'now' | 'queued' | 'superseded' {
  const { verdict, dropped } = n.turns.offer(signerOf(r), r.name, { r, from, via, hops }, n.local(t))
  if (dropped !== undefined) w.metrics.turnDropped++
  if (verdict === 'queued') { w.metrics.waited++; arm(w, n, t) }
  return verdict
}

/** Whether the version (name, timestamp, serial) or a newer one of its name waits for its signer's turn. */
export function waits (n: SimNode, name: string, timestamp: number, serial: number): boolean {
  for (const p of n.turns.waitingFor(name)) {
    if (p.r.timestamp > timestamp || (p.r.timestamp === timestamp && p.r.serial >= serial)) return true
  }
  return false
}

/** local-versions.ts judgeNotice for a version that waits: the notifier holds what waits here ({ holds }), an older one is stale. */
export function waiting (n: SimNode, r: SimRecord): { holds: SimRecord } | 'stale' | undefined {
  for (const p of n.turns.waitingFor(r.name)) {
    if (p.r.serial === r.serial) return { holds: p.r }
    if (compareRecords(p.r, r) > 0) return 'stale'
  }
  return undefined
}

/** A copy of `r` came after a newer version of its name (receive.ts: overtaken on its way). */
export function overtook (n: SimNode, r: SimRecord, t: number): void { n.turns.overtook(signerOf(r), n.local(t)) }

/**
 * Whether `r`'s signer floods (receive.ts floods(): a second copy of its version prunes no
 * link, a new one makes none eager, a newer one is not grafted for): marked here (its
 * versions waited or were overtaken), or suspected by the judge (proto/flood-judge.ts: a
 * quick supersede lately). Whether it gets notices: quiet() below.
 */
export function floods (n: SimNode, r: SimRecord, t: number): boolean {
  return n.turns.floods(signerOf(r), n.local(t)) || judge.suspected(n, r, t)
}

/** Whether lazy links hear nothing of `r` (receive.ts quiet()): its signer is marked here, or judged flooding; a suspect's versions still get their notices. */
export function quiet (n: SimNode, r: SimRecord, t: number): boolean {
  return n.turns.floods(signerOf(r), n.local(t)) || judge.judged(n, r, t)
}

function arm (w: World, n: SimNode, t: number): void {
  const at = n.turns.wake(n.local(t))
  if (at === undefined) return
  const simAt = Math.max(t, n.sim(at))
  if (simAt >= n.turnWake) return
  n.turnWake = simAt
  w.at(simAt, now => {
    if (!n.alive || n.turnWake !== simAt) return // stale: a sooner wake replaced it
    n.turnWake = Infinity
    release(w, n, now)
  })
}

/** receive.ts releaseTurns: the versions whose turn came are taken, unless the same or a newer one came meanwhile. */
function release (w: World, n: SimNode, t: number): void {
  for (const p of n.turns.due(n.local(t))) {
    if (!n.replica.lacks(p.r.name, p.r.timestamp, p.r.serial)) continue
    announce.takeChecked(w, n, p.r, p.from, t, t, p.via, p.hops)
  }
  arm(w, n, t)
}
