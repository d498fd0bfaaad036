// The driver of the overlay core (src/mesh/proto/overlay.ts), as src/mesh/membership.ts
// and peer-exchange.ts drive it in the daemon: dials and hang-ups become connections in
// the network model; connection events go back to the core. The admission limits that
// the daemon's libp2p and connection-limits.ts apply to inbound connections are applied
// here in the same order (total connections, strangers, connections per peer).
//
// A dial takes a TCP and Noise handshake (1.5 round trips) to reach the other end, which
// accepts or refuses it; the answer takes another one-way trip. Identify is folded into
// the handshake (both ends hear `connected` and `identified` together). A dial to a node
// that is down is refused after a round trip; a dial across a partition times out
// (dialTimeout).
import type { DialTarget, OverlayAction, OverlayEvent } from '../../src/mesh/proto/overlay.js'
import { EV, MSG, msg, type Msg, type World } from './world.js'
import type { SimNode } from './node.js'
import * as announce from './announce-driver.js'
import * as sync from './sync-driver.js'

export interface Dial { from: number, to: number, target: DialTarget, ok: boolean }

export function start (w: World, n: SimNode, t: number): void {
  act(w, n, n.overlay.start(n.local(t)), t)
  schedulePx(w, n, t)
}

export function overlayEvent (w: World, n: SimNode, e: OverlayEvent, t: number): void {
  act(w, n, n.overlay.handle(e, n.local(t)), t)
}

function targetNode (target: DialTarget): number {
  if ('bootstrap' in target) return Number(target.bootstrap.slice(4))
  if ('peer' in target) return Number(target.peer)
  return Number(target.candidate)
}

function act (w: World, n: SimNode, actions: OverlayAction[], t: number): void {
  for (const a of actions) {
    switch (a.kind) {
      case 'dial': dial(w, n, a.target, t); break
      case 'hang-up': {
        // libp2p's hangUp resolves later: the disconnect reaches the core after this batch
        // of actions (its wake included), as in the daemon, never inside it
        w.at(t, at => {
          if (!n.alive) return
          const link = n.links.get(Number(a.peer))
          if (link !== undefined) w.closeLink(link, at, true)
          else overlayEvent(w, n, { kind: 'disconnected', peer: a.peer }, at) // already gone: the core must hear of it
        })
        break
      }
      case 'trim-extra-connections': trimExtra(w, n, a.count, t); break
      case 'forget': break // libp2p's peer store: nothing to model
      case 'member': n.members.add(Number(a.peer)); break
      case 'wake': {
        const at = Math.max(t, n.sim(a.at))
        n.overlayWake = at
        w.q.push(at, EV.OVERLAY_WAKE, n.index, at)
        break
      }
    }
  }
}

function dial (w: World, n: SimNode, target: DialTarget, t: number): void {
  const to = targetNode(target)
  const d: Dial = { from: n.index, to, target, ok: false }
  w.metrics.dials++
  if (to === n.index) { w.q.push(t, EV.DIAL_RESULT, n.index, 0, d); return } // a self-dial fails at once
  const lat = w.net.latency(n.index, to)
  const handshake = w.cpu.run(n.index, t, w.costs.handshake)
  if (!w.reachable(n.index, to)) { w.q.push(t + w.settings.dialTimeout, EV.DIAL_RESULT, n.index, 0, d); return }
  if (!w.nodes[to].alive) { w.q.push(handshake + 2 * lat, EV.DIAL_RESULT, n.index, 0, d); return }
  w.q.push(handshake + 3 * lat, EV.DIAL_ARRIVE, to, 0, d)
}

/** The dial reached its target: admitted (libp2p maxConnections, connection-limits.ts) or refused. */
export function dialArrive (w: World, n: SimNode, t: number, d: Dial): void {
  const s = w.settings
  const dialer = w.nodes[d.from]
  const lat = w.net.latency(d.from, d.to)
  let total = 0; let strangers = 0
  for (const [peer, l] of n.links) {
    total += l.connections
    if (!n.isMember(peer)) for (const who of l.dialer) if (who === peer) strangers++
  }
  const existing = n.links.get(d.from)
  const ok = dialer.alive && w.reachable(d.from, d.to) &&
    total < s.maxConnections &&
    (n.isMember(d.from) || strangers < s.maxStrangerConnections) &&
    (existing === undefined || existing.connections < s.maxConnectionsPerPeer)
  if (!ok) { w.metrics.refused++; w.q.push(t + lat, EV.DIAL_RESULT, d.from, 0, d); return }
  const done = w.cpu.run(n.index, t, w.costs.handshake)
  const link = w.connect(d.from, d.to, t)
  d.ok = true
  if (opened(w, n, link.other(n.index), false, done)) identified(w, n, d.from, done)
  w.q.push(done + lat, EV.DIAL_RESULT, d.from, 0, d)
}

