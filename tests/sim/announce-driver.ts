// The driver of the broadcast tree core (src/mesh/proto/tree.ts), as src/mesh/announce.ts
// and receive.ts drive it in the daemon: events in (a link up or down, a version stored,
// a message read), actions out (a write to a peer, a GRAFT to answer, a wake). What the
// daemon does with streams, this does with the network model; what it does with the
// store, with the in-memory replica; verifying and storing cost CPU (cpu.ts).
import type { TreeAction, TreeEvent, NoticeVerdict } from '../../src/mesh/proto/tree.js'
import { compareRecords, fullBytes, graftBytes, noticeBytes, varint, PRUNE_BYTES, type SimRecord } from './records.js'
import { EV, MSG, msg, type Msg, type World } from './world.js'
import type { SimNode } from './node.js'
import * as hostile from './hostile.js'
import * as turns from './turns-driver.js'
import * as judge from './judge-driver.js'

export const VIA_TREE = 1
export const VIA_SYNC = 2

/** Hands `e` to the node's tree core at simulated time `t` and carries out what it asks. */
export function treeEvent (w: World, n: SimNode, e: TreeEvent<SimRecord>, t: number): void {
  if (n.hostile) { hostile.treeEvent(w, n, e, t); return }
  const actions = n.tree.handle(e, n.local(t))
  if (actions.length > 0) act(w, n, actions, t)
}

function act (w: World, n: SimNode, actions: Array<TreeAction<SimRecord>>, t: number): void {
  for (const a of actions) {
    switch (a.kind) {
      case 'send': write(w, n, a, t); break
      case 'answer-graft': {
        // local-versions.ts answerGraft: the current version of the name, unless the peer holds it or has it queued
        const cur = n.replica.get(a.name)
        const record = cur !== undefined && !n.tree.holdsOrQueued(a.peer, cur) ? cur : undefined
        treeEvent(w, n, { kind: 'graft-answer', peer: a.peer, name: a.name, record }, t)
        break
      }
      case 'close': break // the idle stream is closed: nothing to model
      case 'wake': {
        const at = Math.max(t, n.sim(a.at))
        n.treeWake = at
        w.q.push(at, EV.TREE_WAKE, n.index, at)
        break
      }
    }
  }
}

/** One write to a peer: PRUNE, GRAFTs, full records (content inline), notices, in that order. */
function write (w: World, n: SimNode, a: Extract<TreeAction<SimRecord>, { kind: 'send' }>, t: number): void {
  const peer = Number(a.peer)
  const link = n.links.get(peer)
  if (link === undefined || !link.open) { treeEvent(w, n, { kind: 'send-failed', peer: a.peer, gone: true }, t); return }
  const c = w.costs
  const inlineMax = w.settings.announceInlineMax
  let bytes = 0
  let cost = 0
  if (a.prune) { bytes += PRUNE_BYTES; cost += c.prune }
  if (a.graftLink) { bytes += PRUNE_BYTES; cost += c.graft }
  for (const g of a.grafts) { bytes += graftBytes(g.name); cost += c.graft }
  for (const r of a.full) { bytes += fullBytes(r, inlineMax); cost += c.full }
  if (a.ihave.length > 0) {
    let nb = 0
    for (const r of a.ihave) nb += noticeBytes(r.name)
    const msgs = Math.ceil(a.ihave.length / 256)
    bytes += nb + msgs * (3 + varint(nb))
    cost += msgs * c.ihave
  }
  const departs = w.cpu.run(n.index, t, cost)
  const m = msg(MSG.TREE, n.index, peer, link, bytes)
  m.prune = a.prune
  m.graftLink = a.graftLink
  m.grafts = a.grafts.length > 0 ? a.grafts : undefined
  m.full = a.full.length > 0 ? a.full : undefined
  m.ihave = a.ihave.length > 0 ? a.ihave : undefined
  m.fullHops = a.full.length > 0 ? a.fullHops : undefined
  m.fullReshape = a.full.length > 0 ? a.fullReshape : undefined
  m.ihaveHops = a.ihave.length > 0 ? a.ihaveHops : undefined
  m.wantReshape = a.ihave.length > 0 ? a.wantReshape : undefined
  w.send(m, departs)
  w.q.push(departs, EV.TREE_SENT, n.index, 0, m)
}

/** The write left this node: the core may hand out the peer's next one. */
export function sent (w: World, n: SimNode, m: Msg, t: number): void {
  if (n.links.get(m.to) !== m.link) return // that link is gone (the core heard `down`)
  treeEvent(w, n, { kind: 'sent', peer: String(m.to) }, t)
}

