// /data-mesher/announce/3.0.0 — spreading a new version along a broadcast tree (Plumtree,
// Leitão et al. 2007; the tree state is broadcast-tree.ts). When this node accepts a new
// version (from its API or from a peer) it sends the full record, with the content inline
// when the file is small, to its eager peers, and a short "I have" notice to its lazy
// peers. A receiver offers a full record to its replica and, once it is verified, passes
// it on in turn; a duplicate prunes the link; a notice of a version it lacks is followed,
// if the tree does not bring that version in time, by a GRAFT to the notifier.
//
//   stream  = message*        one long-lived stream per peer and direction; only the opener writes
//   message = frame(0x01 record) frame(inline)                 FULL
//           | frame(0x02 u16be(count) notice{count})           IHAVE, 1 ≤ count ≤ 256
//           | frame(0x03 u8(len(name)) name record_id[32])     GRAFT: send me that version; the link is eager
//           | frame(0x04)                                      PRUNE: the link is lazy
//   notice  = u8(len(name)) name u64be(timestamp) record_id[32]
//   inline  = the content when record.size ≤ announceInlineMax, else empty (then fetched, fetch.ts)
//   record_id = sha256(encoded record), as fetch/2.0.0 names a version
//
// GRAFT and PRUNE travel on the sender's own outbound stream (the one it announces on),
// so each stream still has one writer.
//
// Why one long-lived stream: opening a libp2p stream costs a multistream-select round and
// a peer-store update on both sides, which dominated the CPU per update per node when every
// announcement had its own stream (bench/, docs/DECISIONS.md). The sender closes an idle
// stream after announceIdleClose; the receiver drops one silent for announceIdleTimeout.
//
// Each peer has its own queue and sender, so a slow peer delays only itself; a queue keeps
// one (the newest) record per name and is bounded (anti-entropy repairs overflow). A full
// record goes at once; a notice waits announceIhaveDelay, so that the tree delivers first
// and a peer that told us it holds the version by then is not told (settings.ts says why).
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { MAX_NAME_BYTES } from '../crypto/names.js'
import { decodeRecord, encodeRecord, recordId, RecordFormatError, type SignedRecord } from '../crypto/record.js'
import { compareVersions } from '../rule/which-version-wins.js'
import { BroadcastTree, type Notice } from './broadcast-tree.js'
import { endExchange, type MeshContext } from './context.js'
import { connectedPeers, type MeshLibp2p } from './node.js'
import { MAX_RECORD_FRAME, PROTOCOLS, jitter, type MeshSettings } from './settings.js'
import { TokenBuckets } from './proto/token-bucket.js'
import { StreamReader, WireError, closeWrite, concat, frame, send, u16, u64 } from './wire.js'

export type { Notice } from './broadcast-tree.js'

const EMPTY = new Uint8Array(0)

/** Message tags (the first byte of a message's first frame). */
const FULL = 0x01
const IHAVE = 0x02
const GRAFT = 0x03
const PRUNE = 0x04
/** notices in one IHAVE message, at most (a protocol limit: a receiver refuses more) */
export const IHAVE_MAX = 256
const NOTICE_MAX_BYTES = 1 + MAX_NAME_BYTES + 8 + 32
/** the first frame of a message is at most this long: a FULL's record or a full IHAVE */
export const MAX_MESSAGE_FRAME = Math.max(1 + MAX_RECORD_FRAME, 1 + 2 + IHAVE_MAX * NOTICE_MAX_BYTES)


interface Outgoing {
  kind: 'full' | 'ihave'
  record: SignedRecord
  inline: Uint8Array
  /** a notice is not sent before this time (Date.now()): announceIhaveDelay ±50% after its version was stored */
  due: number
}

