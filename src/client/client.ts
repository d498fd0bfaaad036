// The typed client: what the CLI uses, and what `import { connect } from 'data-mesher'` gives.
import * as grpc from '@grpc/grpc-js'
import { DEFAULTS } from '../config/defaults.js'
import { encodeRecord, signRecord, type SignedRecord } from '../crypto/record.js'
import type { SigningKey } from '../crypto/keys.js'
import { DataMesherService, messageLimit } from '../proto/service.js'
import type * as msg from '../proto/messages.js'
import { grpcTarget, resolveUrl } from './url.js'

// The messages as the generated types (from the .proto) say proto-loader decodes them;
// where the .proto has a message field the daemon always sets (version), the client checks
// that it is there, so callers need not test for null.
export type FileVersion = msg.FileVersion
export type Status = msg.Status
export type Peer = msg.Peer
export type FileEvent = WithVersion<msg.FileEvent>
export type UpdateResult = WithVersion<msg.UpdateFileResponse>
export type FileContent = WithVersion<msg.GetFileResponse>
type WithVersion<T extends { version: FileVersion | null }> = Omit<T, 'version'> & { version: FileVersion }

/** A refusal from the daemon: `code` is the gRPC status, `message` the daemon's reason. */
export class ClientError extends Error {
  override name = 'ClientError'
  constructor (readonly code: grpc.status, message: string) { super(message) }
  get codeName (): string { return grpc.status[this.code] ?? String(this.code) }
}

export interface ConnectOptions {
  /** largest file this client sends or receives (default 10 MiB) */
  maxFileSize?: number
  /** deadline for unary calls, ms (default 30 s) */
  timeout?: number
}

export class DataMesherClient {
  private readonly raw: msg.DataMesherStub
  private readonly timeout: number

  constructor (readonly url: string, o: ConnectOptions = {}) {
    const limit = messageLimit(o.maxFileSize ?? DEFAULTS.limits.maxFileSize)
    this.raw = new DataMesherService(grpcTarget(url), grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': limit,
      'grpc.max_send_message_length': limit
    })
    this.timeout = o.timeout ?? 30_000
  }

  /** One unary call of the generated stub, with the deadline: `invoke` passes the options and callback on. */
  private async call<Res> (invoke: (o: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall): Promise<Res> {
    return await new Promise((resolve, reject) => {
      invoke({ deadline: Date.now() + this.timeout }, (err, res) => {
        if (err !== null) reject(clientError(err, this.url))
        else if (res === undefined) reject(new ClientError(grpc.status.INTERNAL, `the daemon at ${this.url} sent no answer`))
        else resolve(res)
      })
    })
  }

  /** `certificate`: the signer's certificate bytes, for a namespace file on a node with a network. */
  async updateFile (record: SignedRecord | Uint8Array, content: Uint8Array, certificate?: Uint8Array): Promise<UpdateResult> {
    return withVersion(await this.call<msg.UpdateFileResponse>((o, cb) => this.raw.UpdateFile({ record: recordBytes(record), content: Buffer.from(content), certificate: Buffer.from(certificate ?? []) }, o, cb)), this.url)
  }

  async deleteFile (tombstone: SignedRecord | Uint8Array, certificate?: Uint8Array): Promise<UpdateResult> {
    return withVersion(await this.call<msg.UpdateFileResponse>((o, cb) => this.raw.DeleteFile({ record: recordBytes(tombstone), certificate: Buffer.from(certificate ?? []) }, o, cb)), this.url)
  }

  /** Signs locally (the key never leaves this process) and uploads. */
  async publish (key: SigningKey, name: string, content: Uint8Array, o: { expires?: number, timestamp?: number } = {}): Promise<UpdateResult> {
    return await this.updateFile(signRecord(key, { name, content, ...o }), content)
  }

  async remove (key: SigningKey, name: string, o: { timestamp?: number } = {}): Promise<UpdateResult> {
    return await this.deleteFile(signRecord(key, { name, tombstone: true, ...o }))
  }

  async getFile (name: string): Promise<FileContent> {
    return withVersion(await this.call<msg.GetFileResponse>((o, cb) => this.raw.GetFile({ name }, o, cb)), this.url)
  }

  async listFiles (): Promise<FileVersion[]> {
    return (await this.call<msg.ListFilesResponse>((o, cb) => this.raw.ListFiles({}, o, cb))).files
  }

  async getStatus (): Promise<Status> {
    return await this.call<msg.Status>((o, cb) => this.raw.GetStatus({}, o, cb))
  }

  /**
   * Streams changes. The returned promise resolves once the daemon has registered the
   * watch, so no change made after it resolves can be missed.
   */
  async watchFiles (o: { names?: string[], includeCurrent?: boolean } = {}): Promise<FileWatch> {
    const call = this.raw.WatchFiles({ names: o.names ?? [], includeCurrent: o.includeCurrent ?? false })
    await new Promise<void>((resolve, reject) => {
      call.once('metadata', () => resolve())
      call.once('error', (err: grpc.ServiceError) => reject(clientError(err, this.url)))
    })
    return new FileWatch(call, this.url)
  }

  /** Waits until the daemon answers (e.g. right after starting it). */
  async waitForReady (timeoutMs = 10_000): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.raw.waitForReady(Date.now() + timeoutMs, err => err !== undefined && err !== null ? reject(new ClientError(grpc.status.UNAVAILABLE, `no daemon answers at ${this.url}: ${err.message}`)) : resolve())
    })
  }

  close (): void { this.raw.close() }
}

