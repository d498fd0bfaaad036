// /data-mesher/fetch/2.0.0 — content travels apart from announcements, on demand, from
// any peer that has it (the announcer first), and only once the record passed the rule.
//
//   request  = frame( u16be(len(name)) name record_id(32) )
//   response = frame( u8(status) [u64be(size) when status = 0] ) then, when 0, `size` raw bytes
//   status     0 = here it is, 1 = not here, 2 = busy (this node serves enough fetches now)
//   record_id  = sha256(encoded record): the exact version, not just its content hash
//
// Why the exact version (2.0.0; 1.0.0 asked for name + sha256): two records can share a
// content hash and differ in size (a signer can craft one), and an honest peer that
// served the bytes of its own version was then punished for "the wrong size". A peer
// serves only the very record it was asked for, and is blamed only for bytes that do not
// match it; "not here" is never an offence.
//
// The requester verifies size and sha256 before handing the content to the replica (a
// peer that serves wrong bytes is punished); the replica takes the content as verified.
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { recordId, recordIdHex, type SignedRecord } from '../crypto/record.js'
import { MAX_NAME_BYTES } from '../crypto/names.js'
import { verifyContent, type VerifiedContent } from '../rule/which-version-wins.js'
import { ContentMismatchError, type ContentReader } from '../store/content-reader.js'
import { endExchange, type MeshContext } from './context.js'
import { connectedPeers } from './node.js'
import type { ReplicaPort } from './replica-port.js'
import { ServeSlots } from './serve-slots.js'
import { shuffle } from './shuffle.js'
import { PROTOCOLS } from './settings.js'
import { StreamReader, WireError, closeWrite, concat, frame, send, u16, u64 } from './wire.js'

const MAX_REQUEST = 2 + MAX_NAME_BYTES + 32
const STATUS_OK = 0
const STATUS_NOT_FOUND = 1
const STATUS_BUSY = 2

export interface FetchCounters {
  /** content fetched from peers, verified */
  fetched: number
  /** bytes of it */
  fetchedBytes: number
  /** content served to peers (complete responses) */
  served: number
  servedBytes: number
  /** fetch attempts that failed or found nothing */
  misses: number
  /** requests answered "busy": the serve slots (per peer or in total) were taken */
  busy: number
}

/** Hints are kept per exact version: a peer that offered another version of the same content is no source. */
const recordKey = recordIdHex

export function encodeRequest (record: SignedRecord): Uint8Array {
  const n = Buffer.from(record.name, 'utf8')
  return concat([u16(n.length), n, recordId(record)])
}

function decodeRequest (bytes: Uint8Array): { name: string, id: Uint8Array } | undefined {
  if (bytes.length < 2 + 32) return undefined
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const len = b.readUInt16BE(0)
  if (len === 0 || len > MAX_NAME_BYTES || b.length !== 2 + len + 32) return undefined
  return { name: b.subarray(2, 2 + len).toString('utf8'), id: new Uint8Array(b.subarray(2 + len)) }
}

