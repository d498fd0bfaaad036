// Anti-entropy as src/mesh/sync.ts runs it, over the in-memory replica: every
// sync_interval (±20%) a node starts a round with a random connected peer, unless it has
// just answered one (sync-schedule.ts shouldSkip, the daemon's own function), and on every
// new outbound connection. A round: the initiator's digest; the responder answers "equal"
// or a summary of its index (one entry per name); the initiator sends the records the
// responder lacks and the ids it wants; the responder sends those. A responder answers a
// peer at most syncAnswerBurst rounds, then one per syncAnswerInterval (the daemon's
// TokenBuckets). Records a round brings are fetched from the peer (fetch.ts: content by
// record id) and then checked and stored like a record from the tree, and announced on.
// Bytes are counted as sync/4.0.0 frames them (floors: none in these scenarios).
import { shouldSkip } from '../../src/mesh/proto/sync-schedule.js'
import { jitterWith } from '../../src/mesh/proto/random.js'
import { recordBytes, summaryEntryBytes, ID_BYTES, varint, type SimRecord } from './records.js'
import { EV, MSG, msg, type Msg, type World } from './world.js'
import type { SimNode } from './node.js'
import * as announce from './announce-driver.js'

export function start (w: World, n: SimNode, t: number): void { schedule(w, n, t) }

function schedule (w: World, n: SimNode, t: number): void {
  n.answeredSinceArmed = false
  const at = t + jitterWith(n.random, w.syncInterval, 0.2)
  n.syncTick = at
  w.q.push(at, EV.SYNC_TICK, n.index, at)
}

export function tick (w: World, n: SimNode, t: number): void {
  n.syncTick = 0
  if (shouldSkip({ answeredSinceArmed: n.answeredSinceArmed, skippedLast: n.skippedLast })) {
    n.skippedLast = true
    w.metrics.syncSkipped++
    schedule(w, n, t)
    return
  }
  n.skippedLast = false
  const eligible: number[] = []
  for (const peer of n.links.keys()) if (!n.rounds.has(peer)) eligible.push(peer)
  if (eligible.length === 0) { schedule(w, n, t); return }
  const peer = eligible[Math.floor(n.random() * eligible.length)]
  n.timerRound = startRound(w, n, peer, t)
  if (n.timerRound === 0) schedule(w, n, t)
}

/** Starts a round with `peer`; returns its id (0: none started). */
export function startRound (w: World, n: SimNode, peer: number, t: number): number {
  const link = n.links.get(peer)
  if (link === undefined || n.rounds.has(peer)) return 0
  const round = w.nextRound++
  n.rounds.set(peer, round)
  w.metrics.syncRounds++
  const m = msg(MSG.SYNC_DIGEST, n.index, peer, link, 1 + 32 + 4)
  m.round = round
  m.digest = n.replica.digest
  w.send(m, w.cpu.run(n.index, t, w.costs.syncMessage))
  w.q.push(t + w.settings.syncTimeout, EV.SYNC_TIMEOUT, n.index, round, peer)
  return round
}

function end (w: World, n: SimNode, peer: number, round: number, t: number): void {
  if (n.rounds.get(peer) !== round) return
  n.rounds.delete(peer)
  if (n.timerRound === round) { n.timerRound = 0; schedule(w, n, t) }
}

export function timeout (w: World, n: SimNode, t: number, round: number, peer: number): void {
  if (n.rounds.get(peer) === round) w.metrics.syncFailed++
  end(w, n, peer, round, t)
}

/** The link to `peer` closed: a round with it fails now (its stream is reset). */
export function linkDown (w: World, n: SimNode, peer: number, t: number): void {
  const round = n.rounds.get(peer)
  if (round !== undefined) { w.metrics.syncFailed++; end(w, n, peer, round, t) }
  for (const [name, f] of n.fetching) if (f.peer === peer) n.fetching.delete(name) // a fetch from it fails too
}

function reply (w: World, n: SimNode, m: Msg, kind: number, bytes: number, t: number): Msg {
  const r = msg(kind, n.index, m.from, m.link, bytes)
  r.round = m.round
  w.send(r, w.cpu.run(n.index, t, w.costs.syncMessage))
  return r
}