interface Channel {
  /** full records and notices, one per name (the newest version) */
  pending: Map<string, Outgoing>
  /** GRAFTs to send, by name (the newest asked for) */
  grafts: Map<string, Notice>
  /** a PRUNE to send */
  prune: boolean
  running: boolean
  stream?: Stream
  idleTimer?: NodeJS.Timeout
  /** set while notices wait for their time */
  flushTimer?: NodeJS.Timeout
}

/**
 * What a full record received was to this node: 'new' (offered: a version it lacked),
 * 'duplicate' (it has that version or a newer one, or is receiving it: the link is pruned)
 * or 'dropped' (refused, or not judged at all).
 */
export type Arrival = 'new' | 'duplicate' | 'dropped'

/** What a notice is to this node: a version it lacks, one it holds (then the notifier is known to hold it too), or neither. */
export type NoticeVerdict = 'missing' | 'stale' | { holds: SignedRecord }

/** The announcer's view of the node's versions (wired to the replica in index.ts). */
export interface AnnounceDelegate {
  /** a full record from `from`, with its content when it came inline */
  onRecord: (record: SignedRecord, from: PeerId, content: Uint8Array | undefined) => Arrival
  judgeNotice: (notice: Notice) => NoticeVerdict
  /**
   * the version to send a peer that grafted (name, id): the current one, with its content
   * when small; undefined when there is none or `skip(record)` says the peer needs none
   * (asked before the content is read)
   */
  forGraft: (name: string, id: Uint8Array, skip: (record: SignedRecord) => boolean) => Promise<{ record: SignedRecord, content?: Uint8Array } | undefined>
}

export interface AnnounceCounters {
  /** full records sent and received */
  fullSent: number
  fullReceived: number
  /** full records received that this node already had (each prunes its link) */
  duplicates: number
  /** notices sent and received, and the bytes of the IHAVE messages sent */
  ihaveSent: number
  ihaveReceived: number
  ihaveBytes: number
  /** GRAFTs and PRUNEs sent */
  grafts: number
  prunes: number
  /** versions not sent to a peer known to hold them */
  skipped: number
  streamsOpened: number
  /** GRAFTs received and not answered: an answer to the same peer and name under way, or over the peer's budget */
  graftsIgnored: number
  /** FULL and IHAVE messages dropped unjudged: their sender was over its budget (announceMessagesPerSecond) */
  overBudget: number
}

export class Announcer {
  private readonly channels = new Map<string, Channel>()
  /** peer → name → the newest version that peer is known to hold (sent to it, or received from it) */
  private readonly known = new Map<string, Map<string, SignedRecord>>()
  /** peer → name → the newest version it was sent a notice of (a version is noticed to a peer once) */
  private readonly noticed = new Map<string, Map<string, SignedRecord>>()
  private readonly tree: BroadcastTree
  /** "peer\nname": a GRAFT answer being prepared (one at a time per peer and name) */
  private readonly graftsAnswering = new Set<string>()
  /** peer → its GRAFT answer budget (token bucket: announceGraftAnswerBurst, announceGraftAnswersPerSecond) */
  private readonly graftBudget: TokenBuckets
  /** peer → FULL and IHAVE messages it may still send now (announceMessageBurst, announceMessagesPerSecond) */
  private readonly pace: TokenBuckets
  private stopped = false
  counters: AnnounceCounters = { fullSent: 0, fullReceived: 0, duplicates: 0, ihaveSent: 0, ihaveReceived: 0, ihaveBytes: 0, grafts: 0, prunes: 0, skipped: 0, streamsOpened: 0, graftsIgnored: 0, overBudget: 0 }

  private readonly libp2p: MeshLibp2p
  private readonly settings: MeshSettings
  private readonly log: MeshContext['log']
  private readonly admits: MeshContext['admits']

