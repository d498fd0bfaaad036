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
import { connectedPeers, type MeshLibp2p } from './node.js'
import type { ReplicaPort } from './replica-port.js'
import { FairLimiter, laneOf, QueueDropped, type FairStats } from './proto/fair-limiter.js'
import { ServeSlots } from './serve-slots.js'
import { standingFor, type Standing } from './proto/standing.js'
import { TokenBuckets } from './proto/token-bucket.js'
import { shuffle } from './proto/shuffle.js'
import { PROTOCOLS, type ConnectionLimitSettings, type FetchSettings } from './settings.js'
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
  /** requests answered "busy": the serve slots (per peer or in total) were taken, or the peer's request budget */
  busy: number
  /** second sources asked because the first was slow (fetchHedgeDelay) */
  hedged: number
  /** fetches dropped while waiting their turn (a newer version of the name, the peer's queue full, the peer gone) */
  shed: number
  /** versions a peer announced and then did not serve (standing.ts) */
  strikes: number
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

/** One attempt's end: the content, or why not (a miss is "not here", "busy", or a failure). */
type Attempt = { content: VerifiedContent } | { miss: 'absent' | 'busy' | 'failed' | 'aborted' }
/** how much of a source's answer has arrived so far (set by fetchFrom once it reads) */
interface Progress { received: () => number }
/** how often a source's progress is looked at, once fetchHedgeDelay has passed */
const HEDGE_CHECK_MS = 250

/** What a Fetcher uses of the mesh's context; of libp2p only the open connections (it asks on them). */
export interface FetcherContext extends Pick<MeshContext, 'settings' | 'log' | 'punish' | 'admits'> {
  readonly libp2p: Pick<MeshLibp2p, 'getConnections'>
}

export class Fetcher {
  readonly counters: FetchCounters = { fetched: 0, fetchedBytes: 0, served: 0, servedBytes: 0, misses: 0, busy: 0, hedged: 0, shed: 0, strikes: 0 }
  /** record key → peers known to have announced or synced it (bounded) */
  private readonly hints = new Map<string, Set<string>>()
  private readonly limiter: FairLimiter
  private readonly slots: ServeSlots
  /** fetch requests each peer may still make now (beyond: "busy") */
  private readonly requests: TokenBuckets

  private readonly settings: FetchSettings & Pick<ConnectionLimitSettings, 'maxConnections'>

