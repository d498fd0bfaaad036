// Anti-entropy as src/mesh/sync.ts runs it, over the in-memory replica: every
// sync_interval (±20%) a node starts a round with a random connected peer, unless it has
// just answered one, and on every new outbound connection; the daemon's own core
// (proto/sync-schedule.ts SyncSchedule) decides when and with whom: a round fails when
// the peer is silent for syncStallTimeout (or the whole round passes syncTimeout), the
// timer then starts a round with another peer at once, and the failed peer is backed off.
// A round: the initiator's digest; the responder answers "equal"
// or a summary of its index (one entry per name); the initiator sends the records the
// responder lacks and the ids it wants; the responder sends those. A responder answers a
// peer at most syncAnswerBurst rounds, then one per syncAnswerInterval (the daemon's
// TokenBuckets). Records a round brings are fetched from the peer (fetch.ts: content by
// record id) and then checked and stored like a record from the tree, and announced on.
// Bytes are counted as sync/5.0.0 (and 4.0.0) frames them (floors: none in these scenarios).
import { SyncSchedule, type RoundOutcome } from '../../src/mesh/proto/sync-schedule.js'
import { recordBytes, summaryEntryBytes, ID_BYTES, varint, type SimRecord } from './records.js'
import { EV, MSG, msg, type Msg, type World } from './world.js'
import type { SimNode } from './node.js'
import * as announce from './announce-driver.js'
import * as judge from './judge-driver.js'

export function start (w: World, n: SimNode, t: number): void {
  const s = w.settings
  n.syncSchedule = new SyncSchedule({ interval: w.syncInterval, backoff: s.syncBackoff, backoffMax: s.syncBackoffMax, maxPeers: s.maxConnections }, n.random)
  schedule(w, n, t)
}

function schedule (w: World, n: SimNode, t: number): void {
  const at = t + n.syncSchedule.arm()
  n.syncTick = at
  w.q.push(at, EV.SYNC_TICK, n.index, at)
}

/** The peers the timer may pick: linked, no round with them under way (as the core names peers: strings). */
function candidates (n: SimNode): string[] {
  const out: string[] = []
  for (const peer of n.links.keys()) if (!n.rounds.has(peer)) out.push(String(peer))
  return out
}

export function tick (w: World, n: SimNode, t: number): void {
  n.syncTick = 0
  const d = n.syncSchedule.tick(candidates(n), n.local(t))
  if (d.kind === 'skip') { w.metrics.syncSkipped++; schedule(w, n, t); return }
  if (d.kind === 'none') { schedule(w, n, t); return }
  n.timerRound = startRound(w, n, Number(d.peer), t)
  if (n.timerRound === 0) schedule(w, n, t)
}

/** Starts a round with `peer`; returns its id (0: none started). */
export function startRound (w: World, n: SimNode, peer: number, t: number): number {
  const link = n.links.get(peer)
  if (link === undefined || n.rounds.has(peer)) return 0
  const round = w.nextRound++
  n.rounds.set(peer, round)
  n.roundTimes.set(peer, { started: t, heard: t })
  if (!n.hostile) w.metrics.syncRounds++ // the figures: rounds honest nodes initiated
  const m = msg(MSG.SYNC_DIGEST, n.index, peer, link, 1 + 32 + 4)
  m.round = round
  m.digest = n.replica.digest
  w.send(m, w.cpu.run(n.index, t, w.costs.syncMessage))
  w.q.push(t + Math.min(w.settings.syncTimeout, w.settings.syncStallTimeout), EV.SYNC_TIMEOUT, n.index, round, peer)
  return round
}

/** How long `n`'s timer round has been under way at `t` (0: none): at the end of a run, a round still waiting on a silent peer. */
export function timerWaiting (n: SimNode, t: number): number {
  if (n.timerRound === 0) return 0
  for (const [peer, round] of n.rounds) if (round === n.timerRound) return t - n.roundTimes.get(peer)!.started
  return 0
}

/** A message of the round with `peer` arrived: the peer made progress (the stall timeout starts over). */
function heard (n: SimNode, peer: number, t: number): void {
  const times = n.roundTimes.get(peer)
  if (times !== undefined) times.heard = t
}