  constructor (private readonly ctx: MeshContext, private readonly delegate: AnnounceDelegate) {
    this.libp2p = ctx.libp2p
    this.settings = ctx.settings
    this.log = ctx.log
    this.admits = ctx.admits
    this.graftBudget = new TokenBuckets({ burst: ctx.settings.announceGraftAnswerBurst, perSecond: ctx.settings.announceGraftAnswersPerSecond, maxKeys: ctx.settings.maxConnections }, Date.now)
    this.pace = new TokenBuckets({ burst: ctx.settings.announceMessageBurst, perSecond: ctx.settings.announceMessagesPerSecond, maxKeys: ctx.settings.maxConnections }, Date.now)
    this.tree = new BroadcastTree(ctx.settings, {
      stillMissing: n => this.delegate.judgeNotice(n) === 'missing',
      sendGraft: (peer, n) => this.queueGraft(peer, n)
    })
  }

  /**
   * Remembers that `peer` holds `record` (or a newer version), so it is not sent that
   * version again. The caller passes only records of configured names, which bounds this
   * map by peers × names.
   */
  markKnown (peer: PeerId | string, record: SignedRecord): void { remember(this.known, peer.toString(), record) }

  private isKnown (peer: string, record: SignedRecord): boolean { return atLeast(this.known, peer, record) }

  /** Eager and lazy connected peers (tests, diagnostics). */
  links (): { eager: string[], lazy: string[] } {
    return this.tree.links(connectedPeers(this.libp2p).filter(p => this.admits(p)).map(String))
  }

  /**
   * Sends `record` to every connected peer not known to hold it (and not `except`): the
   * full record to eager peers, with `content` inline when the file is small enough, a
   * notice to lazy ones.
   */
  /** What travels inline with a FULL: the content when it is whole and small enough, else nothing (fetched). */
  private inlineFor (record: SignedRecord, content?: Uint8Array): Uint8Array {
    return content !== undefined && content.length === record.size && record.size <= this.settings.announceInlineMax ? content : EMPTY
  }

  broadcast (record: SignedRecord, content?: Uint8Array, except?: string): void {
    if (this.stopped) return
    const inline = this.inlineFor(record, content)
    // One wait for all of this version's notices, jittered: of the two ends of a lazy link
    // that got the version at about the same time (in one process, or one hop apart on a
    // fast network), one then sends first and the other hears of it before its own goes.
    const due = Date.now() + jitter(this.settings.announceIhaveDelay, 0.5)
    for (const peer of connectedPeers(this.libp2p)) {
      const id = peer.toString()
      if (id === except || !this.admits(peer)) continue
      if (this.isKnown(id, record)) { this.counters.skipped++; continue }
      const kind = this.tree.isEager(id) ? 'full' : 'ihave'
      if (kind === 'ihave' && atLeast(this.noticed, id, record)) continue // (a record is broadcast again once stored)
      this.enqueue(peer, { kind, record, inline, due: kind === 'ihave' ? due : 0 })
    }
  }

  private channel (id: string): Channel {
    let ch = this.channels.get(id)
    if (ch === undefined) { ch = { pending: new Map(), grafts: new Map(), prune: false, running: false }; this.channels.set(id, ch) }
    return ch
  }

  private enqueue (peer: PeerId, o: Outgoing): void {
    const ch = this.channel(peer.toString())
    const prev = ch.pending.get(o.record.name)
    if (prev !== undefined) {
      const order = compareVersions(prev.record, o.record)
      // a queued newer version stays; the same version stays too unless it goes up from notice to full record
      if (order > 0 || (order === 0 && (prev.kind === 'full' || o.kind === 'ihave'))) return
    }
    ch.pending.delete(o.record.name) // re-insert at the end (Map keeps insertion order)
    ch.pending.set(o.record.name, o)
    if (ch.pending.size > this.settings.announceQueueMax) ch.pending.delete(ch.pending.keys().next().value!)
    this.kick(peer, ch)
  }