export function receive (w: World, n: SimNode, m: Msg, t: number): void {
  if (n.hostile) return // a hostile member answers no sync and serves no content: the initiator times out
  n.clock = n.local(t)
  switch (m.kind) {
    case MSG.SYNC_DIGEST: {
      if (n.syncAnswers.take(String(m.from)) === 0) { reply(w, n, m, MSG.SYNC_CLOSED, 0, t); return }
      if (m.digest === n.replica.digest) { reply(w, n, m, MSG.SYNC_EQUAL, 2, t); n.answeredSinceArmed = true; return }
      const summary = n.replica.records()
      let bytes = 2
      for (const r of summary) bytes += summaryEntryBytes(r.name)
      reply(w, n, m, MSG.SYNC_SUMMARY, bytes + 1, t).records = summary
      return
    }
    case MSG.SYNC_EQUAL: w.metrics.syncEqual++; end(w, n, m.from, m.round, t); return
    case MSG.SYNC_CLOSED: end(w, n, m.from, m.round, t); return
    case MSG.SYNC_SUMMARY: {
      // what the responder lacks (lacking(): absent there, or older there), and what it has that this node lacks
      const theirs = new Map<string, SimRecord>()
      for (const r of m.records!) theirs.set(r.name, r)
      const give: SimRecord[] = []
      for (const r of n.replica.byName.values()) {
        const o = theirs.get(r.name)
        if (o === undefined || o.timestamp < r.timestamp || (o.timestamp === r.timestamp && o.serial < r.serial)) give.push(r)
      }
      const wants: SimRecord[] = []
      for (const r of m.records!) if (n.replica.lacks(r.name, r.timestamp, r.serial)) wants.push(r)
      let bytes = 3
      for (const r of give) bytes += varint(recordBytes(r)) + recordBytes(r)
      bytes += wants.length * (1 + ID_BYTES)
      const out = reply(w, n, m, MSG.SYNC_RECORDS, bytes, t)
      out.records = give
      out.wants = wants
      w.metrics.syncRecords += give.length
      return
    }
    case MSG.SYNC_RECORDS: {
      offer(w, n, m.records!, m.from, m.link, t)
      const wanted: SimRecord[] = []
      for (const r of m.wants!) { const cur = n.replica.get(r.name); if (cur !== undefined && cur.serial === r.serial) wanted.push(cur) }
      let bytes = 2
      for (const r of wanted) bytes += varint(recordBytes(r)) + recordBytes(r)
      reply(w, n, m, MSG.SYNC_WANTED, bytes, t).records = wanted
      n.answeredSinceArmed = true
      w.metrics.syncRecords += wanted.length
      return
    }
    case MSG.SYNC_WANTED:
      offer(w, n, m.records!, m.from, m.link, t)
      end(w, n, m.from, m.round, t)
      return
    case MSG.FETCH_REQ: {
      const r = m.records![0]
      const resp = msg(MSG.FETCH_RESP, n.index, m.from, m.link, 40 + recordBytes(r) + r.size)
      resp.records = [r]
      w.send(resp, w.cpu.run(n.index, t, w.costs.syncMessage))
      return
    }
    case MSG.FETCH_RESP: {
      const r = m.records![0]
      if (n.fetching.get(r.name)?.serial === r.serial) n.fetching.delete(r.name)
      if (n.replica.lacks(r.name, r.timestamp, r.serial)) announce.take(w, n, r, m.from, t, announce.VIA_SYNC)
    }
  }
}

/** Records a sync round brought: the new ones are fetched from the peer (content by record id), once per version. */
function offer (w: World, n: SimNode, records: SimRecord[], from: number, link: Msg['link'], t: number): void {
  for (const r of records) {
    if (!n.replica.lacks(r.name, r.timestamp, r.serial) || n.fetching.get(r.name)?.serial === r.serial) continue
    n.fetching.set(r.name, { serial: r.serial, peer: from })
    const req = msg(MSG.FETCH_REQ, n.index, from, link, 40 + ID_BYTES)
    req.records = [r]
    w.send(req, w.cpu.run(n.index, t, w.costs.syncMessage))
  }
}