/** The dialer hears the answer. */
export function dialResult (w: World, n: SimNode, t: number, d: Dial): void {
  const link = n.links.get(d.to)
  const ok = d.ok && link !== undefined && link.open
  if (!ok) {
    overlayEvent(w, n, { kind: 'dial-done', target: d.target, ok: false, self: d.to === n.index && 'bootstrap' in d.target ? true : undefined }, t)
    return
  }
  n.members.add(d.to) // a peer this node dialed vouches for itself (known-members.ts)
  // libp2p: peer:connect, then the dial resolves, then identify completes
  const first = opened(w, n, d.to, true, t)
  overlayEvent(w, n, { kind: 'dial-done', target: d.target, ok: true, answeredBy: String(d.to) }, t)
  if (first) identified(w, n, d.to, t)
  // on every new outbound connection: a sync round and a peer exchange (index.ts)
  sync.startRound(w, n, d.to, t)
  askPeers(w, n, d.to, t)
}

/** A connection to `peer` opened at this end; true when it is the first (the link is new to both cores). */
function opened (w: World, n: SimNode, peer: number, outbound: boolean, t: number): boolean {
  const link = n.links.get(peer)!
  const id = String(peer)
  if (link.told(n.index)) {
    overlayEvent(w, n, { kind: 'connections', peer: id, connections: link.connections, newestOpenedAt: n.local(link.newestOpenedAt()) }, t)
    return false
  }
  link.tell(n.index)
  overlayEvent(w, n, { kind: 'connected', peer: id, outbound, connections: link.connections, newestOpenedAt: n.local(link.newestOpenedAt()) }, t)
  announce.treeEvent(w, n, { kind: 'up', peer: id }, t)
  w.metrics.peersChanged(w, n.index)
  return true
}

function identified (w: World, n: SimNode, peer: number, t: number): void {
  const link = n.links.get(peer)
  if (link === undefined || !link.open) return
  overlayEvent(w, n, { kind: 'identified', peer: String(peer), hasAddresses: true, dialedByUs: link.dialedBy(n.index) }, t)
}

/** membership.ts trimDuplicates: second (third…) connections to one peer, newest first, past trimGrace. */
function trimExtra (w: World, n: SimNode, count: number, t: number): void {
  const grace = w.settings.trimGrace
  for (const link of [...n.links.values()]) {
    while (count > 0 && link.connections > 1) {
      let k = 0
      for (let i = 1; i < link.opened.length; i++) if (link.opened[i] > link.opened[k]) k = i
      if (t - link.opened[k] <= grace) break
      link.opened.splice(k, 1)
      link.dialer.splice(k, 1)
      count--
      for (const end of [link.a, link.b]) {
        const e = w.nodes[end]
        if (e.alive && link.told(end)) overlayEvent(w, e, { kind: 'connections', peer: String(link.other(end)), connections: link.connections, newestOpenedAt: e.local(link.newestOpenedAt()) }, t)
      }
    }
  }
}

// --- peer exchange (peer-exchange.ts) ----------------------------------------------

function schedulePx (w: World, n: SimNode, t: number): void {
  const at = t + n.px.delay(n.overlay.short())
  n.pxTick = at
  w.q.push(at, EV.PX_TICK, n.index, at)
}

/** Every peerExchangeInterval (backed off while answers teach nothing: proto/exchange-schedule.ts): ask a random connected peer that vouches. */
export function pxTick (w: World, n: SimNode, t: number): void {
  const eligible: number[] = []
  for (const peer of n.links.keys()) if (n.vouches(peer)) eligible.push(peer)
  if (eligible.length > 0) askPeers(w, n, eligible[Math.floor(n.random() * eligible.length)], t)
  schedulePx(w, n, t)
}

function askPeers (w: World, n: SimNode, peer: number, t: number): void {
  const link = n.links.get(peer)
  if (link === undefined) return
  w.send(msg(MSG.PX_REQ, n.index, peer, link, 1), w.cpu.run(n.index, t, w.costs.peersMessage))
}

/** The peer-exchange answer to `peer` was written (as peer-exchange.ts reports it once its write side is closed). */
export function served (w: World, n: SimNode, peer: number, t: number): void {
  if (n.links.get(peer)?.open === true) overlayEvent(w, n, { kind: 'served', peer: String(peer) }, t)
}

export function receive (w: World, n: SimNode, m: Msg, t: number): void {
  if (m.kind === MSG.PX_REQ) {
    // a random sample of its connected peers, not the asker
    const all = [...n.links.keys()].filter(p => p !== m.from)
    const max = w.settings.peerExchangeMaxPeers
    for (let i = all.length - 1; i > 0; i--) { const j = Math.floor(n.random() * (i + 1)); const x = all[i]; all[i] = all[j]; all[j] = x }
    const list = all.slice(0, max)
    const r = msg(MSG.PX_RESP, n.index, m.from, m.link, 16 + list.length * 110)
    r.peers = list
    const sent = w.cpu.run(n.index, t, w.costs.peersMessage)
    // the answer is written: the core hears it (peer-exchange.ts's onServed, membership.ts served)
    if (w.send(r, sent)) w.q.push(sent, EV.PX_SERVED, n.index, m.from)
    return
  }
  // a stranger's list is not used (membership.ts learn), and teaches nothing
  if (!n.vouches(m.from) || m.peers === undefined) { n.px.answered(false); return }
  n.px.answered(n.overlay.teaches(m.peers.map(String)))
  overlayEvent(w, n, { kind: 'learned', from: String(m.from), peers: m.peers.map(p => ({ peer: String(p), addrs: [`sim:${p}`] })) }, t)
}
