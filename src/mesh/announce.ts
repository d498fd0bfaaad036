// /data-mesher/announce/1.0.0 — eager spread. When this node accepts a new version (from
// its API or from a peer) it pushes the record (a few hundred bytes, no content) to every
// connected peer at once. A receiver offers it to its replica; if the replica accepts
// it (after fetching the content), the receiver announces it in turn. So a record is
// forwarded only by nodes that verified it and hold its content, and a receiver can
// always fetch from the peer that announced it.
//
//   stream (one direction) = frame(record) * n, then the sender closes; n ≤ announceMaxRecords
//
// Each peer has its own queue and sender, so a slow peer delays only itself; a queue
// keeps one (the newest) record per name and is bounded (anti-entropy repairs overflow).
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { decodeRecord, encodeRecord, RecordFormatError, type SignedRecord } from '../crypto/record.js'
import { compareVersions } from '../rule/which-version-wins.js'
import type { MeshLibp2p } from './node.js'
import { MAX_RECORD_FRAME, PROTOCOLS, type MeshSettings } from './settings.js'
import { StreamReader, WireError, closeWrite, frame, send } from './wire.js'
import type { Punish } from './fetch.js'

interface PeerQueue { pending: Map<string, SignedRecord>, running: boolean }

export class Announcer {
  private readonly queues = new Map<string, PeerQueue>()
  private stopped = false
  counters = { sent: 0, received: 0 }

  constructor (
    private readonly libp2p: MeshLibp2p,
    private readonly settings: MeshSettings,
    private readonly log: Logger,
    private readonly punish: Punish,
    private readonly admits: (peer: PeerId) => boolean,
    /** called for every well-formed record received */
    private readonly onRecord: (record: SignedRecord, from: PeerId) => void
  ) {}

  /** Queues `record` for every connected peer except `except`. */
  broadcast (record: SignedRecord, except?: string): void {
    if (this.stopped) return
    for (const peer of this.libp2p.getPeers()) {
      const id = peer.toString()
      if (id === except || !this.admits(peer)) continue
      let q = this.queues.get(id)
      if (q === undefined) { q = { pending: new Map(), running: false }; this.queues.set(id, q) }
      const prev = q.pending.get(record.name)
      if (prev !== undefined && compareVersions(prev, record) >= 0) continue
      q.pending.delete(record.name) // re-insert at the end (Map keeps insertion order)
      q.pending.set(record.name, record)
      if (q.pending.size > this.settings.announceQueueMax) q.pending.delete(q.pending.keys().next().value!)
      if (!q.running) void this.drain(peer, q)
    }
  }

  /** Forgets a disconnected peer's queue. */
  dropPeer (peer: PeerId): void {
    const q = this.queues.get(peer.toString())
    if (q !== undefined && !q.running) this.queues.delete(peer.toString())
    else if (q !== undefined) q.pending.clear()
  }

  private async drain (peer: PeerId, q: PeerQueue): Promise<void> {
    q.running = true
    try {
      while (q.pending.size > 0 && !this.stopped) {
        const batch: SignedRecord[] = []
        for (const [name, r] of q.pending) {
          batch.push(r)
          q.pending.delete(name)
          if (batch.length >= this.settings.announceMaxRecords) break
        }
        try {
          await this.sendBatch(peer, batch)
          this.counters.sent += batch.length
        } catch (err) {
          // the peer is gone or slow: drop what was for it; anti-entropy repairs
          this.log.debug({ peer: peer.toString(), err: (err as Error).message, records: batch.length }, 'announce failed')
          if (this.libp2p.getConnections(peer).length === 0) q.pending.clear()
        }
      }
    } finally {
      q.running = false
      if (q.pending.size === 0) this.queues.delete(peer.toString())
    }
  }

  private async sendBatch (peer: PeerId, batch: SignedRecord[]): Promise<void> {
    const conn = this.libp2p.getConnections(peer).find(c => c.status === 'open')
    if (conn === undefined) throw new Error('not connected')
    const deadline = Date.now() + this.settings.announceTimeout
    const stream = await conn.newStream(PROTOCOLS.announce, { signal: AbortSignal.timeout(this.settings.announceTimeout) })
    try {
      for (const r of batch) await send(stream, frame(encodeRecord(r)), deadline)
      await closeWrite(stream, deadline)
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer
    const s = this.settings
    const reader = new StreamReader(stream, Date.now() + s.announceTimeout, s.announceMaxRecords * (MAX_RECORD_FRAME + 2))
    try {
      for (let n = 0; ; n++) {
        const bytes = await reader.frame(MAX_RECORD_FRAME)
        if (bytes === undefined) break
        if (n >= s.announceMaxRecords) throw new WireError('peer', `more than ${s.announceMaxRecords} records on one announce stream`)
        let record: SignedRecord
        try { record = decodeRecord(bytes) } catch (err) {
          if (err instanceof RecordFormatError) throw new WireError('peer', `malformed record: ${err.message}`)
          throw err
        }
        this.counters.received++
        this.onRecord(record, peer)
      }
      await closeWrite(stream, Date.now() + 1000)
    } catch (err) {
      stream.abort(err as Error)
      if (err instanceof WireError && err.fault === 'peer') this.punish(peer, `announce: ${err.message}`)
      else this.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'announce stream failed')
    }
  }

  stop (): void {
    this.stopped = true
    for (const q of this.queues.values()) q.pending.clear()
  }
}
