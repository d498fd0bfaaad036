// /data-mesher/sync/5.0.0 and 4.0.0 — anti-entropy. Repairs whatever eager spread missed (a node
// that was offline, a lost announcement, a partition): on every new outbound connection
// and every sync_interval (jittered ±20%) with one random peer, except right after
// answering a round (never twice in a row). When and with whom is decided by the core,
// proto/sync-schedule.ts: a peer silent or stalled for syncStallTimeout fails the round
// (not only the whole round's syncTimeout), the timer then tries another peer at once,
// and the failed one is backed off. Only the records that
// differ cross the wire (3.0.0; 2.0.0 sent the responder's whole index), and the floors
// (4.0.0, issue 19 item 3: a node that missed a revocation learns its floor).
//
//   initiator → frame( digest(32) u32be(count) )
//   responder → frame( u8 0 )                          equal: both close
//             | frame( u8 1 ) frame(entry)* frame()    differ: a summary of its index, then an empty frame
//   initiator → frame(record)* frame()                 the records the responder lacks
//               frame(floor)* frame()                  the floors the responder lacks
//               frame(id)* frame()                     the ids (32 bytes) it wants from the summary; closes
//   responder → frame(record)* frame()                 exactly the wanted records,
//               frame(floor)* frame()                  then exactly the wanted floors; closes
//
// 5.0.0 (issue 22) is the same round, but rounds follow one another on one long-lived
// stream per initiator and responder (sync-streams.ts keeps the initiator's): no close ends
// a phase, the empty frames above do (the wants' ends the initiator's part, the floors'
// the round); an equal round is its two frames. Over budget the responder answers
// frame( u8 2 ), "not now", and keeps the stream. The initiator asks for 5.0.0 first and
// runs 4.0.0 with a peer that selects it. Between rounds a responder waits without the
// stall timeout, until syncIdleTimeout; a started round keeps every bound of 4.0.0, and a
// failed one aborts the stream (the next round opens a new one).
//
// digest and entry: see sync-summary.ts (entry = name, slot tag, timestamp, id);
// floor = u64be(floor) record: the floor and the revoked record that justifies it. A floor
// is taken only when this node's own configuration justifies it (Replica.learnFloor).
// count is the number of names. "Lacks" and "wants" follow lacking(): a version the other
// side does not hold and that is not older than the other side's version in the present.
// A want for an id not in the summary, a record not wanted or sent twice, a malformed
// frame: the peer's fault. The index holds one record per name (plus at most one held),
// so a sync is bounded by the configured names, never by history, and every read by
// syncMaxRecords.
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { decodeRecord, encodeRecord, recordIdHex, RecordFormatError, sha256, type SignedRecord } from '../crypto/record.js'
import { acceptsName, authorization, compareVersions } from '../rule/which-version-wins.js'
import { endExchange, type MeshContext } from './context.js'
import { connectedPeers, type MeshLibp2p } from './node.js'
import type { ReplicaPort } from './replica-port.js'
import { MAX_RECORD_FRAME, PROTOCOLS, type ConnectionLimitSettings, type SyncSettings } from './settings.js'
import { shuffle } from './proto/shuffle.js'
import { SyncSchedule, type RoundOutcome } from './proto/sync-schedule.js'
import { TokenBuckets } from './proto/token-bucket.js'
import { SyncStreams, type HeldStream } from './sync-streams.js'
import { FLOOR_SLOT, MAX_SUMMARY_ENTRY, decodeEntry, encodeEntry, encodeFloor, idKey, lacking, snapshot, type Slot, type SummaryEntry } from './sync-summary.js'
import { StreamReader, WireError, closeWrite, concat, frame, send, u32 } from './wire.js'

export { missingFrom, snapshot, type IndexSnapshot } from './sync-summary.js'

const EQUAL = 0
const DIFFER = 1
/** 5.0.0: the responder declines this round (the initiator is over its answer budget); the stream stays open */
const NOT_NOW = 2
const END = new Uint8Array(0)
const ID_BYTES = 32
/** a floor frame: u64be(floor) and a record */
const MAX_FLOOR_FRAME = 8 + MAX_RECORD_FRAME

interface ReceivedFloor { floor: number, proof: SignedRecord }

