// /data-mesher/announce/3.2.0, 3.1.0 and 3.0.0 — spreading a new version along a broadcast tree (Plumtree,
// Leitão et al. 2007). This file is the tree's adapter to libp2p: the wire format, the
// streams and one timer; every decision (eager or lazy, what waits for whom, when to
// graft, budgets) is the pure core's, proto/tree.ts. When this node accepts a new
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
// announce/3.1.0 is the same with hop counts, for the tree's shape (proto/tree.ts):
//   message = frame(0x01 u8(hops) record) frame(inline)                FULL
//           | frame(0x02 u16be(count) notice{count})                  IHAVE, notice = … record_id[32] u8(hops)
//           | frame(0x03 u8(len(name)) name record_id[32]) | frame(0x03)   GRAFT; bare: asks for no version
//           | frame(0x04)                                             PRUNE
//   hops    = how many hops the version travelled to the sender (0: it made it), 255: unknown
// announce/3.2.0 is 3.1.0 with a flags byte after the tag of FULL and IHAVE, for the
// reshape flood (proto/tree.ts ReshapeOptions; docs/DECISIONS.md, "A reshape flood after cuts"):
//   message = frame(0x01 u8(flags) u8(hops) record) frame(inline)       FULL, flags bit 0: MARK (a reshape flood)
//           | frame(0x02 u8(flags) u16be(count) notice{count})         IHAVE, flags bit 0: WANT (the sender wants a reshape)
//           | GRAFT and PRUNE as in 3.1.0
//   the other bits of flags are 0 (else a protocol violation)
// The opener offers 3.2.0, then 3.1.0, then 3.0.0 (multistream-select picks the first the
// other side handles), and writes the format of the id selected; a receiver reads its
// stream in the format of the id it was opened with. A node may be started with fewer ids
// (MeshOptions.announceProtocols: it then neither handles nor offers the others), which
// the tests use to stand for an older release in a mixed fleet; the daemon speaks all three. Hop counts from a 3.0.0 peer are
// unknown, which never moves a link; a bare GRAFT is not sent on 3.0.0 (it cannot be said);
// a peer on 3.1.0 or 3.0.0 is sent no mark nor want (it neither floods on nor passes one).
//
// GRAFT and PRUNE travel on the sender's own outbound stream (the one it announces on),
// so each stream still has one writer.
//
// Why one long-lived stream: opening a libp2p stream costs a multistream-select round and
// a peer-store update on both sides, which dominated the CPU per update per node when every
// announcement had its own stream (bench/, docs/DECISIONS.md). The sender closes an idle
// stream after announceIdleClose; the receiver drops one silent for announceIdleTimeout.
//
// Each peer has its own queue and at most one write under way (proto/tree.ts), so a slow
// peer delays only itself; a queue keeps one (the newest) record per name and is bounded
// (anti-entropy repairs overflow). A full record goes at once; a notice waits
// announceIhaveDelay, so that the tree delivers first and a peer that told us it holds the
// version by then is not told (settings.ts says why).
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { MAX_NAME_BYTES } from '../crypto/names.js'
import { decodeRecord, encodeRecord, recordId, RecordFormatError, type SignedRecord } from '../crypto/record.js'
import { compareVersions } from '../rule/which-version-wins.js'
import { endExchange, type MeshContext } from './context.js'
import { connectedPeers, type MeshLibp2p } from './node.js'
import { MAX_RECORD_FRAME, PROTOCOLS, type AnnounceSettings } from './settings.js'
import { TreeCore, reshapeOptionsFrom, type Notice, type TreeAction, type TreeCounters, type TreeEvent } from './proto/tree.js'
import { StreamReader, WireError, closeWrite, concat, frame, send, u16, u64 } from './wire.js'

export type { Notice } from './proto/tree.js'

const EMPTY = new Uint8Array(0)

/** Message tags (the first byte of a message's first frame); FULL and IHAVE also tag the bench's relays' messages (bench/relay-floor.ts). */
export const FULL = 0x01
export const IHAVE = 0x02
const GRAFT = 0x03
const PRUNE = 0x04
/** announce/3.1.0: a hop count that is unknown (or 255 and more) */
export const HOPS_UNKNOWN = 255
/** notices in one IHAVE message, at most (a protocol limit: a receiver refuses more) */
export const IHAVE_MAX = 256
const NOTICE_MAX_BYTES = 1 + MAX_NAME_BYTES + 8 + 32 + 1
/** announce/3.2.0's flags: bit 0 of a FULL's is the reshape flood's MARK, bit 0 of an IHAVE's the WANT */
export const FLAG_MARK = 0x01
export const FLAG_WANT = 0x01
/** the first frame of a message is at most this long: a FULL's record (flags and hop count) or a full IHAVE (flags) */
export const MAX_MESSAGE_FRAME = Math.max(3 + MAX_RECORD_FRAME, 1 + 1 + 2 + IHAVE_MAX * NOTICE_MAX_BYTES)