  /**
   * Starts the peer's sender when something is ready to go (a full record, a GRAFT or
   * PRUNE, a notice whose time has come); otherwise arms a timer for the first notice due.
   */
  private kick (peer: PeerId, ch: Channel): void {
    if (ch.running) return
    const due = this.nextDue(ch)
    if (due === undefined) return
    clearTimeout(ch.flushTimer)
    ch.flushTimer = undefined
    if (due <= Date.now()) { void this.drain(peer, ch); return }
    ch.flushTimer = setTimeout(() => {
      ch.flushTimer = undefined
      if (this.channels.get(peer.toString()) === ch) this.kick(peer, ch)
    }, due - Date.now())
    ch.flushTimer.unref()
  }

  /** When the channel next has something to send: 0 for now, a notice's due time, or undefined (nothing queued). */
  private nextDue (ch: Channel): number | undefined {
    if (ch.prune || ch.grafts.size > 0) return 0
    let due: number | undefined
    for (const o of ch.pending.values()) {
      if (o.kind === 'full') return 0
      if (due === undefined || o.due < due) due = o.due
    }
    return due
  }

  /** Queues GRAFT(notice) for `peer`; false when it is not connected. */
  private queueGraft (id: string, notice: Notice): boolean {
    if (this.stopped) return false
    const peer = connectedPeers(this.libp2p).find(p => p.toString() === id)
    if (peer === undefined || !this.admits(peer)) return false
    const ch = this.channel(id)
    ch.grafts.set(notice.name, notice)
    this.kick(peer, ch)
    return true
  }

  private queuePrune (peer: PeerId): void {
    const ch = this.channel(peer.toString())
    ch.prune = true
    this.kick(peer, ch)
  }

  /** Forgets a disconnected peer: its queue, its stream, its link and what it was known to hold. */
  dropPeer (peer: PeerId): void {
    const id = peer.toString()
    this.known.delete(id)
    this.noticed.delete(id)
    this.graftBudget.delete(id)
    this.tree.linkDown(id)
    const ch = this.channels.get(id)
    if (ch === undefined) return
    ch.pending.clear()
    ch.grafts.clear()
    ch.prune = false
    clearTimeout(ch.idleTimer)
    clearTimeout(ch.flushTimer)
    ch.flushTimer = undefined
    ch.stream?.abort(new Error('peer disconnected'))
    ch.stream = undefined
    if (!ch.running) this.channels.delete(id)
  }

  /** Something is ready to send now (notices not yet due wait for their timer). */
  private hasWork (ch: Channel): boolean { const due = this.nextDue(ch); return due !== undefined && due <= Date.now() }

  private async drain (peer: PeerId, ch: Channel): Promise<void> {
    ch.running = true
    clearTimeout(ch.idleTimer)
    const id = peer.toString()
    try {
      while (this.hasWork(ch) && !this.stopped) {
        const prune = ch.prune
        const grafts = [...ch.grafts.values()]
        ch.prune = false
        ch.grafts.clear()
        const batch: Outgoing[] = []
        const now = Date.now()
        for (const [name, o] of ch.pending) {
          if (o.kind === 'ihave' && o.due > now) continue // its time has not come: it waits for the flush timer
          ch.pending.delete(name)
          // it may have sent us this version since it was queued
          if (this.isKnown(id, o.record)) { this.counters.skipped++; continue }
          batch.push(o)
          if (batch.length >= this.settings.announceBatch) break
        }
        try {
          const ihaveBytes = await this.write(peer, ch, prune, grafts, batch)
          if (prune) this.counters.prunes++
          this.counters.grafts += grafts.length
          this.counters.ihaveBytes += ihaveBytes
          for (const o of batch) {
            if (o.kind === 'ihave') { this.counters.ihaveSent++; remember(this.noticed, id, o.record); continue }
            this.counters.fullSent++
            this.markKnown(peer, o.record)
          }
        } catch (err) {
          // the peer is gone or slow: drop what was for it; anti-entropy repairs
          this.log.debug({ peer: id, err: (err as Error).message, records: batch.length }, 'announce failed')
          ch.stream?.abort(err as Error)
          ch.stream = undefined
          if (this.libp2p.getConnections(peer).length === 0) { ch.pending.clear(); ch.grafts.clear(); ch.prune = false }
        }
      }
    } finally {
      ch.running = false
      if (this.stopped || this.libp2p.getConnections(peer).length === 0) {
        ch.stream?.abort(new Error('announcer stopped or peer gone'))
        clearTimeout(ch.flushTimer)
        this.channels.delete(id)
      } else {
        ch.idleTimer = setTimeout(() => { void this.closeIdle(peer, ch) }, this.settings.announceIdleClose)
        ch.idleTimer.unref()
        this.kick(peer, ch) // notices that were not yet due
      }
    }
  }

