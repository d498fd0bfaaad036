// /data-mesher/sync/2.0.0 — anti-entropy. Repairs whatever eager spread missed (a node
// that was offline, a lost announcement, a partition): on every new outbound connection
// and every sync_interval (jittered ±20%) with one random peer.
//
//   initiator → frame( digest(32) u32be(count) )
//   responder → frame( u8 0 )                                 equal: both close
//             | frame( u8 1 ) frame(record)* frame()           differ: all its records, then an empty frame
//   initiator → frame(record)* frame()                         the records the responder may lack
//
// The digest is sha256 over the node's index: for each name (sorted by UTF-8 bytes),
// u16be(len(name)) name, then every slot the name has — the current version (tag 1) and
// a record from the future held back (tag 2) — as u8(tag) u64be(timestamp) signature(64).
// Two nodes are equal only when both slots agree: a held record never hides a current one
// that differs (2.0.0; 1.0.0 hashed only the newest record per name, issue 11 F1). count
// is the number of names. Records exchanged are the current and the held records. The
// index holds one record per name (plus at most one held), so a sync is bounded by the
// configured names, never by history.
import { createHash } from 'node:crypto'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { decodeRecord, encodeRecord, RecordFormatError, type SignedRecord } from '../crypto/record.js'
import { authorization, compareVersions } from '../rule/which-version-wins.js'
import { endExchange, type MeshContext } from './context.js'
import { connectedPeers, type MeshLibp2p } from './node.js'
import type { ReplicaPort } from './replica-port.js'
import { MAX_RECORD_FRAME, PROTOCOLS, jitter } from './settings.js'
import { shuffle } from './shuffle.js'
import { StreamReader, WireError, closeWrite, concat, frame, send, u16, u32, u64 } from './wire.js'

const EQUAL = 0
const DIFFER = 1
const END = new Uint8Array(0)

export interface IndexSnapshot {
  digest: Uint8Array
  count: number
  /** every current and held record */
  records: SignedRecord[]
}

const CURRENT_SLOT = 1
const HELD_SLOT = 2