/** The announce ids, newest first: what a node handles and offers unless told fewer (MeshOptions.announceProtocols). */
export const ANNOUNCE_PROTOCOLS: readonly string[] = [PROTOCOLS.announceReshape, PROTOCOLS.announceHops, PROTOCOLS.announce]

export class AnnounceProtocolsError extends Error {
  override name = 'AnnounceProtocolsError'
}

/**
 * The announce ids a node is to handle and offer: `ids` (all of ANNOUNCE_PROTOCOLS when
 * undefined), newest first whatever their order, so that the opener still offers the
 * newest it has first. Fewer ids stand for an older release (tests: a fleet upgraded in turn).
 */
export function announceProtocols (ids?: readonly string[]): string[] {
  if (ids === undefined) return [...ANNOUNCE_PROTOCOLS]
  const unknown = ids.filter(id => !ANNOUNCE_PROTOCOLS.includes(id))
  if (unknown.length > 0) throw new AnnounceProtocolsError(`not an announce protocol: ${unknown.join(', ')}`)
  const out = ANNOUNCE_PROTOCOLS.filter(id => ids.includes(id))
  if (out.length === 0) throw new AnnounceProtocolsError('a node needs at least one announce protocol')
  return out
}

/** Which of the three formats a stream speaks: announce/3.1.0 carries hop counts, 3.2.0 the reshape flood's flags besides. */
export type Format = 'reshape' | 'hops' | 'plain'
export const formatOf = (protocol: string | undefined): Format => protocol === PROTOCOLS.announceReshape ? 'reshape' : protocol === PROTOCOLS.announceHops ? 'hops' : 'plain'
/** whether `format` carries hop counts (3.1.0 and 3.2.0) */
export const withHops = (format: Format | undefined): boolean => format === 'hops' || format === 'reshape'
const wireHops = (h: number | undefined): number => h === undefined || h < 0 ? HOPS_UNKNOWN : Math.min(h, HOPS_UNKNOWN)
const readHops = (b: number): number | undefined => b === HOPS_UNKNOWN ? undefined : b

/** What the tree carries here: a record, and its content when that travels inline (else empty). */
interface Carried { record: SignedRecord, inline: Uint8Array }
const carried = (record: SignedRecord): Carried => ({ record, inline: EMPTY })

/** A peer the core may send to, and its outbound stream (one writer: the core has at most one send per peer out). */
interface Outbound {
  peer: PeerId
  stream?: Stream
  /** the format of `stream` (the protocol id selected when it was opened) */
  format?: Format
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

export interface AnnounceCounters extends TreeCounters {
  /** the bytes of the IHAVE messages sent */
  ihaveBytes: number
  streamsOpened: number
  /** peers the core was told of that went, their last connection lost (reset, timed out, crashed) or hung up by either end */
  linksLost: number
  linksHungUp: number
}

export class Announcer {
  private readonly core: TreeCore<Carried>
  /** the peers the core was told are up, with their outbound streams */
  private readonly outbound = new Map<string, Outbound>()
  /** the one timer: armed for the core's latest `wake` */
  private timer?: NodeJS.Timeout
  private stopped = false
  private feeding = false
  private readonly events: Array<TreeEvent<Carried>> = []
  private ihaveBytes = 0
  private streamsOpened = 0
  private linksLost = 0
  private linksHungUp = 0
  /**
   * the FULL being offered to the replica right now: a broadcast it causes (receive.ts
   * forwards it at once) travelled one hop more, and follows its reshape flood if it came marked
   */
  private arriving?: { peer: string, record: SignedRecord, hops: number | undefined, mark: boolean }

  private readonly libp2p: MeshLibp2p
  private readonly settings: AnnounceSettings
  private readonly log: MeshContext['log']
  private readonly admits: MeshContext['admits']