  /** An open stream to `peer`: the channel's own, or a new one. */
  private async streamFor (peer: PeerId, ch: Channel): Promise<Stream> {
    const s = ch.stream
    if (s !== undefined && s.status === 'open' && s.writeStatus === 'writable') return s
    ch.stream = undefined
    const conn = this.libp2p.getConnections(peer).find(c => c.status === 'open')
    if (conn === undefined) throw new Error('not connected')
    const stream = await conn.newStream(PROTOCOLS.announce, { signal: AbortSignal.timeout(this.settings.announceTimeout) })
    this.counters.streamsOpened++
    stream.addEventListener('close', () => { if (ch.stream === stream) ch.stream = undefined }, { once: true })
    ch.stream = stream
    return stream
  }

  /** Writes one turn's messages (control first, then full records, then the notices); returns the IHAVE bytes. */
  private async write (peer: PeerId, ch: Channel, prune: boolean, grafts: Notice[], batch: Outgoing[]): Promise<number> {
    const stream = await this.streamFor(peer, ch)
    const deadline = Date.now() + this.settings.announceTimeout
    const messages: Uint8Array[] = []
    if (prune) messages.push(frame(Uint8Array.of(PRUNE)))
    for (const g of grafts) messages.push(frame(encodeGraft(g.name, g.id)))
    for (const o of batch) if (o.kind === 'full') messages.push(frame(concat([Uint8Array.of(FULL), encodeRecord(o.record)])), frame(o.inline))
    const notices = batch.filter(o => o.kind === 'ihave').map(o => o.record)
    let ihaveBytes = 0
    for (let i = 0; i < notices.length; i += IHAVE_MAX) {
      const m = frame(encodeIhave(notices.slice(i, i + IHAVE_MAX)))
      ihaveBytes += m.length
      messages.push(m)
    }
    let parts: Uint8Array[] = []
    let size = 0
    for (const m of messages) {
      parts.push(m)
      size += m.length
      if (size >= this.settings.announceWriteChunk) { await send(stream, concat(parts), deadline); parts = []; size = 0 }
    }
    if (parts.length > 0) await send(stream, concat(parts), deadline)
    return ihaveBytes
  }