  constructor (private readonly ctx: FetcherContext, private readonly replica: ReplicaPort, private readonly standing: Standing = standingFor(ctx.settings, Date.now)) {
    const s = this.settings = ctx.settings
    this.limiter = new FairLimiter({ slots: s.fetchConcurrency, namespaceSlots: s.fetchNamespaceSlots, perPeerSlots: s.fetchPerPeerSlots, perPeerQueue: s.fetchPerPeerQueue }, p => standing.share(p))
    this.slots = new ServeSlots(s.fetchServeMaxPerPeer, s.fetchServeMaxTotal)
    this.requests = new TokenBuckets({ burst: s.fetchRequestBurst, perSecond: s.fetchRequestsPerSecond, maxKeys: s.maxConnections }, Date.now)
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

  /** A peer left: its waiting fetches go, and its request budget. */
  dropPeer (peer: string): void {
    this.limiter.dropPeer(peer)
    this.requests.delete(peer)
  }

  queue (): FairStats { return this.limiter.stats() }

  /** Fetches still waiting their turn are dropped (stopping); those under way end with their streams. */
  stop (): void { this.limiter.stop() }

  private candidates (record: SignedRecord, first: string, tried: Set<string>): PeerId | undefined {
    const connected = connectedPeers(this.ctx.libp2p).filter(p => this.ctx.admits(p))
    const byId = new Map(connected.map(p => [p.toString(), p]))
    const order: string[] = []
    if (first !== '') order.push(first)
    order.push(...(this.hints.get(recordKey(record)) ?? []))
    order.push(...shuffle([...byId.keys()], Math.random))
    for (const id of order) if (!tried.has(id) && byId.has(id)) return byId.get(id)
    return undefined
  }

  /**
   * The content of `record`, verified, from `first` or else another connected peer. The
   * fetch waits for its turn among the fetches `first`'s announcements caused (fair
   * shares, configured files first); a source that is slow is hedged: the next source is
   * asked in parallel, and the first to deliver wins. `signal` ends the wait (the content
   * arrived another way).
   */
  async fetch (record: SignedRecord, first?: PeerId, signal?: AbortSignal): Promise<VerifiedContent> {
    const job = this.job(record, signal)
    job.add(first?.toString() ?? '')
    return await job.result
  }

  /**
   * A fetch of `record` that waits in the queue of every peer added (each one that
   * announced it): the first of their turns runs it, asking that peer first.
   */
  job (record: SignedRecord, signal?: AbortSignal): { result: Promise<VerifiedContent>, add: (peer: string) => boolean } {
    const lane = laneOf(this.replica.getPolicy(), record.name)
    const q = this.limiter.job(async t => await this.race(record, t.peer, signal))
    const result = q.result.catch((err: Error) => {
      if (err instanceof QueueDropped) this.counters.shed++
      throw err
    })
    return { result, add: peer => q.add({ peer, lane, key: record.name }) }
  }

  /** Attempts from one source after another, at most two at a time (a hedge), until one delivers. */
  private async race (record: SignedRecord, first: string, signal?: AbortSignal): Promise<VerifiedContent> {
    const s = this.settings
    const tried = new Set<string>()
    const aborts = new Set<AbortController>()
    let running = 0
    let hedge: NodeJS.Timeout | undefined
    let settle!: (r: VerifiedContent | Error) => void
    const result = new Promise<VerifiedContent | Error>(resolve => { settle = resolve })
    let done = false
    const finish = (r: VerifiedContent | Error): void => {
      if (done) return
      done = true
      clearTimeout(hedge)
      for (const a of aborts) a.abort()
      signal?.removeEventListener('abort', onAbort)
      settle(r)
    }
    const onAbort = (): void => finish(new Error(`fetch of "${record.name}" no longer needed`))
    signal?.addEventListener('abort', onAbort, { once: true })
    // The newest source is hedged (the next one asked beside it) once it has sent nothing
    // fetchHedgeDelay after it was asked, or later falls behind fetchHedgeRate since then.
    // Judged on its progress, not on a time the whole file should take: a source that
    // keeps delivering on a loaded host is not doubled (docs/DECISIONS.md, "Hedged on progress").
    const watch = (asked: number, progress: Progress): void => {
      clearTimeout(hedge)
      const check = (): void => {
        if (done || running >= 2) return
        const got = progress.received()
        const late = Date.now() - asked - s.fetchHedgeDelay
        if (got === 0 || got < late / 1000 * s.fetchHedgeRate) { this.counters.hedged++; next(); return }
        hedge = setTimeout(check, HEDGE_CHECK_MS)
        hedge.unref()
      }
      hedge = setTimeout(check, s.fetchHedgeDelay)
      hedge.unref()
    }
    const next = (): void => {
      if (done) return
      const peer = tried.size < s.fetchMaxAttempts ? this.candidates(record, first, tried) : undefined
      if (peer === undefined) {
        if (running === 0) finish(new Error(`no peer could serve the content of "${record.name}" (asked ${tried.size})`))
        return
      }
      tried.add(peer.toString())
      running++
      const abort = new AbortController()
      aborts.add(abort)
      const progress: Progress = { received: () => 0 }
      watch(Date.now(), progress)
      void this.attempt(peer, record, abort.signal, progress).then(a => {
        running--
        aborts.delete(abort)
        if ('content' in a) finish(a.content)
        else next() // a miss: the next source at once
      })
    }
    if (signal?.aborted === true) onAbort()
    else next()
    const r = await result
    if (r instanceof Error) throw r
    return r
  }

  /** One source, once. A source that offered this version and does not serve it gets a strike (standing.ts). */
  private async attempt (peer: PeerId, record: SignedRecord, signal: AbortSignal, progress: Progress): Promise<Attempt> {
    const id = peer.toString()
    let miss: 'absent' | 'busy' | 'failed' | 'aborted'
    try {
      const got = await this.fetchFrom(peer, record, signal, progress)
      if ('bytes' in got) {
        const checked = verifyContent(record, got.bytes) // marked verified: the replica does not hash it again
        if (!('problem' in checked)) {
          this.counters.fetched++
          this.counters.fetchedBytes += got.bytes.length
          this.standing.served(id)
          return { content: checked.content }
        }
        this.ctx.punish(peer, `served wrong content: ${checked.problem}`)
        this.counters.misses++
        return { miss: 'failed' }
      }
      miss = got.miss
    } catch (err) {
      miss = signal.aborted ? 'aborted' : 'failed'
      if (!signal.aborted) endExchange(this.ctx, undefined, err, peer, 'fetch', { name: record.name }) // fetchFrom aborted its stream
    }
    if (miss === 'aborted') return { miss }
    this.counters.misses++
    if (miss !== 'busy' && this.offered(record, id)) this.strike(peer, record)
    return { miss }
  }

  /** Whether `peer` announced or synced this very version to us (then it should be able to serve it). */
  private offered (record: SignedRecord, peer: string): boolean {
    return this.hints.get(recordKey(record))?.has(peer) === true
  }

  private strike (peer: PeerId, record: SignedRecord): void {
    this.counters.strikes++
    if (this.standing.strike(peer.toString()) === 'punish') {
      this.ctx.punish(peer, `announced versions it did not serve (the last: "${record.name}"@${record.timestamp})`)
    }
  }

  /** `progress` learns how many bytes of the answer have arrived (for the hedge). */
  private async fetchFrom (peer: PeerId, record: SignedRecord, signal: AbortSignal, progress: Progress): Promise<{ bytes: Uint8Array } | { miss: 'absent' | 'busy' }> {
    const conn = this.ctx.libp2p.getConnections(peer).find(c => c.status === 'open')
    if (conn === undefined) return { miss: 'absent' }
    const s = this.settings
    let deadline = Date.now() + s.fetchHeaderTimeout
    const stream = await conn.newStream(PROTOCOLS.fetch, { signal: AbortSignal.any([signal, AbortSignal.timeout(s.fetchHeaderTimeout)]) })
    const stop = (): void => stream.abort(new Error('fetch no longer needed'))
    signal.addEventListener('abort', stop, { once: true })
    try {
      const reader = new StreamReader(stream, deadline, 1 + 9 + record.size)
      progress.received = () => reader.buffered // the content is read at once, when all of it is here
      await send(stream, frame(encodeRequest(record)), deadline)
      await closeWrite(stream, deadline)
      const header = await reader.frame(9)
      if (header === undefined) throw reader.closed('no fetch response')
      if (header.length === 0) throw new WireError('peer', 'empty fetch response')
      // "not here" and "busy" are no offence: ask the next peer
      if (header[0] === STATUS_NOT_FOUND && header.length === 1) return { miss: 'absent' }
      if (header[0] === STATUS_BUSY && header.length === 1) return { miss: 'busy' }
      if (header[0] !== STATUS_OK || header.length !== 9) throw new WireError('peer', 'malformed fetch response')
      const size = Number(Buffer.from(header.buffer, header.byteOffset, 9).readBigUInt64BE(1))
      if (size !== record.size) throw new WireError('peer', `offered ${size} bytes for a record of ${record.size}`)
      deadline = Date.now() + s.fetchSlack + Math.ceil(size / s.fetchMinRate * 1000)
      reader.setDeadline(deadline)
      return { bytes: await reader.bytes(size) }
    } catch (err) {
      stream.abort(err as Error)
      throw err
    } finally {
      signal.removeEventListener('abort', stop)
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
        // a peer asking faster than its request budget, or past its serve slots, hears "busy"
        slot = this.requests.tryTake(peer) && this.slots.take(peer)
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