export function snapshot (replica: Pick<ReplicaPort, 'list' | 'listHeld'>): IndexSnapshot {
  const current = replica.list()
  const held = replica.listHeld()
  const slots = new Map<string, Array<[number, SignedRecord]>>()
  for (const [tag, records] of [[CURRENT_SLOT, current], [HELD_SLOT, held]] as const) {
    for (const r of records) {
      const s = slots.get(r.name) ?? []
      s.push([tag, r])
      slots.set(r.name, s)
    }
  }
  const names = [...slots.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const h = createHash('sha256')
  for (const name of names) {
    const n = Buffer.from(name, 'utf8')
    h.update(u16(n.length)).update(n)
    for (const [tag, r] of slots.get(name)!) h.update(Uint8Array.of(tag)).update(u64(r.timestamp)).update(r.signature)
  }
  return { digest: new Uint8Array(h.digest()), count: names.length, records: [...current, ...held] }
}

/**
 * What `theirs` (every record the peer sent: its current and held versions) may lack: my
 * records it does not hold, except those older than a version of theirs in the present
 * (which is, or is about to be, their current one). A version of theirs from the future
 * does not count: it is held back, and a newer current version must still reach them.
 * `present` is the newest timestamp not held back here (local clock + max_clock_skew).
 */
export function missingFrom (mine: SignedRecord[], theirs: SignedRecord[], present: number): SignedRecord[] {
  const byName = new Map<string, SignedRecord[]>()
  for (const t of theirs) byName.set(t.name, [...byName.get(t.name) ?? [], t])
  return mine.filter(r => !(byName.get(r.name) ?? []).some(t => {
    const order = compareVersions(t, r)
    return order === 0 || (order > 0 && t.timestamp <= present)
  }))
}

export class Syncer {
  private readonly inProgress = new Set<string>()
  private timer?: NodeJS.Timeout
  private stopped = false
  counters = { rounds: 0, equal: 0, exchanged: 0, recordsReceived: 0, recordsSent: 0, failed: 0 }

  private readonly libp2p: MeshLibp2p
  private readonly settings: MeshContext['settings']

  constructor (
    private readonly ctx: MeshContext,
    private readonly replica: ReplicaPort,
    /** the cluster's sync_interval */
    private readonly interval: number,
    /** records a peer sent that may be newer than ours */
    private readonly onRecords: (records: SignedRecord[], from: PeerId) => void
  ) {
    this.libp2p = ctx.libp2p
    this.settings = ctx.settings
  }

  start (): void { this.schedule() }

  private schedule (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      const peers = shuffle(connectedPeers(this.libp2p).filter(p => this.ctx.admits(p) && !this.inProgress.has(p.toString())))
      const peer = peers[0]
      const done = peer === undefined ? Promise.resolve() : this.syncWith(peer).then(() => {})
      void done.finally(() => this.schedule())
    }, jitter(this.interval, 0.2))
    this.timer.unref()
  }

  private readerLimit (): number {
    return (this.settings.syncMaxRecords + 1) * (MAX_RECORD_FRAME + 2) + 64
  }

  /**
   * Reads records up to the end marker. Kept (to be offered, and compared by the
   * initiator): only names and signers this node accepts, and at most the two newest
   * records per name (an honest index has a current and at most one held record per
   * name). The rest still counts against syncMaxRecords but is dropped as it arrives, so
   * a sync full of junk names, replays or duplicates holds no memory.
   */
  private async readRecords (reader: StreamReader): Promise<SignedRecord[]> {
    const kept = new Map<string, SignedRecord[]>()
    const policy = this.replica.getPolicy()
    for (let n = 0; ; n++) {
      const bytes = await reader.frame(MAX_RECORD_FRAME)
      if (bytes === undefined) throw reader.closed('sync stream ended before the end marker')
      if (bytes.length === 0) return [...kept.values()].flat()
      if (n >= this.settings.syncMaxRecords) throw new WireError('peer', `more than ${this.settings.syncMaxRecords} records in one sync`)
      let r: SignedRecord
      try { r = decodeRecord(bytes) } catch (err) {
        if (err instanceof RecordFormatError) throw new WireError('peer', `malformed record: ${err.message}`)
        throw err
      }
      this.counters.recordsReceived++
      if (authorization(policy, r.name, r.signer) !== undefined) continue // config skew or junk: not punished, not kept
      const same = kept.get(r.name) ?? []
      if (same.some(k => compareVersions(k, r) === 0)) continue
      same.push(r)
      if (same.length > 2) same.sort((a, b) => compareVersions(b, a)).pop()
      kept.set(r.name, same)
    }
  }

  private async sendRecords (stream: Stream, all: SignedRecord[], deadline: number): Promise<void> {
    // never more than a peer accepts: above the limit, a random subset each round
    const records = all.length > this.settings.syncMaxRecords ? shuffle([...all]).slice(0, this.settings.syncMaxRecords) : all
    for (const r of records) await send(stream, frame(encodeRecord(r)), deadline)
    await send(stream, frame(END), deadline)
    this.counters.recordsSent += records.length
  }

  /** One anti-entropy round with `peer`, as the initiator. */
  async syncWith (peer: PeerId): Promise<'equal' | 'exchanged' | 'failed' | 'busy'> {
    const id = peer.toString()
    if (this.inProgress.has(id) || this.stopped) return 'busy'
    this.inProgress.add(id)
    this.counters.rounds++
    let stream: Stream | undefined
    try {
      const conn = this.libp2p.getConnections(peer).find(c => c.status === 'open')
      if (conn === undefined) return 'failed'
      const deadline = Date.now() + this.settings.syncTimeout
      stream = await conn.newStream(PROTOCOLS.sync, { signal: AbortSignal.timeout(this.settings.syncTimeout) })
      const reader = new StreamReader(stream, deadline, this.readerLimit())
      const mine = snapshot(this.replica)
      await send(stream, frame(concat([mine.digest, u32(mine.count)])), deadline)
      const status = await reader.frame(1)
      if (status === undefined) throw reader.closed('no sync answer')
      if (status.length !== 1 || (status[0] !== EQUAL && status[0] !== DIFFER)) throw new WireError('peer', 'malformed sync answer')
      if (status[0] === EQUAL) {
        await closeWrite(stream, deadline)
        this.counters.equal++
        return 'equal'
      }
      const theirs = await this.readRecords(reader)
      const now = snapshot(this.replica) // may have moved while reading
      const present = this.replica.clock() + this.replica.getPolicy().maxClockSkew
      await this.sendRecords(stream, missingFrom(now.records, theirs, present), deadline)
      await closeWrite(stream, deadline)
      this.counters.exchanged++
      this.onRecords(theirs, peer)
      return 'exchanged'
    } catch (err) {
      this.counters.failed++
      endExchange(this.ctx, stream, err, peer, 'sync')
      return 'failed'
    } finally {
      this.inProgress.delete(id)
    }
  }

  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer
    const deadline = Date.now() + this.settings.syncTimeout
    const reader = new StreamReader(stream, deadline, this.readerLimit())
    try {
      const hello = await reader.frame(36)
      if (hello === undefined) throw reader.closed('no sync request')
      if (hello.length !== 36) throw new WireError('peer', 'malformed sync request')
      const mine = snapshot(this.replica)
      if (Buffer.from(hello.subarray(0, 32)).equals(mine.digest)) {
        await send(stream, frame(Uint8Array.of(EQUAL)), deadline)
        await closeWrite(stream, deadline)
        return
      }
      await send(stream, frame(Uint8Array.of(DIFFER)), deadline)
      await this.sendRecords(stream, mine.records, deadline)
      const theirs = await this.readRecords(reader)
      await reader.end()
      await closeWrite(stream, deadline)
      this.onRecords(theirs, peer)
    } catch (err) {
      endExchange(this.ctx, stream, err, peer, 'sync', { serving: true })
    }
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
  }
}