/**
 * How a watch ended without a failure: the daemon ended it, or it was cancelled (by this
 * side). The iterator ends quietly on it; `next()` throws it. Recognised by its class,
 * never by its message, so a daemon's failure whose words say "ended" is still a failure.
 */
export class WatchEnded extends Error {
  override name = 'WatchEnded'
  constructor (readonly how: 'ended' | 'cancelled') { super(`watch ${how}`) }
}

/**
 * A stream of changes. Events are queued from the moment the watch is registered, so
 * none is lost between two reads, whether they are read with `for await` or `next()`.
 */
export class FileWatch implements AsyncIterable<FileEvent> {
  private readonly queue: FileEvent[] = []
  private ended?: Error
  private wake?: () => void

  constructor (private readonly call: grpc.ClientReadableStream<msg.FileEvent>, private readonly url: string) {
    call.on('data', (e: msg.FileEvent) => {
      if (e.version !== null) this.queue.push({ ...e, version: e.version })
      else {
        this.ended ??= new ClientError(grpc.status.INTERNAL, `the daemon at ${url} sent an event without a version`)
        call.cancel()
      }
      this.notify()
    })
    call.on('end', () => { this.ended ??= new WatchEnded('ended'); this.notify() })
    call.on('error', (err: grpc.ServiceError) => {
      this.ended ??= err.code === grpc.status.CANCELLED ? new WatchEnded('cancelled') : clientError(err, this.url)
      this.notify()
    })
  }

  private notify (): void { const w = this.wake; this.wake = undefined; w?.() }

  /** The next queued event, waiting for one; undefined once the stream has ended. */
  private async take (deadline: number): Promise<FileEvent | undefined> {
    while (this.queue.length === 0) {
      if (this.ended !== undefined) return undefined
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('timeout')
      await new Promise<void>(resolve => {
        const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined
        this.wake = () => { clearTimeout(timer); resolve() }
      })
    }
    return this.queue.shift()
  }

  async * [Symbol.asyncIterator] (): AsyncIterator<FileEvent> {
    for (;;) {
      const e = await this.take(Infinity)
      if (e === undefined) {
        if (this.ended !== undefined && !(this.ended instanceof WatchEnded)) throw this.ended
        return
      }
      yield e
    }
  }

  /** Resolves with the first event (queued or coming) that matches, skipping others; rejects after timeoutMs. */
  async next (match: (e: FileEvent) => boolean = () => true, timeoutMs = 30_000): Promise<FileEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      let e: FileEvent | undefined
      try { e = await this.take(deadline) } catch { throw new Error(`no matching event within ${timeoutMs} ms`) }
      if (e === undefined) throw this.ended ?? new WatchEnded('ended')
      if (match(e)) return e
    }
  }

  cancel (): void { this.call.cancel() }
}

export function connect (url?: string, o?: ConnectOptions): DataMesherClient {
  return new DataMesherClient(resolveUrl(url), o)
}

/** The version the daemon always sends with this answer; a daemon that does not is broken. */
function withVersion<T extends { version: FileVersion | null }> (res: T, url: string): WithVersion<T> {
  if (res.version === null) throw new ClientError(grpc.status.INTERNAL, `the daemon at ${url} answered without the version`)
  return { ...res, version: res.version }
}

function recordBytes (r: SignedRecord | Uint8Array): Buffer {
  return Buffer.from(r instanceof Uint8Array ? r : encodeRecord(r))
}

function clientError (err: grpc.ServiceError, url: string): ClientError {
  if (err.code === grpc.status.UNAVAILABLE && /connect|No connection|ECONNREFUSED|ENOENT/i.test(err.details ?? '')) {
    return new ClientError(err.code, `cannot reach the daemon at ${url}: ${err.details}`)
  }
  return new ClientError(err.code, err.details ?? err.message)
}