  /**
   * `protocols`: the announce ids this node handles and offers, newest first
   * (announceProtocols(); all three unless the node stands for an older release)
   */
  constructor (private readonly ctx: MeshContext, private readonly delegate: AnnounceDelegate, readonly protocols: readonly string[] = ANNOUNCE_PROTOCOLS) {
    this.libp2p = ctx.libp2p
    this.settings = ctx.settings
    this.log = ctx.log
    this.admits = ctx.admits
    this.core = new TreeCore<Carried>(ctx.settings, {
      name: c => c.record.name,
      compare: (a, b) => compareVersions(a.record, b.record),
      stillMissing: n => this.delegate.judgeNotice(n) === 'missing'
    }, Math.random, reshapeOptionsFrom(ctx.settings))
  }

  get counters (): AnnounceCounters { return { ...this.core.counters, ihaveBytes: this.ihaveBytes, streamsOpened: this.streamsOpened, linksLost: this.linksLost, linksHungUp: this.linksHungUp } }

  /**
   * Remembers that `peer` holds `record` (or a newer version), so it is not sent that
   * version again. The caller passes only records of configured names, which bounds this
   * map by peers × names.
   */
  markKnown (peer: PeerId | string, record: SignedRecord): void {
    if (!this.stopped) this.feed({ kind: 'known', peer: peer.toString(), record: carried(record) })
  }

  /** Eager and lazy connected peers (tests, diagnostics). */
  links (): { eager: string[], lazy: string[] } {
    return this.core.links(connectedPeers(this.libp2p).filter(p => this.admits(p)).map(String))
  }

  /** What travels inline with a FULL: the content when it is whole and small enough, else nothing (fetched). */
  private inlineFor (record: SignedRecord, content?: Uint8Array): Uint8Array {
    return content !== undefined && content.length === record.size && record.size <= this.settings.announceInlineMax ? content : EMPTY
  }

  /**
   * Sends `record` to every connected peer not known to hold it (and not `except`): the
   * full record to eager peers, with `content` inline when the file is small enough, a
   * notice to lazy ones. `hops`: how many hops it travelled here (0: made here); by
   * default one more than the FULL it came with, when that is being offered now, else unknown.
   * `quiet`: lazy peers get no notice (its signer floods, receive.ts: its newer versions
   * keep coming down the tree, and a notice would only have them grafted).
   */
  broadcast (record: SignedRecord, content?: Uint8Array, except?: string, hops?: number, quiet = false): void {
    if (this.stopped) return
    const a = this.arriving
    const arriving = a !== undefined && a.peer === except && compareVersions(a.record, record) === 0
    if (hops === undefined && arriving && a.hops !== undefined) hops = a.hops + 1
    // a version stored later (its content fetched first) is not followed: its flood went on without this node
    const reshape = arriving && a.mark ? true : undefined
    this.reconcile()
    this.feed({ kind: 'stored', record: { record, inline: this.inlineFor(record, content) }, except, hops, quiet, reshape })
  }

  /**
   * A peer connected and was admitted: the core hears of it now, not at the next broadcast,
   * so that a node with no eager link left grafts it at once (proto/tree.ts peerUp).
   */
  addPeer (peer: PeerId): void {
    if (!this.stopped && this.admits(peer)) this.ensureUp(peer)
  }

  /**
   * Forgets a disconnected peer: its queue, its stream, its link and what it was known to
   * hold. `lost`: its connection was lost (reset, timed out, the peer crashed), not hung up
   * by either end (link-ends.ts): only lost links count towards a reshape (proto/tree.ts).
   */
  dropPeer (peer: PeerId, lost = false): void {
    const id = peer.toString()
    const out = this.outbound.get(id)
    out?.stream?.abort(new Error('peer disconnected'))
    this.outbound.delete(id)
    if (out !== undefined) { if (lost) this.linksLost++; else this.linksHungUp++ }
    if (!this.stopped) this.feed({ kind: 'down', peer: id, lost })
  }

  /** Tells the core of every connected, admitted peer (before it picks peers to send to). */
  private reconcile (): void {
    for (const p of connectedPeers(this.libp2p)) if (this.admits(p)) this.ensureUp(p)
  }

  private ensureUp (peer: PeerId): void {
    const id = peer.toString()
    if (this.outbound.has(id)) return
    this.outbound.set(id, { peer })
    this.feed({ kind: 'up', peer: id })
  }

