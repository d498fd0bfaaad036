// The initiator's long-lived sync/5.0.0 streams, one per peer: kept open between rounds
// (an idle round that ends EQUAL then costs two frames, not a stream's opening,
// multistream-select and closing), closed after syncIdleClose without a round. Which
// round runs on a stream, and what a failed one does to it, is sync.ts's concern: a
// stream is taken for a round and either kept again after it or dropped (aborted there).
import type { PeerId, Stream } from '@libp2p/interface'
import { closeWrite, type StreamReader } from './wire.js'

export interface HeldStream {
  readonly stream: Stream
  /** attached when the stream was opened; it has buffered whatever came since */
  readonly reader: StreamReader
}

interface Entry extends HeldStream { idle: NodeJS.Timeout }

export class SyncStreams {
  private readonly held = new Map<string, Entry>()
  /** streams with a 'close' listener (one each, however many rounds they carry) */
  private readonly watched = new WeakSet<Stream>()

  constructor (
    /** close a stream after this long without a round (syncIdleClose) */
    private readonly idleClose: number,
    /** a close gets this long to complete, then the stream is aborted (syncStallTimeout) */
    private readonly closeTimeout: number,
    /** a responder sent something between rounds: the stream is already aborted */
    private readonly onFault: (peer: PeerId, err: Error) => void
  ) {}

  /**
   * The stream kept for `peer`, taken out for a round (no other round may use it until it
   * is kept again); undefined when there is none or it can serve no round (the peer
   * closed it or the connection went).
   */
  take (peer: string): HeldStream | undefined {
    const e = this.held.get(peer)
    if (e === undefined) return undefined
    this.held.delete(peer)
    clearTimeout(e.idle)
    if (e.stream.status === 'open' && e.stream.writeStatus === 'writable' && !e.reader.finished) return e
    this.close(e)
    return undefined
  }

  /**
   * After a round that left the stream in step: kept for the next round, closed after
   * idleClose without one. A responder speaks only when asked: from now until the next
   * round, any byte it sends exceeds the reader's limit and aborts the stream (its fault).
   */
  keep (peerId: PeerId, s: HeldStream): void {
    const peer = peerId.toString()
    s.reader.setLimit(0)
    const old = this.held.get(peer)
    if (old !== undefined && old.stream !== s.stream) { clearTimeout(old.idle); this.close(old) }
    const idle = setTimeout(() => {
      if (this.held.get(peer)?.stream !== s.stream) return
      this.held.delete(peer)
      this.close(s)
    }, this.idleClose)
    idle.unref()
    this.held.set(peer, { ...s, idle })
    if (this.watched.has(s.stream)) return
    this.watched.add(s.stream)
    // gone under us (the connection closed, the peer reset it, or spoke out of turn): forgotten at once
    s.stream.addEventListener('close', () => {
      const e = this.held.get(peer)
      if (e?.stream !== s.stream) return
      clearTimeout(e.idle)
      this.held.delete(peer)
      const fault = s.reader.faultOfPeer
      if (fault !== undefined) this.onFault(peerId, fault)
    }, { once: true })
  }

  /** Closes every kept stream (the node stops). */
  closeAll (): void {
    for (const e of this.held.values()) { clearTimeout(e.idle); this.close(e) }
    this.held.clear()
  }

  /** our side closed; the responder closes its own when it reads the end, or the stream is aborted after closeTimeout */
  private close (s: HeldStream): void {
    void closeWrite(s.stream, Date.now() + this.closeTimeout).then(() => {
      if (s.stream.status === 'closed' || s.stream.status === 'aborted' || s.stream.status === 'reset') return
      setTimeout(() => { if (s.stream.status !== 'closed') s.stream.abort(new Error('sync stream: the peer did not close its side')) }, this.closeTimeout).unref()
    })
  }
}
