// /data-mesher/announce/2.0.0 — eager spread. When this node accepts a new version (from
// its API or from a peer) it pushes the record to every connected peer that is not known
// to have it already, with the content inline when the file is small. A receiver offers
// it to its replica and, once it is verified, passes it on in turn.
//
//   stream  = message*        one long-lived stream per peer and direction; only the opener writes
//   message = frame(record) frame(inline)
//   inline  = the content when record.size ≤ announceInlineMax, else empty (then fetched, fetch.ts)
//
// Why one long-lived stream: opening a libp2p stream costs a multistream-select round and
// a peer-store update on both sides, which dominated the CPU per update per node when every
// announcement had its own stream (bench/, docs/DECISIONS.md). The sender closes an idle
// stream after announceIdleClose; the receiver drops one silent for announceIdleTimeout.
//
// Each peer has its own queue and sender, so a slow peer delays only itself; a queue keeps
// one (the newest) record per name and is bounded (anti-entropy repairs overflow).
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { decodeRecord, encodeRecord, RecordFormatError, type SignedRecord } from '../crypto/record.js'
import { compareVersions } from '../rule/which-version-wins.js'
import type { MeshLibp2p } from './node.js'
import { MAX_RECORD_FRAME, PROTOCOLS, type MeshSettings } from './settings.js'
import { StreamReader, WireError, closeWrite, concat, frame, send } from './wire.js'
import type { Punish } from './fetch.js'

const EMPTY = new Uint8Array(0)
/** messages are written in chunks of about this many bytes (one muxer frame each) */
const WRITE_CHUNK = 64 * 1024

interface Outgoing { record: SignedRecord, inline: Uint8Array }

interface Channel {
  pending: Map<string, Outgoing>
  running: boolean
  stream?: Stream
  idleTimer?: NodeJS.Timeout
}

/** A record handed on to the mesh, with its content when it came inline. */
export type OnRecord = (record: SignedRecord, from: PeerId, content: Uint8Array | undefined) => void

export class Announcer {
  private readonly channels = new Map<string, Channel>()
  /** peer → name → the newest version that peer is known to hold (sent to it, or received from it) */
  private readonly known = new Map<string, Map<string, SignedRecord>>()
  private stopped = false
  counters = { sent: 0, received: 0, skipped: 0, streamsOpened: 0 }

  constructor (
    private readonly libp2p: MeshLibp2p,
    private readonly settings: MeshSettings,
    private readonly log: Logger,
    private readonly punish: Punish,
    private readonly admits: (peer: PeerId) => boolean,
    private readonly onRecord: OnRecord
  ) {}

  /**
   * Remembers that `peer` holds `record` (or a newer version), so it is not sent that
   * version again. The caller passes only records of configured names, which bounds this
   * map by peers × names.
   */
  markKnown (peer: PeerId | string, record: SignedRecord): void {
    const id = peer.toString()
    let m = this.known.get(id)
    if (m === undefined) { m = new Map(); this.known.set(id, m) }
    const prev = m.get(record.name)
    if (prev === undefined || compareVersions(record, prev) > 0) m.set(record.name, record)
  }

  private isKnown (peer: string, record: SignedRecord): boolean {
    const prev = this.known.get(peer)?.get(record.name)
    return prev !== undefined && compareVersions(prev, record) >= 0
  }

  /**
   * Queues `record` for every connected peer not known to hold it (and not `except`).
   * `content` is sent inline when the file is small enough.
   */
  broadcast (record: SignedRecord, content?: Uint8Array, except?: string): void {
    if (this.stopped) return
    const inline = content !== undefined && content.length === record.size && record.size <= this.settings.announceInlineMax ? content : EMPTY
    for (const peer of this.libp2p.getPeers()) {
      const id = peer.toString()
      if (id === except || !this.admits(peer)) continue
      if (this.isKnown(id, record)) { this.counters.skipped++; continue }
      let ch = this.channels.get(id)
      if (ch === undefined) { ch = { pending: new Map(), running: false }; this.channels.set(id, ch) }
      const prev = ch.pending.get(record.name)
      if (prev !== undefined && compareVersions(prev.record, record) >= 0) continue
      ch.pending.delete(record.name) // re-insert at the end (Map keeps insertion order)
      ch.pending.set(record.name, { record, inline })
      if (ch.pending.size > this.settings.announceQueueMax) ch.pending.delete(ch.pending.keys().next().value!)
      if (!ch.running) void this.drain(peer, ch)
    }
  }