export interface SyncCounters {
  /** rounds this node initiated */
  rounds: number
  /** rounds this node completed as responder */
  answered: number
  /** timer ticks on which this node did not initiate, having just answered (sync-schedule.ts) */
  skipped: number
  /** rounds the timer started at once after a failed one, with another peer */
  retried: number
  equal: number
  exchanged: number
  recordsReceived: number
  recordsSent: number
  /** summary entries sent (as responder) and read (as initiator) */
  summaryEntriesSent: number
  summaryEntriesReceived: number
  /** record ids this node asked for (as initiator) */
  wanted: number
  failed: number
  /** rounds a peer asked for beyond its budget, closed unanswered (4.0.0) or answered "not now" (5.0.0) */
  paced: number
  /** rounds this node asked for that a peer answered "not now" (5.0.0; counted in failed too) */
  notNow: number
  /** sync streams this node opened as initiator (either version) */
  streamsOpened: number
  /** rounds this node initiated on a sync/5.0.0 stream kept from an earlier round */
  streamsReused: number
  /** floors received, taken (justified here and higher than ours), refused (not justified by this node's configuration) */
  floorsReceived: number
  floorsTaken: number
  floorsRefused: number
  floorsSent: number
}

/** What a Syncer uses of the mesh's context; of libp2p only the open connections (it syncs on them). */
export interface SyncerContext extends Pick<MeshContext, 'settings' | 'log' | 'punish' | 'admits'> {
  readonly libp2p: Pick<MeshLibp2p, 'getConnections'>
}

export class Syncer {
  private readonly inProgress = new Set<string>()
  private timer?: NodeJS.Timeout
  private stopped = false
  /** when and with whom to initiate (the core) */
  private readonly schedule: SyncSchedule
  counters: SyncCounters = { rounds: 0, answered: 0, skipped: 0, retried: 0, equal: 0, exchanged: 0, recordsReceived: 0, recordsSent: 0, summaryEntriesSent: 0, summaryEntriesReceived: 0, wanted: 0, failed: 0, paced: 0, notNow: 0, streamsOpened: 0, streamsReused: 0, floorsReceived: 0, floorsTaken: 0, floorsRefused: 0, floorsSent: 0 }
  /** sync rounds each peer may still ask this node to answer now */
  private readonly answers: TokenBuckets
  /** the outbound sync/5.0.0 streams kept between rounds, per peer */
  private readonly streams: SyncStreams

  private readonly libp2p: SyncerContext['libp2p']
  private readonly settings: SyncSettings & Pick<ConnectionLimitSettings, 'maxConnections'>

  constructor (
    private readonly ctx: SyncerContext,
    private readonly replica: ReplicaPort,
    /** the cluster's sync_interval */
    interval: number,
    /** records a peer sent that may be newer than ours */
    private readonly onRecords: (records: SignedRecord[], from: PeerId) => void
  ) {
    this.libp2p = ctx.libp2p
    this.settings = ctx.settings
    this.answers = new TokenBuckets({ burst: ctx.settings.syncAnswerBurst, perSecond: 1000 / ctx.settings.syncAnswerInterval, maxKeys: ctx.settings.maxConnections }, Date.now)
    this.streams = new SyncStreams(ctx.settings.syncIdleClose, ctx.settings.syncStallTimeout, (peer, err) => { ctx.punish(peer, `sync: ${err.message}`) })
    this.schedule = new SyncSchedule({ interval, backoff: ctx.settings.syncBackoff, backoffMax: ctx.settings.syncBackoffMax, maxPeers: ctx.settings.maxConnections }, Math.random)
  }

  start (): void { this.arm() }