/** A write from a peer, read and handled in order (announce.ts handle). */
export function receive (w: World, n: SimNode, m: Msg, t: number): void {
  if (n.hostile) { hostile.receive(w, n, m, t); return }
  const from = String(m.from)
  const local = n.local(t)
  if (m.prune) treeEvent(w, n, { kind: 'prune', from }, t)
  if (m.graftLink) treeEvent(w, n, { kind: 'graft-link', from }, t)
  if (m.grafts !== undefined) for (const g of m.grafts) treeEvent(w, n, { kind: 'graft', from, name: g.name, id: g.id }, t)
  if (m.full !== undefined) {
    for (const [i, r] of m.full.entries()) {
      if (!n.tree.withinBudget(from, local)) continue
      w.metrics.fullReceived(r)
      const sent = m.fullHops?.[i]
      const hops = sent === undefined ? undefined : sent + 1
      if (n.replica.hasAtLeast(r)) {
        treeEvent(w, n, { kind: 'known', peer: from, record: r }, t)
        const cur = n.replica.get(r.name)
        if (cur !== undefined && cur.origin === r.origin && compareRecords(r, cur) < 0) {
          turns.overtook(n, r, t) // receive.ts: overtaken on its way here
          judge.overtaken(w, n, r, cur, t) // ... within seconds of the version that overtook it: a quick supersede
        }
        // (a copy of a flooding signer's version is no redundant link: receive.ts copy())
        treeEvent(w, n, { kind: 'full', from, record: r, arrival: turns.floods(n, r, t) ? 'dropped' : 'duplicate', hops, reshape: m.fullReshape?.[i] }, t)
        continue
      }
      const arrival = take(w, n, r, m.from, t, VIA_TREE, hops, m.fullReshape?.[i])
      treeEvent(w, n, { kind: 'full', from, record: r, arrival, hops }, t)
    }
  }
  if (m.ihave !== undefined && n.tree.withinBudget(from, local)) {
    const notices = m.ihave.map((r, i) => ({ notice: { name: r.name, timestamp: r.timestamp, id: r.id, hops: m.ihaveHops?.[i] }, verdict: verdictOf(n, r, t) }))
    treeEvent(w, n, { kind: 'ihave', from, notices, wantReshape: m.wantReshape }, t)
  }
}

/** local-versions.ts judgeNotice: a version this node lacks, one it holds (the notifier holds it too), or an older one. */
function verdictOf (n: SimNode, r: SimRecord, t: number): NoticeVerdict<SimRecord> {
  const cur = n.replica.get(r.name)
  const waiting = turns.waiting(n, r)
  if (waiting !== undefined) return waiting // on its way in (waiting for its signer's turn)
  if (cur !== undefined && turns.floods(n, cur, t)) return 'stale' // a flooding signer's newer version is not grafted for
  if (cur === undefined || n.replica.lacks(r.name, r.timestamp, r.serial)) return 'missing'
  return cur.serial === r.serial ? { holds: cur } : 'stale'
}

/**
 * A new version from `from` (by the tree or by sync): checked, then (from the tree) its
 * signer's turn (turns-driver.ts: it may wait), taken, passed on (the daemon forwards a
 * verified version while it is being written, receive.ts), then stored. Delivered (the
 * daemon's UPDATED event) when stored. 'dropped': the same or a newer version waits already.
 */
export function take (w: World, n: SimNode, r: SimRecord, from: number, t: number, via: number, hops?: number, reshape?: boolean, admitted = false): 'new' | 'dropped' {
  // a judged flooder's version: dropped unchecked, or (once per its interval) checked and stored, not passed on (receive.ts);
  // `admitted`: judged already (sync-driver.ts, before it fetched the version)
  if (!admitted && judge.admit(w, n, r, t, via === VIA_TREE) === 'drop') return 'dropped'
  const verified = w.cpu.run(n.index, t, w.costs.verify)
  judge.checked(w, n, r, verified)
  // judged, or suspected and brought by anti-entropy: stored, not passed on (else each node's
  // sync rounds would feed the flood back into the tree: receive.ts)
  if (judge.judged(n, r, verified) || (via !== VIA_TREE && judge.suspected(n, r, verified))) { keep(w, n, r, from, verified, via); return 'dropped' }
  if (via === VIA_TREE) {
    treeEvent(w, n, { kind: 'known', peer: String(from), record: r }, t) // receive.ts: markKnown before the turn
    const turn = turns.admit(w, n, r, from, verified, via, hops)
    if (turn === 'superseded') return 'dropped'
    // (a flooding signer's version moves no link: receive.ts arrival())
    if (turns.floods(n, r, t)) { if (turn === 'now') takeChecked(w, n, r, from, t, verified, via, hops); return 'dropped' }
    if (turn === 'queued') return 'new'
  }
  takeChecked(w, n, r, from, t, verified, via, hops, reshape)
  return 'new'
}

/** A checked new version whose turn came: taken, passed on, stored. */
export function takeChecked (w: World, n: SimNode, r: SimRecord, from: number, t: number, verified: number, via: number, hops?: number, reshape?: boolean): void {
  n.replica.offer(r)
  const peer = String(from)
  treeEvent(w, n, { kind: 'known', peer, record: r }, t)
  treeEvent(w, n, { kind: 'stored', record: r, except: peer, hops, quiet: turns.quiet(n, r, verified), reshape }, verified)
  const stored = w.cpu.run(n.index, verified, w.costs.store)
  if (r.update >= 0) w.metrics.delivered(r, n.index, stored, via === VIA_TREE ? w.metrics.hopOf(r.update, from) + 1 : 0, via)
}

/** A checked version of a judged flooder: stored, but not passed on (no 'stored' event for the tree: anti-entropy spreads it). */
function keep (w: World, n: SimNode, r: SimRecord, from: number, verified: number, via: number): void {
  if (!n.replica.offer(r)) return
  treeEvent(w, n, { kind: 'known', peer: String(from), record: r }, verified)
  const stored = w.cpu.run(n.index, verified, w.costs.store)
  if (r.update >= 0) w.metrics.delivered(r, n.index, stored, via === VIA_TREE ? w.metrics.hopOf(r.update, from) + 1 : 0, via)
}

/** The origin stored its own new version: announce it. */
export function storedAtOrigin (w: World, n: SimNode, t: number, r: SimRecord): void {
  treeEvent(w, n, { kind: 'stored', record: r, hops: 0 }, t)
}