  private async closeIdle (peer: PeerId, ch: Channel): Promise<void> {
    if (ch.running || this.nextDue(ch) !== undefined || this.channels.get(peer.toString()) !== ch) return
    const stream = ch.stream
    ch.stream = undefined
    this.channels.delete(peer.toString())
    if (stream !== undefined) await closeWrite(stream, Date.now() + this.settings.announceTimeout)
  }

  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer
    const s = this.settings
    // A burst may arrive faster than it is parsed: room for a few whole messages.
    const limit = Math.max(s.announceReadBuffer, 4 * (MAX_MESSAGE_FRAME + s.announceInlineMax + 16))
    const reader = new StreamReader(stream, Date.now() + s.announceIdleTimeout, limit)
    try {
      for (;;) {
        reader.setDeadline(Date.now() + s.announceIdleTimeout)
        const head = await reader.frame(MAX_MESSAGE_FRAME)
        if (head === undefined) break // the sender closed an idle stream
        reader.setDeadline(Date.now() + s.announceTimeout)
        if (head.length === 0) throw new WireError('peer', 'empty announce message')
        switch (head[0]) {
          case FULL: await this.receiveFull(peer, head.subarray(1), reader); break
          case IHAVE: {
            const notices = decodeIhave(head)
            if (this.withinBudget(peer.toString())) this.receiveIhave(peer, notices)
            break
          }
          case GRAFT: this.receiveGraft(peer, decodeGraft(head)); break
          case PRUNE:
            if (head.length !== 1) throw new WireError('peer', 'PRUNE with a payload')
            this.tree.prune(peer.toString())
            break
          default: throw new WireError('peer', `unknown announce message type ${head[0]}`)
        }
      }
      await closeWrite(stream, Date.now() + s.announceCloseTimeout)
    } catch (err) {
      endExchange(this.ctx, stream, err, peer, 'announce')
    }
  }

  /**
   * Whether `peer` is within its budget of FULL and IHAVE messages (announceMessageBurst,
   * then announceMessagesPerSecond). Beyond it a message is read and dropped unjudged: no
   * signature is checked nor anything queued for it (anti-entropy brings what was real).
   * Not reading instead would not slow the sender down: the stream buffers what arrives.
   */
  private withinBudget (peer: string): boolean {
    if (this.pace.tryTake(peer)) return true
    this.counters.overBudget++
    return false
  }

  private async receiveFull (peer: PeerId, bytes: Uint8Array, reader: StreamReader): Promise<void> {
    const inline = await reader.frame(this.settings.announceInlineMax)
    if (inline === undefined) throw reader.closed('stream ended between a record and its content')
    if (!this.withinBudget(peer.toString())) return
    let record: SignedRecord
    try { record = decodeRecord(bytes) } catch (err) {
      if (err instanceof RecordFormatError) throw new WireError('peer', `malformed record: ${err.message}`)
      throw err
    }
    if (inline.length !== 0 && inline.length !== record.size) {
      throw new WireError('peer', `inline content of ${inline.length} bytes for a record of ${record.size}`)
    }
    this.counters.fullReceived++
    const arrival = this.delegate.onRecord(record, peer, inline.length === record.size ? inline : undefined)
    if (arrival === 'new') this.tree.graft(peer.toString()) // the link brought something new: it is in the tree
    else if (arrival === 'duplicate') {
      this.counters.duplicates++
      this.tree.prune(peer.toString())
      this.queuePrune(peer)
    }
  }

  private receiveIhave (peer: PeerId, notices: Notice[]): void {
    this.counters.ihaveReceived += notices.length
    for (const n of notices) {
      const v = this.delegate.judgeNotice(n)
      if (v === 'missing') this.tree.heardOf(peer.toString(), n)
      else if (v !== 'stale') this.markKnown(peer, v.holds)
    }
  }

  /**
   * The link becomes eager, and the peer gets the version unless it is known to hold it or
   * has it queued (so a GRAFT never makes us repeat ourselves). Checked before the content
   * is read, one answer at a time per peer and name, within the peer's GRAFT budget: a
   * peer repeating GRAFTs causes no more disk reads than it gets answers (review 11-R7).
   */
  private receiveGraft (peer: PeerId, g: { name: string, id: Uint8Array }): void {
    const id = peer.toString()
    this.tree.graft(id)
    const key = `${id}\n${g.name}`
    if (this.graftsAnswering.has(key) || !this.graftBudget.tryTake(id)) { this.counters.graftsIgnored++; return }
    this.graftsAnswering.add(key)
    const queued = (r: SignedRecord): boolean => {
      const o = this.channels.get(id)?.pending.get(r.name)
      return o !== undefined && o.kind === 'full' && compareVersions(o.record, r) >= 0
    }
    void this.delegate.forGraft(g.name, g.id, r => this.isKnown(id, r) || queued(r)).then(got => {
      if (got === undefined || this.stopped || this.isKnown(id, got.record)) return
      const inline = this.inlineFor(got.record, got.content)
      this.enqueue(peer, { kind: 'full', record: got.record, inline, due: 0 })
    }, (err: Error) => { this.log.debug({ name: g.name, err: err.message }, 'could not answer a graft') })
      .finally(() => this.graftsAnswering.delete(key))
  }

  stop (): void {
    this.stopped = true
    for (const ch of this.channels.values()) {
      ch.pending.clear()
      ch.grafts.clear()
      clearTimeout(ch.idleTimer)
      clearTimeout(ch.flushTimer)
      ch.stream?.abort(new Error('stopping'))
    }
    this.channels.clear()
    this.known.clear()
    this.noticed.clear()
    this.graftBudget.clear()
    this.tree.stop()
  }
}

