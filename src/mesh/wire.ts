// Framing on a libp2p stream: a frame is an unsigned LEB128 varint length followed by
// that many bytes (the usual libp2p length prefix). Every read has a size cap and a
// deadline; a peer that breaks either gets a WireError saying whose fault it was.
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'

/**
 * 'peer': the remote sent something malformed or oversize (punishable). 'closed': the
 * stream ended early (a peer shutting down, a lost connection) and 'timeout': too slow;
 * neither is punished, the exchange is just dropped.
 */
export type WireFault = 'peer' | 'timeout' | 'closed'

export class WireError extends Error {
  override name = 'WireError'
  constructor (readonly fault: WireFault, message: string) { super(message) }
}

/** Varint length prefixes are at most this many bytes (2^35 > anything we accept). */
const MAX_VARINT_BYTES = 5

export function encodeVarint (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`cannot encode ${n} as a varint`)
  const out: number[] = []
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) }
  out.push(n)
  return Uint8Array.from(out)
}

export function frame (payload: Uint8Array): Uint8Array {
  const prefix = encodeVarint(payload.length)
  const out = new Uint8Array(prefix.length + payload.length)
  out.set(prefix, 0)
  out.set(payload, prefix.length)
  return out
}

/**
 * Reads frames and raw bytes from a stream until an absolute deadline. Attach it as
 * soon as the stream exists (it listens for the stream's 'message' events). With a
 * `stall` (ms), a wait also fails once the peer has sent nothing for that long since the
 * wait began or its last bytes, whichever is later: a silent peer costs `stall`, a slow
 * one that keeps sending may take until the deadline.
 */
export class StreamReader {
  private readonly buf = new Uint8ArrayList()
  private ended = false
  private error?: Error
  private wake?: () => void
  private limit: number
  /** when the peer's last bytes arrived (Date.now()) */
  private heardAt = 0

  constructor (private readonly stream: Stream, private deadline: number, limit: number, private stall = Infinity) {
    this.limit = limit
    stream.addEventListener('message', (evt) => {
      if (this.error !== undefined) return
      this.heardAt = Date.now()
      this.buf.append(evt.data)
      if (this.buf.byteLength > this.limit) {
        this.fail(new WireError('peer', `peer sent more than the ${this.limit} bytes expected`))
        stream.abort(this.error!)
        return
      }
      this.poke()
    })
    stream.addEventListener('remoteCloseWrite', () => { this.ended = true; this.poke() })
    stream.addEventListener('close', (evt) => {
      this.ended = true
      if (evt.error !== undefined && this.error === undefined) this.error = new WireError('closed', `stream closed: ${evt.error.message}`)
      this.poke()
    })
  }

  /** Moves the deadline (e.g. once the size of what follows is known). */
  setDeadline (at: number): void { this.deadline = at }
  /** Raises or lowers how many unread bytes may be buffered before the peer is at fault. */
  setLimit (bytes: number): void { this.limit = bytes }
  /** bytes the peer sent that were not read yet */
  get buffered (): number { return this.buf.byteLength }
  /** the stream ended (the peer closed its side, or it closed) or a read failed: nothing more can be read */
  get finished (): boolean { return this.ended || this.error !== undefined }
  /** what the peer did wrong on this stream, if anything (e.g. sent beyond the limit while nobody was reading) */
  get faultOfPeer (): WireError | undefined { return this.error instanceof WireError && this.error.fault === 'peer' ? this.error : undefined }

  /**
   * Between the exchanges of a long-lived stream (sync/5.0.0's rounds): waits without
   * the stall timeout until the peer sends something (true) or ends the stream cleanly
   * (false); at `until`, a 'timeout' WireError and the stream is aborted. The deadline
   * and stall of the exchanges are left as they were.
   */
  async waitForData (until: number): Promise<boolean> {
    const { deadline, stall } = this
    this.deadline = until
    this.stall = Infinity
    try { return await this.need(1) } finally { this.deadline = deadline; this.stall = stall }
  }

  private fail (err: Error): void {
    if (this.error === undefined) this.error = err
    this.poke()
  }