  /**
   * Hands the core an event and carries out what it answers. An event raised while the
   * actions of another are carried out waits for them to finish, so that actions are
   * carried out in the order the core gave them (a later `wake` replaces an earlier one).
   */
  private feed (e: TreeEvent<Carried>): void {
    this.events.push(e)
    if (this.feeding) return
    this.feeding = true
    try {
      for (let next = this.events.shift(); next !== undefined; next = this.events.shift()) {
        for (const a of this.core.handle(next, Date.now())) this.act(a)
      }
    } finally {
      this.feeding = false
    }
  }

  private act (a: TreeAction<Carried>): void {
    switch (a.kind) {
      case 'send': {
        const out = this.outbound.get(a.peer)
        if (out === undefined) { this.feed({ kind: 'send-failed', peer: a.peer, gone: true }); return }
        void this.send(out, a)
        return
      }
      case 'answer-graft': void this.answerGraft(a.peer, a.name, a.id); return
      case 'close': {
        const out = this.outbound.get(a.peer)
        const stream = out?.stream
        if (out === undefined || stream === undefined) return
        out.stream = undefined
        void closeWrite(stream, Date.now() + this.settings.announceTimeout)
        return
      }
      case 'wake':
        clearTimeout(this.timer)
        this.timer = setTimeout(() => {
          this.timer = undefined
          if (this.stopped) return
          this.reconcile()
          this.feed({ kind: 'tick' })
        }, Math.max(0, a.at - Date.now()))
        this.timer.unref()
    }
  }

  /** Writes one send of the core's, and tells it how that went (unless the peer was dropped meanwhile). */
  private async send (out: Outbound, a: TreeAction<Carried> & { kind: 'send' }): Promise<void> {
    try {
      const ihaveBytes = await this.write(out, a)
      this.ihaveBytes += ihaveBytes
      if (this.stopped || this.outbound.get(a.peer) !== out) return
      this.feed({ kind: 'sent', peer: a.peer })
    } catch (err) {
      // the peer is gone or slow: what was for it is dropped; anti-entropy repairs
      this.log.debug({ peer: a.peer, err: (err as Error).message, records: a.full.length + a.ihave.length }, 'announce failed')
      out.stream?.abort(err as Error)
      out.stream = undefined
      if (this.stopped || this.outbound.get(a.peer) !== out) return
      const gone = this.libp2p.getConnections(out.peer).length === 0
      if (gone) this.outbound.delete(a.peer)
      this.feed({ kind: 'send-failed', peer: a.peer, gone })
    }
  }

  /** An open stream to the peer: its own, or a new one. */
  private async streamFor (out: Outbound): Promise<Stream> {
    const s = out.stream
    if (s !== undefined && s.status === 'open' && s.writeStatus === 'writable') return s
    out.stream = undefined
    const conn = this.libp2p.getConnections(out.peer).find(c => c.status === 'open')
    if (conn === undefined) throw new Error('not connected')
    // the newest format first; a peer that does not handle it selects 3.1.0 or 3.0.0
    const stream = await conn.newStream([...this.protocols], { signal: AbortSignal.timeout(this.settings.announceTimeout) })
    this.streamsOpened++
    stream.addEventListener('close', () => { if (out.stream === stream) out.stream = undefined }, { once: true })
    out.stream = stream
    out.format = formatOf(stream.protocol)
    return stream
  }