/** Records in `map` that `peer` holds `record`'s version or a newer one (bounded by peers × configured names). */
function remember (map: Map<string, Map<string, SignedRecord>>, peer: string, record: SignedRecord): void {
  let m = map.get(peer)
  if (m === undefined) { m = new Map(); map.set(peer, m) }
  const prev = m.get(record.name)
  if (prev === undefined || compareVersions(record, prev) > 0) m.set(record.name, record)
}

function atLeast (map: Map<string, Map<string, SignedRecord>>, peer: string, record: SignedRecord): boolean {
  const prev = map.get(peer)?.get(record.name)
  return prev !== undefined && compareVersions(prev, record) >= 0
}

function nameBytes (name: string): Buffer {
  const n = Buffer.from(name, 'utf8')
  if (n.length === 0 || n.length > MAX_NAME_BYTES) throw new Error(`name of ${n.length} bytes cannot be announced`)
  return n
}

export function encodeIhave (records: SignedRecord[]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(IHAVE), u16(records.length)]
  for (const r of records) {
    const n = nameBytes(r.name)
    parts.push(Uint8Array.of(n.length), n, u64(r.timestamp), recordId(r))
  }
  return concat(parts)
}

export function encodeGraft (name: string, id: Uint8Array): Uint8Array {
  const n = nameBytes(name)
  return concat([Uint8Array.of(GRAFT), Uint8Array.of(n.length), n, id])
}

/** Parses a name at `at`: u8 length, 1..MAX_NAME_BYTES bytes; a peer fault when it does not fit. */
function readName (b: Buffer, at: number, what: string): [string, number] {
  if (at >= b.length) throw new WireError('peer', `${what}: truncated`)
  const len = b[at]
  if (len === 0 || at + 1 + len > b.length) throw new WireError('peer', `${what}: bad name length ${len}`)
  return [b.subarray(at + 1, at + 1 + len).toString('utf8'), at + 1 + len]
}

export function decodeIhave (head: Uint8Array): Notice[] {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength)
  if (b.length < 3) throw new WireError('peer', 'IHAVE: truncated')
  const count = b.readUInt16BE(1)
  if (count === 0 || count > IHAVE_MAX) throw new WireError('peer', `IHAVE with ${count} notices (1 to ${IHAVE_MAX})`)
  const out: Notice[] = []
  let at = 3
  for (let i = 0; i < count; i++) {
    const [name, next] = readName(b, at, 'IHAVE')
    if (next + 40 > b.length) throw new WireError('peer', 'IHAVE: truncated notice')
    const timestamp = Number(b.readBigUInt64BE(next))
    if (!Number.isSafeInteger(timestamp)) throw new WireError('peer', 'IHAVE: timestamp out of range')
    out.push({ name, timestamp, id: new Uint8Array(b.subarray(next + 8, next + 40)) })
    at = next + 40
  }
  if (at !== b.length) throw new WireError('peer', 'IHAVE: bytes after the last notice')
  return out
}

export function decodeGraft (head: Uint8Array): { name: string, id: Uint8Array } {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength)
  const [name, at] = readName(b, 1, 'GRAFT')
  if (at + 32 !== b.length) throw new WireError('peer', 'GRAFT: not a name and a 32-byte record id')
  return { name, id: new Uint8Array(b.subarray(at)) }
}