  private poke (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /**
   * A peer fault (e.g. input beyond the buffer cap, arrived in the same chunk as what is
   * read now) ends the exchange even when enough bytes are already buffered.
   */
  private throwPeerFault (): void {
    if (this.error instanceof WireError && this.error.fault === 'peer') throw this.error
  }

  /** Waits until `n` bytes are buffered; false when the stream ended first. */
  private async need (n: number): Promise<boolean> {
    const waitingSince = Date.now()
    while (this.buf.byteLength < n) {
      if (this.error !== undefined) throw this.error
      if (this.ended) return false
      const now = Date.now()
      const stalledAt = Math.max(waitingSince, this.heardAt) + this.stall
      const wait = Math.min(this.deadline, stalledAt) - now
      if (wait <= 0) {
        const err = new WireError('timeout', now >= this.deadline ? 'peer too slow: deadline passed' : `peer stalled: nothing for ${this.stall} ms`)
        this.fail(err)
        this.stream.abort(err)
        throw err
      }
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>(resolve => {
        this.wake = resolve
        timer = setTimeout(resolve, wait)
      })
      clearTimeout(timer)
    }
    this.throwPeerFault()
    return true
  }

  /** The next frame (at most `max` bytes), or undefined at a clean end of stream. */
  async frame (max: number): Promise<Uint8Array | undefined> {
    let length = 0
    let scale = 1
    for (let i = 0; ; i++) {
      if (i >= MAX_VARINT_BYTES) throw this.peerFault('frame length prefix is too long')
      if (!await this.need(i + 1)) {
        if (i === 0) return undefined
        throw this.closed('stream ended inside a frame length')
      }
      const b = this.buf.get(i)
      length += (b & 0x7f) * scale
      scale *= 0x80
      if ((b & 0x80) === 0) {
        if (length > max) throw this.peerFault(`frame of ${length} bytes, the limit is ${max}`)
        this.buf.consume(i + 1)
        break
      }
    }
    return await this.bytes(length)
  }

  /**
   * The next frame, which must come: `what` names it. A stream that ends (or is reset)
   * before it is 'closed' — a peer that stopped or died mid-exchange, never punished
   * (issue 18); only what the peer did send can be malformed.
   */
  async expectFrame (max: number, what: string): Promise<Uint8Array> {
    const f = await this.frame(max)
    if (f === undefined) throw this.closed(`stream ended before ${what}`)
    return f
  }

  /** Exactly `n` raw bytes. */
  async bytes (n: number): Promise<Uint8Array> {
    if (!await this.need(n)) throw this.closed(`stream ended after ${this.buf.byteLength} of ${n} bytes`)
    const out = this.buf.subarray(0, n)
    this.buf.consume(n)
    return out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : new Uint8Array(out)
  }

  /** Resolves when the remote has closed its side having sent nothing more; a peer fault otherwise. */
  async end (): Promise<void> {
    if (await this.need(1)) throw this.peerFault('unexpected data after the last message')
  }

  /** The stream ended early: the peer stopped, or the network failed. Not punishable. */
  closed (message: string): WireError {
    const err = new WireError('closed', message)
    this.fail(err)
    return err
  }

  private peerFault (message: string): WireError {
    const err = new WireError('peer', message)
    this.fail(err)
    this.stream.abort(err)
    return err
  }
}

/** Writes with backpressure; rejects if the stream closes or the deadline passes first. */
export async function send (stream: Stream, data: Uint8Array, deadline: number): Promise<void> {
  if (stream.send(data)) return
  const wait = deadline - Date.now()
  if (wait <= 0) throw new WireError('timeout', 'peer too slow to read')
  const signal = AbortSignal.timeout(wait)
  try {
    await stream.onDrain({ signal })
  } catch (err) {
    if (signal.aborted) {
      const e = new WireError('timeout', 'peer too slow to read')
      stream.abort(e)
      throw e
    }
    throw new WireError('closed', `stream closed while writing: ${(err as Error).message}`)
  }
}

/** Closes our write side, within the deadline (then aborts). */
export async function closeWrite (stream: Stream, deadline: number): Promise<void> {
  const wait = Math.max(1, deadline - Date.now())
  try {
    await stream.close({ signal: AbortSignal.timeout(wait) })
  } catch (err) {
    stream.abort(err as Error)
  }
}

export function u16 (n: number): Uint8Array { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }
export function u32 (n: number): Uint8Array { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
export function u64 (n: number): Uint8Array { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b }
export function concat (parts: Uint8Array[]): Uint8Array { return new Uint8Array(Buffer.concat(parts)) }
