// The gRPC API (proto/datamesher/v1): a thin adapter from RPCs to the Replica. It accepts
// only signed records, so it grants no more than a signing key already does.
//
// One grpc.Server per kind of listener: the unix socket (mode 0660, the daemon's group:
// the file system decides who connects) serves everything; loopback TCP (any local user)
// serves signed writes, metadata and status but never file content (F4, DESIGN.md §7).
// Each has its own call budget (src/api/limits.ts), so a flood on one cannot starve the other.
import * as grpc from '@grpc/grpc-js'
import { HealthImplementation } from 'grpc-health-check'
import { ReflectionService } from '@grpc/reflection'
import { chmod, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import { bindTargets } from '../config/api-listen.js'
import { decodeRecord, encodeRecord, RecordFormatError, type SignedRecord } from '../crypto/record.js'
import { nameProblem } from '../crypto/names.js'
import { CertificateTimeError, parseCertificate, type Certificate } from '../crypto/certificate.js'
import { certificateFitsRecord, configuredNamespace } from '../rule/which-version-wins.js'
import type { CertificateBook } from '../store/certificate-book.js'
import { ensureDir } from '../store/atomic-file.js'
import type { ChangeKind, Replica } from '../store/replica.js'
import { packageVersion } from '../package-root.js'
import { abortOf, CallBudget, callGuard, rateLimitedLog } from './call-guard.js'
import { ApiError, refusal, toServiceError } from './errors.js'
import { API_LIMITS } from './limits.js'
import { removeStaleSocket } from './stale-socket.js'
import { DataMesherService, messageLimit, packageDefinition } from '../proto/service.js'
import type { DataMesherHandlers, EventKind, FileEvent, FileVersion, Peer, Refusal, Status, UpdateFileResponse, WatchFilesRequest } from '../proto/messages.js'

export interface NodeInfo {
  peerId: string
  publicKey: string
  addresses: string[]
  peers: Peer[]
  /** the mesh's counters, flat ("announce.full_sent": 12) */
  counters?: Record<string, number>
  /** network identity: base64 network id, this node's certificate end (unix ms) and name */
  networkId?: string
  certificateNotAfter?: number
  certificateName?: string
  /** connected peers not (yet) verified */
  unverified?: Peer[]
  /** versions refused lately, newest first (src/metrics/recent-refusals.ts) */
  refused?: Refusal[]
}

export interface ApiOptions {
  replica: Replica
  log: Logger
  /** limits.max_file_size now: read for every call, so a reload that changes it applies at once (L6) */
  maxFileSize: () => number
  socket?: string
  /** loopback "host:port" entries (src/config/api-listen.ts) */
  listen?: string[]
  /** identity and peers, from the mesh when it runs */
  nodeInfo: () => NodeInfo
  /** with a network: where the certificate sent with a namespace file is kept (src/store/certificate-book.ts) */
  certificates?: CertificateBook
}

const EVENT_KIND: Record<ChangeKind, EventKind> = { updated: 'UPDATED', deleted: 'DELETED', expired: 'EXPIRED', revoked: 'REVOKED' }

type ListenerKind = 'socket' | 'tcp'

interface Listener {
  kind: ListenerKind
  server: grpc.Server
  health: HealthImplementation
  budget: CallBudget
  bound: boolean
}

type Watcher = grpc.ServerWritableStream<WatchFilesRequest, FileEvent>

export class ApiServer {
  private readonly listeners: Record<ListenerKind, Listener>
  private readonly watchers = new Set<Watcher>()
  readonly bound: string[] = []

  constructor (private readonly o: ApiOptions) {
    this.listeners = { socket: this.listener('socket'), tcp: this.listener('tcp') }
  }

  private listener (kind: ListenerKind): Listener {
    const budget = new CallBudget()
    const refused = rateLimitedLog((call, why, suppressed) => this.o.log.warn({ listener: kind, call, why, suppressed }, 'API call refused by a limit'))
    const guard = callGuard(budget, refused)
    const server = new grpc.Server(serverOptions(this.o.maxFileSize, guard))
    server.addService(DataMesherService.service, this.handlers(kind))
    const health = new HealthImplementation({ '': 'NOT_SERVING', 'datamesher.v1.DataMesher': 'NOT_SERVING' })
    health.addToServer(server)
    new ReflectionService(packageDefinition).addToServer(server)
    return { kind, server, health, budget, bound: false }
  }

  /** Serves on every configured listener, or on none: a failure undoes what was bound (L1). */
  async start (): Promise<void> {
    try {
      if (this.o.socket !== undefined) {
        await ensureDir(dirname(this.o.socket), 0o750)
        await removeStaleSocket(this.o.socket)
      }
      // TCP first: the socket, which the service manager and tests wait for, comes last
      for (const entry of this.o.listen ?? []) {
        for (const { target, optional } of bindTargets(entry)) {
          try {
            const port = await bind(this.listeners.tcp, target)
            this.bound.push(target.replace(/:\d+$/, `:${port}`))
          } catch (err) {
            if (!optional) throw err
            this.o.log.warn({ target, err: (err as Error).message }, 'optional API address not available (no IPv6 loopback?); serving on the others')
          }
        }
      }
      if (this.o.socket !== undefined) {
        await bind(this.listeners.socket, `unix://${this.o.socket}`)
        await chmod(this.o.socket, 0o660)
      }
    } catch (err) {
      await this.close(0)
      throw err
    }
    for (const l of Object.values(this.listeners)) {
      l.budget.open = true
      l.health.setStatus('', 'SERVING')
      l.health.setStatus('datamesher.v1.DataMesher', 'SERVING')
    }
  }

  async stop (): Promise<void> { await this.close(2000) }

  /** Ends the watches, lets calls in progress finish for up to graceMs, and removes the socket. */
  private async close (graceMs: number): Promise<void> {
    for (const w of this.watchers) w.end()
    this.watchers.clear()
    const socketBound = this.listeners.socket.bound
    await Promise.all(Object.values(this.listeners).map(async l => {
      l.budget.open = false
      l.health.setStatus('', 'NOT_SERVING')
      if (!l.bound) { l.server.forceShutdown(); return }
      await new Promise<void>(resolve => {
        const force = setTimeout(() => { l.server.forceShutdown(); resolve() }, graceMs)
        l.server.tryShutdown(() => { clearTimeout(force); resolve() })
      })
      l.bound = false
    }))
    if (socketBound && this.o.socket !== undefined) await unlink(this.o.socket).catch(() => {})
  }

  /** Every field of the message set: a field added to the .proto fails type-checking here. */
  private version (record: SignedRecord): FileVersion {
    const r = this.o.replica
    return {
      name: record.name,
      timestamp: record.timestamp,
      expires: record.expires,
      tombstone: record.tombstone,
      size: record.size,
      sha256: Buffer.from(record.sha256),
      signer: Buffer.from(record.signer),
      signature: Buffer.from(record.signature),
      delivered: r.get(record.name) === record && r.isDelivered(record.name),
      path: r.deliveredPath(record.name),
      record: Buffer.from(encodeRecord(record))
    }
  }

  private async offer (bytes: Buffer, content: Buffer, mustBeTombstone: boolean, certificate?: Buffer): Promise<UpdateFileResponse> {
    let record: SignedRecord
    try { record = decodeRecord(bytes) } catch (err) {
      if (err instanceof RecordFormatError) throw new ApiError(grpc.status.INVALID_ARGUMENT, `malformed record: ${err.message}`)
      throw err
    }
    if (mustBeTombstone && !record.tombstone) throw new ApiError(grpc.status.INVALID_ARGUMENT, 'DeleteFile needs a signed tombstone (a deletion record)')
    const cert = this.takeCertificate(record, certificate)
    const result = await this.o.replica.submit(record, content, 'api').catch(err => {
      if (cert !== undefined) this.o.certificates?.withdraw(record, cert)
      throw err
    })
    // the replica wrote the certificate of a record it took just before the record itself
    // (one commit point: a crash cannot keep the record without it); a refused, ignored or
    // identical one leaves the disk alone, and its certificate is forgotten
    if (cert !== undefined && result.outcome !== 'accepted' && result.outcome !== 'held') this.o.certificates?.withdraw(record, cert)
    switch (result.outcome) {
      case 'accepted': return { outcome: 'ACCEPTED', version: this.version(record), heldUntil: 0 }
      case 'held': return { outcome: 'HELD', version: this.version(record), heldUntil: result.until }
      case 'refused': throw refusal(result.code, result.reason)
      case 'ignored': {
        if (result.why === 'identical') return { outcome: 'IDENTICAL', version: this.version(record), heldUntil: 0 }
        if (result.why === 'below-floor') {
          throw new ApiError(grpc.status.FAILED_PRECONDITION,
            `"${record.name}" at timestamp ${record.timestamp} is at or below the floor of that name (${this.o.replica.getFloor(record.name) ?? '?'}), ` +
            'left when a version was revoked or found corrupt; sign a new version')
        }
        const held = this.o.replica.get(record.name)
        throw new ApiError(grpc.status.FAILED_PRECONDITION,
          `"${record.name}" at timestamp ${record.timestamp} is not newer than the version held (timestamp ${held?.timestamp ?? '?'}); sign a new version`)
      }
    }
  }

  /**
   * A certificate sent with the record (namespace files under a network): checked first
   * (for the key in the name, of an accepted network, valid at the record's timestamp and
   * now), then offered beside the record for the rule to judge; written to disk by the
   * replica, just before the record, if it takes it. Junk is refused before anything is
   * kept (review 11-R1).
   */
  private takeCertificate (record: SignedRecord, bytes: Buffer | undefined): Certificate | undefined {
    if (bytes === undefined || bytes.length === 0 || this.o.certificates === undefined) return undefined // no network: certificates play no part
    if (configuredNamespace(this.o.replica.getPolicy(), record.name) === undefined) return undefined // a configured file takes none: ignored, not kept
    let cert
    try { cert = parseCertificate(bytes) } catch (err) {
      // well-formed but naming a time past what may be named: not taken, like any other unfit certificate
      if (err instanceof CertificateTimeError) throw new ApiError(grpc.status.PERMISSION_DENIED, `the certificate sent with "${record.name}" is not taken: ${err.message}`)
      throw new ApiError(grpc.status.INVALID_ARGUMENT, `malformed certificate: ${(err as Error).message}`)
    }
    const problem = certificateFitsRecord(this.o.replica.getPolicy(), record, cert, this.o.replica.clock())
    if (problem !== undefined) throw new ApiError(grpc.status.PERMISSION_DENIED, `the certificate sent with "${record.name}" is not taken: ${problem}`)
    this.o.certificates.offer(record, cert)
    return cert
  }

  private handlers (listener: ListenerKind): DataMesherHandlers {
    const unary = <Req, Res>(fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> => (call, cb) => {
      fn(call.request).then(res => cb(null, res), err => {
        const e = toServiceError(err)
        if (e.code === grpc.status.INTERNAL) this.o.log.error({ err }, 'API call failed')
        cb({ code: e.code, details: e.details, name: 'ApiError', message: e.details })
      })
    }
    const checkName = (name: string): void => {
      const problem = nameProblem(name)
      if (problem !== undefined) throw new ApiError(grpc.status.INVALID_ARGUMENT, problem)
    }
    return {
      UpdateFile: unary(async req => await this.offer(req.record, req.content, false, req.certificate)),
      DeleteFile: unary(async req => await this.offer(req.record, Buffer.alloc(0), true, req.certificate)),
      GetFile: unary(async req => {
        checkName(req.name)
        if (listener === 'tcp') {
          // TCP cannot tell which local user asks; the socket's mode and files/ can (F4)
          throw new ApiError(grpc.status.PERMISSION_DENIED,
            `file content is not served over TCP, where any local user could read it: use the unix socket (${this.o.socket !== undefined ? `unix://${this.o.socket}` : 'api.socket'}) or read ${this.o.replica.deliveredPath(req.name)}`)
        }
        const record = this.o.replica.get(req.name)
        if (record === undefined) throw new ApiError(grpc.status.NOT_FOUND, `no version of "${req.name}" is held`)
        const read = await this.o.replica.readContent(req.name)
        return { version: this.version(record), content: read?.content ?? Buffer.alloc(0) }
      }),
      ListFiles: unary(async () => ({ files: this.o.replica.list().sort(byName).map(r => this.version(r)) })),
      GetStatus: unary(async (): Promise<Status> => {
        const info = this.o.nodeInfo()
        return {
          nodeId: info.peerId,
          publicKey: info.publicKey,
          addresses: [...info.addresses, ...this.bound.map(b => `grpc://${b}`)],
          peers: info.peers,
          files: this.o.replica.list().sort(byName).map(r => this.version(r)),
          held: this.o.replica.listHeld().sort(byName).map(r => this.version(r)),
          version: packageVersion(),
          counters: info.counters ?? {},
          networkId: info.networkId ?? '',
          certificateNotAfter: info.certificateNotAfter ?? 0,
          certificateName: info.certificateName ?? '',
          unverified: info.unverified ?? [],
          refused: info.refused ?? [],
          missing: this.o.replica.missing()
        }
      }),
      WatchFiles: (call: Watcher) => this.watch(call)
    }
  }

  /**
   * A watch gets every change as it happens. A watcher that does not read is dropped with
   * RESOURCE_EXHAUSTED once maxQueuedEvents wait for it, or once events written to it have
   * waited watchDrainTimeoutMs (review 11-R5): nothing grows for it (F7), nor does its
   * slot stay taken.
   */
  private watch (call: Watcher): void {
    const names = new Set(call.request.names)
    const wanted = (name: string): boolean => names.size === 0 || names.has(name)
    const current = call.request.includeCurrent ? this.o.replica.list().filter(r => wanted(r.name)).sort(byName) : []
    const mayQueue = API_LIMITS.maxQueuedEvents + current.length // the initial list is bounded by the config
    this.watchers.add(call)
    let written = 0
    let flushed = 0
    let drainTimer: NodeJS.Timeout | undefined
    const drop = (why: string): void => {
      done()
      this.o.log.warn({ queued: call.writableLength, peer: call.getPeer() }, 'dropping a watcher that does not read')
      const abort = abortOf.get(call.metadata)
      if (abort !== undefined) abort(grpc.status.RESOURCE_EXHAUSTED, why)
      else call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: why })
    }
    /** the events written by now must have been taken within watchDrainTimeoutMs */
    const checkDrain = (): void => {
      if (drainTimer !== undefined || flushed === written) return
      const due = written
      drainTimer = setTimeout(() => {
        drainTimer = undefined
        if (flushed < due) drop(`this watch did not take its events within ${API_LIMITS.watchDrainTimeoutMs / 1000} s; it was dropped: watch again and read as events arrive`)
        else checkDrain()
      }, API_LIMITS.watchDrainTimeoutMs)
      drainTimer.unref()
    }
    const write = (event: FileEvent): void => {
      written++
      call.write(event, () => { flushed++ })
      checkDrain()
    }
    const off = this.o.replica.onChange(c => {
      if (!wanted(c.record.name)) return
      if (call.writableLength >= mayQueue) {
        drop(`this watch did not read its events (${call.writableLength} waiting); it was dropped: watch again and read as events arrive`)
        return
      }
      write({ kind: EVENT_KIND[c.kind], version: this.version(c.record), origin: c.origin })
    })
    const done = (): void => { off(); clearTimeout(drainTimer); this.watchers.delete(call) }
    call.on('cancelled', done)
    call.on('close', done)
    call.on('error', done)
    for (const r of current) write({ kind: 'CURRENT', version: this.version(r), origin: 'current' })
    call.sendMetadata(new grpc.Metadata()) // lets the client know the watch is established
  }
}

/**
 * The grpc-js options of one listener. grpc-js reads the message limits from this very
 * object for every new call, so getters make a reload of limits.max_file_size take effect
 * at the next call (L6); the replica refuses what is above the configured size anyway.
 */
function serverOptions (maxFileSize: () => number, guard: grpc.ServerInterceptor): grpc.ServerOptions {
  const options: grpc.ServerOptions = {
    'grpc.max_concurrent_streams': API_LIMITS.maxStreamsPerConnection,
    'grpc.keepalive_time_ms': API_LIMITS.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': API_LIMITS.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': API_LIMITS.maxConnectionIdleMs,
    interceptors: [guard]
  }
  for (const key of ['grpc.max_receive_message_length', 'grpc.max_send_message_length']) {
    Object.defineProperty(options, key, { enumerable: true, get: () => messageLimit(maxFileSize()) })
  }
  return options
}

async function bind (l: Listener, target: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    l.server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err !== null) reject(new Error(`cannot listen on ${target}: ${err.message}`))
      else { l.bound = true; resolve(port) }
    })
  })
}

function byName (a: SignedRecord, b: SignedRecord): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}