  private arm (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => { void this.onTimer().finally(() => this.arm()) }, this.schedule.arm())
    this.timer.unref()
  }

  /** The peers the timer may pick: connected, admitted, no round with them under way. */
  private candidates (): Map<string, PeerId> {
    return new Map(connectedPeers(this.libp2p).filter(p => this.ctx.admits(p) && !this.inProgress.has(p.toString())).map(p => [p.toString(), p]))
  }

  /** The timer fired: skip, or a round; after a failed one, at once a round with another peer, as the core says. */
  private async onTimer (): Promise<void> {
    let peers = this.candidates()
    const d = this.schedule.tick([...peers.keys()], Date.now())
    if (d.kind === 'skip') { this.counters.skipped++; return }
    let next = d.kind === 'round' ? d.peer : undefined
    while (next !== undefined && !this.stopped) {
      const peer = peers.get(next)!
      const outcome = await this.exchange(peer)
      peers = this.candidates()
      next = this.schedule.ended(next, outcome, Date.now(), true, [...peers.keys()])
      if (next !== undefined) this.counters.retried++
    }
  }

  /**
   * Unread bytes a side may buffer: a full batch of records plus a full summary (the
   * initiator reads a summary then records; the responder records then ids).
   */
  private readerLimit (): number {
    const n = this.settings.syncMaxRecords + 1
    return n * (MAX_RECORD_FRAME + 2) + n * (MAX_FLOOR_FRAME + 3) + n * (MAX_SUMMARY_ENTRY + 2) + 64
  }

  private decode (bytes: Uint8Array): SignedRecord {
    try { return decodeRecord(bytes) } catch (err) {
      if (err instanceof RecordFormatError) throw new WireError('peer', `malformed record: ${err.message}`)
      throw err
    }
  }

  /**
   * Reads records up to the end marker (the responder, from the initiator). Kept (to be
   * offered): only names and signers this node accepts, and at most the two newest
   * records per name (an honest index has a current and at most one held record per
   * name). The rest still counts against syncMaxRecords but is dropped as it arrives, so
   * a sync full of junk names, replays or duplicates holds no memory.
   */
  private async readRecords (reader: StreamReader): Promise<SignedRecord[]> {
    const kept = new Map<string, SignedRecord[]>()
    const policy = this.replica.getPolicy()
    for (let n = 0; ; n++) {
      const bytes = await reader.frame(MAX_RECORD_FRAME)
      if (bytes === undefined) throw reader.closed('sync stream ended before the end of the records')
      if (bytes.length === 0) return [...kept.values()].flat()
      if (n >= this.settings.syncMaxRecords) throw new WireError('peer', `more than ${this.settings.syncMaxRecords} records in one sync`)
      const r = this.decode(bytes)
      this.counters.recordsReceived++
      if (authorization(policy, r.name, r.signer) !== undefined) continue // config skew or junk: not punished, not kept
      const same = kept.get(r.name) ?? []
      if (same.some(k => compareVersions(k, r) === 0)) continue
      same.push(r)
      if (same.length > 2) same.sort((a, b) => compareVersions(b, a)).pop()
      kept.set(r.name, same)
    }
  }

  /**
   * Reads floors up to the end marker. `wanted` (the initiator's: ids it asked for, each
   * once) or, without it, at most syncMaxRecords. Kept: one per name (the highest) of
   * names this node holds; whether a floor is justified is for learnFloor to judge.
   */
  private async readFloors (reader: StreamReader, wanted?: Set<string>): Promise<ReceivedFloor[]> {
    const kept = new Map<string, ReceivedFloor>()
    const policy = this.replica.getPolicy()
    for (let n = 0; ; n++) {
      const bytes = await reader.frame(MAX_FLOOR_FRAME)
      if (bytes === undefined) throw reader.closed('sync stream ended before the end of the floors')
      if (bytes.length === 0) return [...kept.values()]
      if (n >= this.settings.syncMaxRecords) throw new WireError('peer', `more than ${this.settings.syncMaxRecords} floors in one sync`)
      if (bytes.length < 9) throw new WireError('peer', `a floor frame of ${bytes.length} bytes`)
      if (wanted !== undefined && !wanted.delete(idKey(sha256(bytes)))) throw new WireError('peer', 'sent a floor that was not asked for (or twice)')
      const floor = Buffer.from(bytes.subarray(0, 8)).readBigUInt64BE()
      if (floor > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError('peer', 'floor out of range')
      const proof = this.decode(bytes.subarray(8))
      this.counters.floorsReceived++
      if (!acceptsName(policy, proof.name)) continue // config skew or junk: not punished, not kept
      const f = Number(floor)
      if ((kept.get(proof.name)?.floor ?? -1) < f) kept.set(proof.name, { floor: f, proof })
    }
  }

  private async sendFloors (stream: Stream, floors: Slot[], deadline: number): Promise<void> {
    for (const f of floors) await send(stream, frame(encodeFloor(f.timestamp, f.record)), this.step(deadline))
    await send(stream, frame(END), this.step(deadline))
    this.counters.floorsSent += floors.length
  }

  /** Offers the floors a peer sent to the replica (each judged there), then its records: a record at or below a floor taken is ignored. */
  private deliver (floors: ReceivedFloor[], records: SignedRecord[], from: PeerId): void {
    if (floors.length === 0) { this.onRecords(records, from); return }
    void (async () => {
      for (const { floor, proof } of floors) {
        try {
          const result = await this.replica.learnFloor(floor, proof, `peer ${from.toString()}`)
          if (result === 'taken') this.counters.floorsTaken++
          else if (result !== 'known') this.counters.floorsRefused++
        } catch (err) {
          this.ctx.log.warn({ err, name: proof.name }, 'could not take a floor a peer sent')
        }
      }
      this.onRecords(records, from)
    })().catch(err => this.ctx.log.error({ err }, 'offering the records of a sync failed'))
  }

  /** the record ids not yet received are in `wanted`; each may come once */
  private async readWanted (reader: StreamReader, wanted: Set<string>): Promise<SignedRecord[]> {
    const kept: SignedRecord[] = []
    const policy = this.replica.getPolicy()
    for (;;) {
      const bytes = await reader.frame(MAX_RECORD_FRAME)
      if (bytes === undefined) throw reader.closed('sync stream ended before the end of the wanted records')
      if (bytes.length === 0) return kept
      const r = this.decode(bytes)
      if (!wanted.delete(recordIdHex(r))) throw new WireError('peer', `sent record of "${r.name}" that was not asked for (or twice)`)
      this.counters.recordsReceived++
      if (authorization(policy, r.name, r.signer) !== undefined) continue // config skew: not punished, not kept
      kept.push(r)
    }
  }

  /**
   * The responder's summary, up to the end marker. At most one entry per name and slot;
   * kept: only names this node may hold (a summary names no signer, so the name is all
   * that can be judged here).
   */
  private async readSummary (reader: StreamReader): Promise<SummaryEntry[]> {
    const kept: SummaryEntry[] = []
    const seen = new Set<string>()
    const policy = this.replica.getPolicy()
    for (let n = 0; ; n++) {
      const bytes = await reader.frame(MAX_SUMMARY_ENTRY)
      if (bytes === undefined) throw reader.closed('sync stream ended before the end of the summary')
      if (bytes.length === 0) return kept
      if (n >= this.settings.syncMaxRecords) throw new WireError('peer', `more than ${this.settings.syncMaxRecords} summary entries in one sync`)
      const e = decodeEntry(bytes)
      this.counters.summaryEntriesReceived++
      const slot = `${e.tag} ${e.name}`
      if (seen.has(slot)) throw new WireError('peer', `two summary entries for the same slot of "${e.name}"`)
      seen.add(slot)
      if (acceptsName(policy, e.name)) kept.push(e) // a summary names no signer: the name is all there is to judge
    }
  }

  /** The ids the initiator wants: each from the summary this node sent (`offered`), once. */
  private async readWants (reader: StreamReader, offered: Map<string, Slot>): Promise<Slot[]> {
    const out: Slot[] = []
    const asked = new Set<string>()
    for (;;) {
      const bytes = await reader.frame(ID_BYTES)
      if (bytes === undefined) throw reader.closed('sync stream ended before the end of the wanted ids')
      if (bytes.length === 0) return out
      if (bytes.length !== ID_BYTES) throw new WireError('peer', `a wanted record id of ${bytes.length} bytes`)
      const key = idKey(bytes)
      const r = offered.get(key)
      if (r === undefined) throw new WireError('peer', 'wanted a record id that was not in the summary')
      if (asked.has(key)) throw new WireError('peer', 'wanted the same record id twice')
      asked.add(key)
      out.push(r)
    }
  }

  private async sendRecords (stream: Stream, records: SignedRecord[], deadline: number): Promise<void> {
    for (const r of records) await send(stream, frame(encodeRecord(r)), this.step(deadline))
    await send(stream, frame(END), this.step(deadline))
    this.counters.recordsSent += records.length
  }

  /** never more than a peer accepts: above the limit, a random subset each round */
  private capped<T> (all: T[]): T[] {
    return all.length > this.settings.syncMaxRecords ? shuffle([...all], Math.random).slice(0, this.settings.syncMaxRecords) : all
  }

  /** One anti-entropy round with `peer`, as the initiator (on a new connection, syncNow); its outcome is told to the schedule (backoff). */
  async syncWith (peer: PeerId): Promise<RoundOutcome> {
    const outcome = await this.exchange(peer)
    this.schedule.ended(peer.toString(), outcome, Date.now(), false, [])
    return outcome
  }

  /**
   * The deadline of one step of a round (a write, a close): the stall timeout from now,
   * within the round's own deadline. Reads take the stall timeout from their StreamReader.
   */
  private step (deadline: number): number { return Math.min(deadline, Date.now() + this.settings.syncStallTimeout) }

  private async exchange (peer: PeerId): Promise<RoundOutcome> {
    const id = peer.toString()
    if (this.inProgress.has(id) || this.stopped) return 'busy'
    this.inProgress.add(id)
    this.counters.rounds++
    let held: HeldStream | undefined
    try {
      const deadline = Date.now() + this.settings.syncTimeout
      held = this.streams.take(id)
      if (held === undefined) {
        const conn = this.libp2p.getConnections(peer).find(c => c.status === 'open')
        if (conn === undefined) return 'failed'
        // 5.0.0 first; a peer that does not handle it selects 4.0.0 (a round per stream)
        const stream = await conn.newStream([PROTOCOLS.syncStream, PROTOCOLS.sync], { signal: AbortSignal.timeout(Math.min(this.settings.syncTimeout, this.settings.syncStallTimeout)) })
        this.counters.streamsOpened++
        held = { stream, reader: new StreamReader(stream, deadline, this.readerLimit(), this.settings.syncStallTimeout) }
      } else {
        this.counters.streamsReused++
        held.reader.setDeadline(deadline)
        // a responder speaks only in answer to a round: anything it sent between rounds (here: in the round's last chunk) is out of step
        if (held.reader.buffered > 0) throw new WireError('peer', 'sync data between rounds')
        held.reader.setLimit(this.readerLimit())
      }
      const long = held.stream.protocol === PROTOCOLS.syncStream
      const outcome = await this.initiate(held, peer, deadline, long)
      if (long) this.streams.keep(peer, held)
      return outcome
    } catch (err) {
      this.counters.failed++
      endExchange(this.ctx, held?.stream, err, peer, 'sync')
      return 'failed'
    } finally {
      this.inProgress.delete(id)
    }
  }

  /**
   * One round as the initiator on `stream`. `long` (5.0.0): the END frames delimit every
   * phase and the stream stays open for the next round; 4.0.0 closes it both ways.
   */
  private async initiate ({ stream, reader }: HeldStream, peer: PeerId, deadline: number, long: boolean): Promise<RoundOutcome> {
    const mine = snapshot(this.replica)
    await send(stream, frame(concat([mine.digest, u32(mine.count)])), this.step(deadline))
    const status = await reader.frame(1)
    if (status === undefined) throw reader.closed('no sync answer')
    if (status.length !== 1 || !(status[0] === EQUAL || status[0] === DIFFER || (long && status[0] === NOT_NOW))) throw new WireError('peer', 'malformed sync answer')
    if (status[0] === NOT_NOW) {
      // over our budget there (5.0.0): no round, the stream stays in step; to the schedule a failed round, as 4.0.0's close unanswered was
      this.counters.notNow++
      this.counters.failed++
      return 'failed'
    }
    if (status[0] === EQUAL) {
      if (!long) await closeWrite(stream, this.step(deadline))
      this.counters.equal++
      return 'equal'
    }
    const summary = await this.readSummary(reader)
    const now = snapshot(this.replica).slots // may have moved while reading
    const present = this.replica.clock() + this.replica.getPolicy().maxClockSkew
    const theyLack = this.capped(lacking(now, summary, present))
    await this.sendRecords(stream, theyLack.filter(s => s.tag !== FLOOR_SLOT).map(s => s.record), deadline)
    await this.sendFloors(stream, theyLack.filter(s => s.tag === FLOOR_SLOT), deadline)
    const wants = this.capped(lacking(summary, now, present))
    for (const w of wants) await send(stream, frame(w.id), this.step(deadline))
    await send(stream, frame(END), this.step(deadline)) // 5.0.0: this END ends our part of the round
    this.counters.wanted += wants.length
    if (!long) await closeWrite(stream, this.step(deadline))
    const got = await this.readWanted(reader, new Set(wants.filter(w => w.tag !== FLOOR_SLOT).map(w => idKey(w.id))))
    const floors = await this.readFloors(reader, new Set(wants.filter(w => w.tag === FLOOR_SLOT).map(w => idKey(w.id))))
    // 4.0.0: nothing may follow; 5.0.0: the floors' END ends the round (anything after it is caught before the next round)
    if (!long) await reader.end()
    this.counters.exchanged++
    this.deliver(floors, got, peer)
    return 'exchanged'
  }

  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    if (stream.protocol === PROTOCOLS.syncStream) { await this.serveStream(stream, connection.remotePeer); return }
    const peer = connection.remotePeer
    const deadline = Date.now() + this.settings.syncTimeout
    const reader = new StreamReader(stream, deadline, this.readerLimit(), this.settings.syncStallTimeout)
    try {
      const hello = await this.readHello(reader)
      if (hello === undefined) throw reader.closed('no sync request')
      if (!this.answers.tryTake(peer.toString())) {
        // over its budget of rounds (syncAnswerBurst, then one per syncAnswerInterval): closed unanswered, no offence
        this.counters.paced++
        await closeWrite(stream, this.step(deadline))
        return
      }
      await this.answer(stream, reader, peer, deadline, hello, false)
    } catch (err) {
      endExchange(this.ctx, stream, err, peer, 'sync', { serving: true })
    }
  }

  /**
   * sync/5.0.0 as responder: rounds in sequence on one stream. The first request comes at
   * once (the stall timeout applies, as in 4.0.0); between rounds the wait has no stall
   * timeout, only syncIdleTimeout; a started round keeps every bound of 4.0.0. Over the
   * peer's budget, a round is answered "not now" and the stream stays open. The initiator
   * closing its side ends the stream; a failed round aborts it.
   */
  private async serveStream (stream: Stream, peer: PeerId): Promise<void> {
    const reader = new StreamReader(stream, Date.now() + this.settings.syncTimeout, this.readerLimit(), this.settings.syncStallTimeout)
    try {
      for (let first = true; ; first = false) {
        if (!first && !await reader.waitForData(Date.now() + this.settings.syncIdleTimeout)) {
          await closeWrite(stream, Date.now() + this.settings.syncStallTimeout) // the initiator is done with it: so are we
          return
        }
        const deadline = Date.now() + this.settings.syncTimeout
        reader.setDeadline(deadline)
        const hello = await this.readHello(reader)
        if (hello === undefined) throw reader.closed(first ? 'no sync request' : 'sync stream ended inside a request')
        if (!this.answers.tryTake(peer.toString())) {
          this.counters.paced++ // over its budget: "not now", no offence
          await send(stream, frame(Uint8Array.of(NOT_NOW)), this.step(deadline))
          continue
        }
        await this.answer(stream, reader, peer, deadline, hello, true)
      }
    } catch (err) {
      endExchange(this.ctx, stream, err, peer, 'sync', { serving: true })
    }
  }

  private async readHello (reader: StreamReader): Promise<Uint8Array | undefined> {
    const hello = await reader.frame(36)
    if (hello !== undefined && hello.length !== 36) throw new WireError('peer', 'malformed sync request')
    return hello
  }

  /**
   * One round as the responder, after its request. `long` (5.0.0): the END frames delimit
   * every phase and the stream stays open; 4.0.0 closes it both ways.
   */
  private async answer (stream: Stream, reader: StreamReader, peer: PeerId, deadline: number, hello: Uint8Array, long: boolean): Promise<void> {
    const mine = snapshot(this.replica)
    if (Buffer.from(hello.subarray(0, 32)).equals(mine.digest)) {
      await send(stream, frame(Uint8Array.of(EQUAL)), this.step(deadline))
      if (!long) await closeWrite(stream, this.step(deadline))
      this.answeredRound()
      return
    }
    await send(stream, frame(Uint8Array.of(DIFFER)), this.step(deadline))
    const summary: Slot[] = this.capped(mine.slots)
    for (const s of summary) await send(stream, frame(encodeEntry(s)), this.step(deadline))
    await send(stream, frame(END), this.step(deadline))
    this.counters.summaryEntriesSent += summary.length
    const theirs = await this.readRecords(reader)
    const theirFloors = await this.readFloors(reader)
    const wanted = await this.readWants(reader, new Map(summary.map(s => [idKey(s.id), s])))
    // 4.0.0: the initiator closes after its wants; 5.0.0: their END ends its part (what follows is its next round)
    if (!long) await reader.end()
    await this.sendRecords(stream, wanted.filter(s => s.tag !== FLOOR_SLOT).map(s => s.record), deadline)
    await this.sendFloors(stream, wanted.filter(s => s.tag === FLOOR_SLOT), deadline)
    if (!long) await closeWrite(stream, this.step(deadline))
    this.answeredRound()
    this.deliver(theirFloors, theirs, peer)
  }

  private answeredRound (): void {
    this.counters.answered++
    this.schedule.answered()
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.streams.closeAll()
  }
}