  /** Forgets a disconnected peer: its queue, its stream and what it was known to hold. */
  dropPeer (peer: PeerId): void {
    const id = peer.toString()
    this.known.delete(id)
    const ch = this.channels.get(id)
    if (ch === undefined) return
    ch.pending.clear()
    clearTimeout(ch.idleTimer)
    ch.stream?.abort(new Error('peer disconnected'))
    ch.stream = undefined
    if (!ch.running) this.channels.delete(id)
  }

  private async drain (peer: PeerId, ch: Channel): Promise<void> {
    ch.running = true
    clearTimeout(ch.idleTimer)
    try {
      while (ch.pending.size > 0 && !this.stopped) {
        const batch: Outgoing[] = []
        for (const [name, o] of ch.pending) {
          batch.push(o)
          ch.pending.delete(name)
          if (batch.length >= this.settings.announceBatch) break
        }
        try {
          await this.write(peer, ch, batch)
          this.counters.sent += batch.length
          for (const o of batch) this.markKnown(peer, o.record)
        } catch (err) {
          // the peer is gone or slow: drop what was for it; anti-entropy repairs
          this.log.debug({ peer: peer.toString(), err: (err as Error).message, records: batch.length }, 'announce failed')
          ch.stream?.abort(err as Error)
          ch.stream = undefined
          if (this.libp2p.getConnections(peer).length === 0) ch.pending.clear()
        }
      }
    } finally {
      ch.running = false
      if (this.stopped || this.libp2p.getConnections(peer).length === 0) {
        ch.stream?.abort(new Error('announcer stopped or peer gone'))
        this.channels.delete(peer.toString())
      } else {
        ch.idleTimer = setTimeout(() => { void this.closeIdle(peer, ch) }, this.settings.announceIdleClose)
        ch.idleTimer.unref()
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

  private async write (peer: PeerId, ch: Channel, batch: Outgoing[]): Promise<void> {
    const stream = await this.streamFor(peer, ch)
    const deadline = Date.now() + this.settings.announceTimeout
    let parts: Uint8Array[] = []
    let size = 0
    for (const o of batch) {
      const msg = [frame(encodeRecord(o.record)), frame(o.inline)]
      parts.push(...msg)
      size += msg[0].length + msg[1].length
      if (size >= WRITE_CHUNK) { await send(stream, concat(parts), deadline); parts = []; size = 0 }
    }
    if (parts.length > 0) await send(stream, concat(parts), deadline)
  }

  private async closeIdle (peer: PeerId, ch: Channel): Promise<void> {
    if (ch.running || ch.pending.size > 0 || this.channels.get(peer.toString()) !== ch) return
    const stream = ch.stream
    ch.stream = undefined
    this.channels.delete(peer.toString())
    if (stream !== undefined) await closeWrite(stream, Date.now() + this.settings.announceTimeout)
  }

  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer
    const s = this.settings
    // A burst may arrive faster than it is parsed: room for a few whole messages.
    const limit = Math.max(1024 * 1024, 4 * (MAX_RECORD_FRAME + s.announceInlineMax + 16))
    const reader = new StreamReader(stream, Date.now() + s.announceIdleTimeout, limit)
    try {
      for (;;) {
        reader.setDeadline(Date.now() + s.announceIdleTimeout)
        const bytes = await reader.frame(MAX_RECORD_FRAME)
        if (bytes === undefined) break // the sender closed an idle stream
        reader.setDeadline(Date.now() + s.announceTimeout)
        const inline = await reader.frame(s.announceInlineMax)
        if (inline === undefined) throw reader.closed('stream ended between a record and its content')
        let record: SignedRecord
        try { record = decodeRecord(bytes) } catch (err) {
          if (err instanceof RecordFormatError) throw new WireError('peer', `malformed record: ${err.message}`)
          throw err
        }
        if (inline.length !== 0 && inline.length !== record.size) {
          throw new WireError('peer', `inline content of ${inline.length} bytes for a record of ${record.size}`)
        }
        this.counters.received++
        this.onRecord(record, peer, inline.length === record.size ? inline : undefined)
      }
      await closeWrite(stream, Date.now() + 1000)
    } catch (err) {
      stream.abort(err as Error)
      if (err instanceof WireError && err.fault === 'peer') this.punish(peer, `announce: ${err.message}`)
      else this.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'announce stream ended')
    }
  }

  stop (): void {
    this.stopped = true
    for (const ch of this.channels.values()) {
      ch.pending.clear()
      clearTimeout(ch.idleTimer)
      ch.stream?.abort(new Error('stopping'))
    }
    this.channels.clear()
    this.known.clear()
  }
}