/** The round with `peer` ended; the core says whether the timer starts another at once. */
function end (w: World, n: SimNode, peer: number, round: number, t: number, outcome: RoundOutcome): void {
  if (n.rounds.get(peer) !== round) return
  n.rounds.delete(peer)
  n.roundTimes.delete(peer)
  const byTimer = n.timerRound === round
  const next = n.syncSchedule.ended(String(peer), outcome, n.local(t), byTimer, byTimer ? candidates(n) : [])
  if (!byTimer) return
  n.timerRound = 0
  if (next !== undefined) {
    if (!n.hostile) w.metrics.syncRetried++
    n.timerRound = startRound(w, n, Number(next), t)
  }
  if (n.timerRound === 0) schedule(w, n, t)
}

/** The round's stall or whole deadline may have passed (sync.ts: StreamReader's stall, the round's syncTimeout). */
export function timeout (w: World, n: SimNode, t: number, round: number, peer: number): void {
  if (n.rounds.get(peer) !== round) return
  const times = n.roundTimes.get(peer)!
  const deadline = Math.min(times.started + w.settings.syncTimeout, times.heard + w.settings.syncStallTimeout)
  if (t < deadline) { w.q.push(deadline, EV.SYNC_TIMEOUT, n.index, round, peer); return }
  if (!n.hostile) w.metrics.syncRoundFailed(t - times.started, n.timerRound === round)
  end(w, n, peer, round, t, 'failed')
}

/** The link to `peer` closed: a round with it fails now (its stream is reset). */
export function linkDown (w: World, n: SimNode, peer: number, t: number): void {
  const round = n.rounds.get(peer)
  if (round !== undefined) {
    if (!n.hostile) w.metrics.syncRoundFailed(t - n.roundTimes.get(peer)!.started, n.timerRound === round)
    end(w, n, peer, round, t, 'failed')
  }
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
      if (m.digest === n.replica.digest) { reply(w, n, m, MSG.SYNC_EQUAL, 2, t); n.syncSchedule.answered(); return }
      const summary = n.replica.records()
      let bytes = 2
      for (const r of summary) bytes += summaryEntryBytes(r.name)
      reply(w, n, m, MSG.SYNC_SUMMARY, bytes + 1, t).records = summary
      return
    }
    case MSG.SYNC_EQUAL: w.metrics.syncEqual++; end(w, n, m.from, m.round, t, 'equal'); return
    // closed unanswered (the peer's answer budget): sync.ts reads no answer, a failed round
    case MSG.SYNC_CLOSED: w.metrics.syncPaced++; end(w, n, m.from, m.round, t, 'failed'); return
    case MSG.SYNC_SUMMARY: {
      if (n.rounds.get(m.from) !== m.round) return // the round failed already (stalled past the deadline): its stream is gone
      heard(n, m.from, t)
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
      n.syncSchedule.answered()
      w.metrics.syncRecords += wanted.length
      return
    }
    case MSG.SYNC_WANTED:
      if (n.rounds.get(m.from) !== m.round) return // the round failed already: its stream is gone
      offer(w, n, m.records!, m.from, m.link, t)
      end(w, n, m.from, m.round, t, 'exchanged')
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
      if (n.replica.lacks(r.name, r.timestamp, r.serial)) announce.take(w, n, r, m.from, t, announce.VIA_SYNC, undefined, undefined, true)
    }
  }
}

/** Records a sync round brought: the new ones are fetched from the peer (content by record id), once per version. */
function offer (w: World, n: SimNode, records: SimRecord[], from: number, link: Msg['link'], t: number): void {
  for (const r of records) {
    if (!n.replica.lacks(r.name, r.timestamp, r.serial) || n.fetching.get(r.name)?.serial === r.serial) continue
    if (judge.admit(w, n, r, t, false) === 'drop') continue // a judged flooder's, not its interval yet: not fetched (receive.ts: dropped before its check)
    n.fetching.set(r.name, { serial: r.serial, peer: from })
    const req = msg(MSG.FETCH_REQ, n.index, from, link, 40 + ID_BYTES)
    req.records = [r]
    w.send(req, w.cpu.run(n.index, t, w.costs.syncMessage))
  }
}
