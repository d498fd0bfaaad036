// A hostile member (issue 23: 5% of the nodes): admitted like any other (it runs the real
// overlay core, so it connects and is connected to), but in the broadcast tree it
//  - prunes every link: a PRUNE on every new link and in answer to every full record, so
//    its peers send it notices only, and it passes nothing on;
//  - announces without serving: every notice it hears it repeats at once to all its other
//    peers (no notice delay, so it is often the first notifier of a version a node lacks),
//    and it never answers a GRAFT;
//  - answers no anti-entropy round and serves no content (the initiator gives up after
//    syncStallTimeout and tries another peer: sync-schedule.ts).
// This is the adversary, not a tree: it runs no TreeCore.
import type { TreeEvent } from '../../src/mesh/proto/tree.js'
import { fullBytes, idOf, noticeBytes, PRUNE_BYTES, varint, type SimRecord } from './records.js'
import { MSG, msg, type Msg, type World } from './world.js'
import type { SimNode } from './node.js'

export function treeEvent (w: World, n: SimNode, e: TreeEvent<SimRecord>, t: number): void {
  if (e.kind === 'up') prune(w, n, Number(e.peer), t)
}

function prune (w: World, n: SimNode, peer: number, t: number): void {
  const link = n.links.get(peer)
  if (link === undefined) return
  const m = msg(MSG.TREE, n.index, peer, link, PRUNE_BYTES)
  m.prune = true
  w.send(m, w.cpu.run(n.index, t, w.costs.prune))
}

export function receive (w: World, n: SimNode, m: Msg, t: number): void {
  if (m.full !== undefined) prune(w, n, m.from, t)
  if (m.ihave === undefined) return
  const fresh = m.ihave.filter(r => !n.replica.hasAtLeast(r))
  for (const r of fresh) n.replica.offer(r) // remembered, so each version is repeated once
  if (fresh.length === 0) return
  let bytes = 3
  for (const r of fresh) bytes += noticeBytes(r.name)
  bytes += varint(bytes)
  for (const [peer, link] of n.links) {
    if (peer === m.from) continue
    const out = msg(MSG.TREE, n.index, peer, link, bytes)
    out.ihave = fresh
    out.ihaveHops = fresh.map(() => 0) // it claims to be next to the origin, so that it is asked first
    w.send(out, w.cpu.run(n.index, t, w.costs.ihave))
  }
}

/**
 * Floods its namespace: a new version of its own file, sent as a full record to every
 * peer at once (valid: a namespace member may sign its own files; the quotas bound names
 * and bytes, not the rate). Honest nodes take it, pass it down their tree and store it.
 */
export function flood (w: World, n: SimNode, t: number, k = 0): void {
  if (!n.alive) return
  const serial = w.nextSerial++
  const r: SimRecord = { name: k === 0 ? `ns/member-${n.index}` : `ns${k}/member-${n.index}`, timestamp: Math.round(n.local(t)), serial, id: idOf(serial), size: 1024, update: -1, origin: n.index, publishedAt: t }
  for (const [peer, link] of n.links) {
    const m = msg(MSG.TREE, n.index, peer, link, fullBytes(r, w.settings.announceInlineMax))
    m.full = [r]
    w.send(m, w.cpu.run(n.index, t, w.costs.full))
  }
}