/** A counting semaphore. */
export class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []
  constructor (private readonly max: number) {}
  async run<T> (fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>(resolve => this.waiting.push(resolve))
    this.active++
    try { return await fn() } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

export class Fetcher {
  readonly counters: FetchCounters = { fetched: 0, fetchedBytes: 0, served: 0, servedBytes: 0, misses: 0, busy: 0 }
  /** record key → peers known to have announced or synced it (bounded) */
  private readonly hints = new Map<string, Set<string>>()
  private readonly limiter: Limiter
  private readonly slots: ServeSlots

  private readonly settings: MeshContext['settings']

  constructor (private readonly ctx: MeshContext, private readonly replica: ReplicaPort) {
    this.settings = ctx.settings
    this.limiter = new Limiter(ctx.settings.fetchConcurrency)
    this.slots = new ServeSlots(ctx.settings.fetchServeMaxPerPeer, ctx.settings.fetchServeMaxTotal)
  }

  /** Remembers that `peer` has offered `record` (so it is asked if the first source fails). */
  hint (record: SignedRecord, peer: PeerId): void {
    const key = recordKey(record)
    let set = this.hints.get(key)
    if (set === undefined) {
      if (this.hints.size >= this.settings.fetchHintsMax) this.hints.delete(this.hints.keys().next().value!)
      set = new Set()
      this.hints.set(key, set)
    }
    set.add(peer.toString())
  }

  forget (record: SignedRecord): void { this.hints.delete(recordKey(record)) }

  private candidates (record: SignedRecord, first: PeerId | undefined, tried: Set<string>): PeerId | undefined {
    const connected = connectedPeers(this.ctx.libp2p).filter(p => this.ctx.admits(p))
    const byId = new Map(connected.map(p => [p.toString(), p]))
    const order: string[] = []
    if (first !== undefined) order.push(first.toString())
    order.push(...(this.hints.get(recordKey(record)) ?? []))
    order.push(...shuffle([...byId.keys()]))
    for (const id of order) if (!tried.has(id) && byId.has(id)) return byId.get(id)
    return undefined
  }

  /** The content of `record`, verified, from `first` or else another connected peer. */
  async fetch (record: SignedRecord, first?: PeerId): Promise<VerifiedContent> {
    return await this.limiter.run(async () => {
      const tried = new Set<string>()
      while (tried.size < this.settings.fetchMaxAttempts) {
        const peer = this.candidates(record, first, tried)
        if (peer === undefined) break
        tried.add(peer.toString())
        try {
          const content = await this.fetchFrom(peer, record)
          if (content === undefined) { this.counters.misses++; continue }
          const checked = verifyContent(record, content) // marked verified: the replica does not hash it again
          if ('problem' in checked) {
            this.ctx.punish(peer, `served wrong content: ${checked.problem}`)
            this.counters.misses++
            continue
          }
          this.counters.fetched++
          this.counters.fetchedBytes += content.length
          return checked.content
        } catch (err) {
          this.counters.misses++
          endExchange(this.ctx, undefined, err, peer, 'fetch', { name: record.name }) // fetchFrom aborted its stream
        }
      }
      throw new Error(`no peer could serve the content of "${record.name}" (asked ${tried.size})`)
    })
  }

  private async fetchFrom (peer: PeerId, record: SignedRecord): Promise<Uint8Array | undefined> {
    const conn = this.ctx.libp2p.getConnections(peer).find(c => c.status === 'open')
    if (conn === undefined) return undefined
    const s = this.settings
    let deadline = Date.now() + s.fetchHeaderTimeout
    const stream = await conn.newStream(PROTOCOLS.fetch, { signal: AbortSignal.timeout(s.fetchHeaderTimeout) })
    try {
      const reader = new StreamReader(stream, deadline, 1 + 9 + record.size)
      await send(stream, frame(encodeRequest(record)), deadline)
      await closeWrite(stream, deadline)
      const header = await reader.frame(9)
      if (header === undefined) throw reader.closed('no fetch response')
      if (header.length === 0) throw new WireError('peer', 'empty fetch response')
      // "not here" and "busy" are no offence: ask the next peer
      if ((header[0] === STATUS_NOT_FOUND || header[0] === STATUS_BUSY) && header.length === 1) return undefined
      if (header[0] !== STATUS_OK || header.length !== 9) throw new WireError('peer', 'malformed fetch response')
      const size = Number(Buffer.from(header.buffer, header.byteOffset, 9).readBigUInt64BE(1))
      if (size !== record.size) throw new WireError('peer', `offered ${size} bytes for a record of ${record.size}`)
      deadline = Date.now() + s.fetchSlack + Math.ceil(size / s.fetchMinRate * 1000)
      reader.setDeadline(deadline)
      const content = await reader.bytes(size)
      return content
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** The record `id` names, if this node holds it (current or held back); the replica opens its content. */
  private find (name: string, id: Uint8Array): SignedRecord | undefined {
    for (const r of [this.replica.get(name), this.replica.getHeld(name)]) {
      if (r !== undefined && Buffer.from(recordId(r)).equals(id)) return r
    }
    return undefined
  }

  /**
   * Serves exactly the version asked for, from disk a chunk at a time (a file handle and
   * one chunk in memory per fetch, written with backpressure), within the serve slots.
   */
  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const s = this.settings
    const peer = connection.remotePeer.toString()
    let deadline = Date.now() + s.fetchHeaderTimeout
    const reader = new StreamReader(stream, deadline, MAX_REQUEST + 2)
    let slot = false
    let content: ContentReader | undefined
    try {
      const bytes = await reader.frame(MAX_REQUEST)
      if (bytes === undefined) throw reader.closed('no fetch request')
      const req = decodeRequest(bytes)
      if (req === undefined) throw new WireError('peer', 'malformed fetch request')
      const record = this.find(req.name, req.id)
      let status = STATUS_NOT_FOUND
      if (record !== undefined) {
        slot = this.slots.take(peer)
        if (slot) content = await this.replica.openContent(record)
        else { status = STATUS_BUSY; this.counters.busy++ }
      }
      // every write, the final close included, waits at most the stall timeout for the
      // peer to read: one that stops reading near the end gives its slot back as early as
      // one that stops at the start
      const stall = (): number => Math.min(deadline, Date.now() + s.fetchServeStallTimeout)
      if (content === undefined) {
        await send(stream, frame(Uint8Array.of(status)), deadline)
      } else {
        deadline = Date.now() + s.fetchHeaderTimeout + s.fetchSlack + Math.ceil(content.size / s.fetchMinRate * 1000)
        await send(stream, frame(concat([Uint8Array.of(STATUS_OK), u64(content.size)])), stall())
        for await (const chunk of content.chunks(s.fetchChunk)) await send(stream, chunk, stall())
      }
      await closeWrite(stream, stall())
      if (content !== undefined) {
        this.counters.served++
        this.counters.servedBytes += content.size
      }
    } catch (err) {
      if (err instanceof ContentMismatchError) {
        stream.abort(err)
        this.ctx.log.error({ name: content?.record.name, err: err.message }, 'stored content changed while it was served: transfer ended')
      } else endExchange(this.ctx, stream, err, connection.remotePeer, 'fetch request')
    } finally {
      await content?.close()
      if (slot) this.slots.release(peer)
    }
  }
}