  /** Writes one turn's messages (control first, then full records, then the notices); returns the IHAVE bytes. */
  private async write (out: Outbound, a: TreeAction<Carried> & { kind: 'send' }): Promise<number> {
    const stream = await this.streamFor(out)
    const hops = withHops(out.format)
    // 3.2.0: each FULL says whether it is a reshape flood's copy, each IHAVE whether this node wants one
    const flags = out.format === 'reshape'
    const deadline = Date.now() + this.settings.announceTimeout
    const messages: Uint8Array[] = []
    if (a.prune) messages.push(frame(Uint8Array.of(PRUNE)))
    if (a.graftLink && hops) messages.push(frame(Uint8Array.of(GRAFT)))
    for (const g of a.grafts) messages.push(frame(encodeGraft(g.name, g.id)))
    for (const [i, c] of a.full.entries()) {
      messages.push(frame(encodeFull(c.record, hops ? a.fullHops[i] ?? null : undefined, flags ? a.fullReshape?.[i] === true : undefined)), frame(c.inline))
    }
    // the core puts at most announceIhaveMax notices in one send; never more than a receiver takes in one message
    const notices = a.ihave.map(c => c.record)
    let ihaveBytes = 0
    for (let i = 0; i < notices.length; i += IHAVE_MAX) {
      const m = frame(encodeIhave(notices.slice(i, i + IHAVE_MAX), hops ? a.ihaveHops.slice(i, i + IHAVE_MAX) : undefined, flags ? a.wantReshape === true : undefined))
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

  /** Reads the version a peer grafted (the core said it may), and hands it back to the core. */
  private async answerGraft (peer: string, name: string, id: Uint8Array): Promise<void> {
    let answer: Carried | undefined
    try {
      const got = await this.delegate.forGraft(name, id, r => this.core.holdsOrQueued(peer, carried(r)))
      if (got !== undefined) answer = { record: got.record, inline: this.inlineFor(got.record, got.content) }
    } catch (err) {
      this.log.debug({ name, err: (err as Error).message }, 'could not answer a graft')
    }
    if (!this.stopped) this.feed({ kind: 'graft-answer', peer, name, record: answer })
  }

  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer
    const id = peer.toString()
    const s = this.settings
    const format = formatOf(stream.protocol)
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
        if (this.stopped) continue
        this.ensureUp(peer) // it talks to us: connected and admitted (the gate let its stream in)
        switch (head[0]) {
          case FULL: await this.receiveFull(peer, head, format, reader); break
          case IHAVE: {
            const { notices, want } = decodeIhaveMessage(head, format)
            if (this.core.withinBudget(id, Date.now())) this.receiveIhave(id, notices, want)
            break
          }
          case GRAFT: {
            if (withHops(format) && head.length === 1) { this.feed({ kind: 'graft-link', from: id }); break }
            const g = decodeGraft(head)
            this.feed({ kind: 'graft', from: id, name: g.name, id: g.id })
            break
          }
          case PRUNE:
            if (head.length !== 1) throw new WireError('peer', 'PRUNE with a payload')
            this.feed({ kind: 'prune', from: id })
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
   * A FULL: within the sender's budget of messages (checked before anything is decoded or
   * verified: beyond it the message is read and dropped unjudged), offered to the replica,
   * and what it was to this node goes to the core (a duplicate prunes the link).
   */
  private async receiveFull (peer: PeerId, head: Uint8Array, format: Format, reader: StreamReader): Promise<void> {
    const inline = await reader.frame(this.settings.announceInlineMax)
    if (inline === undefined) throw reader.closed('stream ended between a record and its content')
    const id = peer.toString()
    if (!this.core.withinBudget(id, Date.now())) return
    const { record, hops, mark } = decodeFull(head, format)
    if (inline.length !== 0 && inline.length !== record.size) {
      throw new WireError('peer', `inline content of ${inline.length} bytes for a record of ${record.size}`)
    }
    this.arriving = { peer: id, record, hops, mark }
    let arrival: Arrival
    try {
      arrival = this.delegate.onRecord(record, peer, inline.length === record.size ? inline : undefined)
    } finally {
      this.arriving = undefined
    }
    if (!this.stopped) this.feed({ kind: 'full', from: id, record: carried(record), arrival, hops: hops === undefined ? undefined : hops + 1, reshape: mark ? true : undefined })
  }

  private receiveIhave (from: string, notices: Notice[], want: boolean): void {
    const judged = notices.map(notice => {
      const v = this.delegate.judgeNotice(notice)
      return { notice, verdict: typeof v === 'string' ? v : { holds: carried(v.holds) } }
    })
    this.feed({ kind: 'ihave', from, notices: judged, wantReshape: want ? true : undefined })
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    for (const out of this.outbound.values()) out.stream?.abort(new Error('stopping'))
    this.outbound.clear()
  }
}

function nameBytes (name: string): Buffer {
  const n = Buffer.from(name, 'utf8')
  if (n.length === 0 || n.length > MAX_NAME_BYTES) throw new Error(`name of ${n.length} bytes cannot be announced`)
  return n
}

/**
 * An IHAVE message: announce/3.0.0's without `hops`, 3.1.0's with a hop count per record
 * (undefined: unknown), 3.2.0's when `want` is given too (whether the sender wants a reshape).
 */
export function encodeIhave (records: SignedRecord[], hops?: Array<number | undefined>, want?: boolean): Uint8Array {
  if (want !== undefined && hops === undefined) throw new Error('announce/3.2.0 notices carry hop counts')
  const parts: Uint8Array[] = want === undefined ? [Uint8Array.of(IHAVE), u16(records.length)] : [Uint8Array.of(IHAVE, want ? FLAG_WANT : 0), u16(records.length)]
  for (const [i, r] of records.entries()) {
    const n = nameBytes(r.name)
    parts.push(Uint8Array.of(n.length), n, u64(r.timestamp), recordId(r))
    if (hops !== undefined) parts.push(Uint8Array.of(wireHops(hops[i])))
  }
  return concat(parts)
}

/**
 * A FULL's first frame: announce/3.0.0's when `hops` is absent, else 3.1.0's (null:
 * unknown), or 3.2.0's when `mark` is given too (whether it is a reshape flood's copy).
 */
export function encodeFull (record: SignedRecord, hops?: number | null, mark?: boolean): Uint8Array {
  if (hops === undefined) {
    if (mark !== undefined) throw new Error('announce/3.2.0 FULLs carry a hop count')
    return concat([Uint8Array.of(FULL), encodeRecord(record)])
  }
  return mark === undefined
    ? concat([Uint8Array.of(FULL, wireHops(hops ?? undefined)), encodeRecord(record)])
    : concat([Uint8Array.of(FULL, mark ? FLAG_MARK : 0, wireHops(hops ?? undefined)), encodeRecord(record)])
}

/** A flags byte of announce/3.2.0: only `known` bits may be set. */
function readFlags (b: number, known: number, what: string): number {
  if ((b & ~known) !== 0) throw new WireError('peer', `${what}: unknown flags 0x${b.toString(16)}`)
  return b
}

/**
 * A FULL's first frame (tag included) in `format`: the record, the sender's hop count
 * (3.1.0 and 3.2.0; undefined: unknown) and whether it came marked as a reshape flood (3.2.0).
 */
export function decodeFull (head: Uint8Array, format: Format): { record: SignedRecord, hops: number | undefined, mark: boolean } {
  const at = format === 'reshape' ? 3 : format === 'hops' ? 2 : 1
  if (head.length <= at) throw new WireError('peer', 'FULL: truncated')
  const mark = format === 'reshape' && (readFlags(head[1], FLAG_MARK, 'FULL') & FLAG_MARK) !== 0
  const hops = withHops(format) ? readHops(head[at - 1]) : undefined
  try {
    return { record: decodeRecord(head.subarray(at)), hops, mark }
  } catch (err) {
    if (err instanceof RecordFormatError) throw new WireError('peer', `malformed record: ${err.message}`)
    throw err
  }
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

/** An IHAVE message's notices (as decodeIhaveMessage). */
export function decodeIhave (head: Uint8Array, format: Format = 'plain'): Notice[] {
  return decodeIhaveMessage(head, format).notices
}

/** An IHAVE message in `format`: its notices, and whether the sender wants a reshape (3.2.0's WANT; else false). */
export function decodeIhaveMessage (head: Uint8Array, format: Format = 'plain'): { notices: Notice[], want: boolean } {
  const tail = withHops(format) ? 1 : 0
  const start = format === 'reshape' ? 2 : 1
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength)
  if (b.length < start + 2) throw new WireError('peer', 'IHAVE: truncated')
  const want = format === 'reshape' && (readFlags(b[1], FLAG_WANT, 'IHAVE') & FLAG_WANT) !== 0
  const count = b.readUInt16BE(start)
  if (count === 0 || count > IHAVE_MAX) throw new WireError('peer', `IHAVE with ${count} notices (1 to ${IHAVE_MAX})`)
  const out: Notice[] = []
  let at = start + 2
  for (let i = 0; i < count; i++) {
    const [name, next] = readName(b, at, 'IHAVE')
    if (next + 40 + tail > b.length) throw new WireError('peer', 'IHAVE: truncated notice')
    const timestamp = Number(b.readBigUInt64BE(next))
    if (!Number.isSafeInteger(timestamp)) throw new WireError('peer', 'IHAVE: timestamp out of range')
    const notice: Notice = { name, timestamp, id: new Uint8Array(b.subarray(next + 8, next + 40)) }
    if (tail === 1) notice.hops = readHops(b[next + 40])
    out.push(notice)
    at = next + 40 + tail
  }
  if (at !== b.length) throw new WireError('peer', 'IHAVE: bytes after the last notice')
  return { notices: out, want }
}

export function decodeGraft (head: Uint8Array): { name: string, id: Uint8Array } {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength)
  const [name, at] = readName(b, 1, 'GRAFT')
  if (at + 32 !== b.length) throw new WireError('peer', 'GRAFT: not a name and a 32-byte record id')
  return { name, id: new Uint8Array(b.subarray(at)) }
}
