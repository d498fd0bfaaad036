// The gRPC API (proto/datamesher/v1): a thin adapter from RPCs to the Replica. It accepts
// only signed records, so it grants no more than a signing key already does.
import * as grpc from '@grpc/grpc-js'
import { HealthImplementation } from 'grpc-health-check'
import { ReflectionService } from '@grpc/reflection'
import { chmod, unlink } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import { decodeRecord, encodeRecord, RecordFormatError, type SignedRecord } from '../crypto/record.js'
import { nameProblem } from '../crypto/names.js'
import { parseCertificate } from '../crypto/certificate.js'
import type { CertificateBook } from '../store/certificate-book.js'
import { ensureDir } from '../store/atomic-file.js'
import type { ChangeKind, Replica } from '../store/replica.js'
import { packageVersion } from '../package-root.js'
import { ApiError, refusal, toServiceError } from './errors.js'
import { DataMesherService, messageLimit, packageDefinition, type WireEventKind, type WireFileVersion, type WirePeer } from './proto.js'

export interface NodeInfo {
  peerId: string
  publicKey: string
  addresses: string[]
  peers: WirePeer[]
  /** the mesh's counters, flat ("announce.sent": 12) */
  counters?: Record<string, number>
  /** network identity: base64 network id, this node's certificate end (unix ms) and name */
  networkId?: string
  certificateNotAfter?: number
  certificateName?: string
}

export interface ApiOptions {
  replica: Replica
  log: Logger
  maxFileSize: number
  socket?: string
  listen?: string
  /** identity and peers, from the mesh when it runs */
  nodeInfo: () => NodeInfo
  /** with a network: where the certificate sent with a namespace file is kept (src/store/certificate-book.ts) */
  certificates?: CertificateBook
}

const EVENT_KIND: Record<ChangeKind, WireEventKind> = { updated: 'UPDATED', deleted: 'DELETED', expired: 'EXPIRED', revoked: 'REVOKED' }

export class ApiServer {
  private readonly server: grpc.Server
  private readonly health: HealthImplementation
  private readonly watchers = new Set<grpc.ServerWritableStream<unknown, unknown>>()
  readonly bound: string[] = []

  constructor (private readonly o: ApiOptions) {
    const limit = messageLimit(o.maxFileSize)
    this.server = new grpc.Server({ 'grpc.max_receive_message_length': limit, 'grpc.max_send_message_length': limit })
    this.server.addService(DataMesherService.service, this.handlers())
    this.health = new HealthImplementation({ '': 'NOT_SERVING', 'datamesher.v1.DataMesher': 'NOT_SERVING' })
    this.health.addToServer(this.server)
    new ReflectionService(packageDefinition).addToServer(this.server)
  }

  async start (): Promise<void> {
    if (this.o.socket !== undefined) {
      await ensureDir(dirname(this.o.socket), 0o750)
      await removeStaleSocket(this.o.socket)
      await this.bind(`unix://${this.o.socket}`)
      await chmod(this.o.socket, 0o660)
    }
    if (this.o.listen !== undefined) {
      const port = await this.bind(this.o.listen)
      this.bound.push(this.o.listen.replace(/:\d+$/, `:${port}`))
      // IPv4 loopback comes with IPv6 loopback (clan-core's CLI calls http://[::1]:7331);
      // a host without IPv6 just keeps 127.0.0.1
      if (this.o.listen.startsWith('127.0.0.1:')) {
        await this.bind(`[::1]:${port}`).then(() => { this.bound.push(`[::1]:${port}`) },
          (err: Error) => this.o.log.warn({ err: err.message }, 'API: IPv6 loopback unavailable, listening on 127.0.0.1 only'))
      }
    }
    this.health.setStatus('', 'SERVING')
    this.health.setStatus('datamesher.v1.DataMesher', 'SERVING')
  }

  private async bind (target: string): Promise<number> {
    return await new Promise((resolve, reject) => {
      this.server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err !== null) reject(new Error(`cannot listen on ${target}: ${err.message}`))
        else resolve(port)
      })
    })
  }

  async stop (): Promise<void> {
    this.health.setStatus('', 'NOT_SERVING')
    for (const w of this.watchers) w.end()
    this.watchers.clear()
    await new Promise<void>(resolve => {
      const force = setTimeout(() => { this.server.forceShutdown(); resolve() }, 2000)
      this.server.tryShutdown(() => { clearTimeout(force); resolve() })
    })
    if (this.o.socket !== undefined) await unlink(this.o.socket).catch(() => {})
  }

  private version (record: SignedRecord): WireFileVersion {
    const r = this.o.replica
    return {
      ...record,
      sha256: Buffer.from(record.sha256),
      signer: Buffer.from(record.signer),
      signature: Buffer.from(record.signature),
      delivered: r.get(record.name) === record && r.isDelivered(record.name),
      path: r.deliveredPath(record.name),
      record: Buffer.from(encodeRecord(record))
    }
  }

  private async offer (bytes: Buffer, content: Buffer, mustBeTombstone: boolean, certificate?: Buffer): Promise<unknown> {
    let record: SignedRecord
    try { record = decodeRecord(bytes) } catch (err) {
      if (err instanceof RecordFormatError) throw new ApiError(grpc.status.INVALID_ARGUMENT, `malformed record: ${err.message}`)
      throw err
    }
    if (mustBeTombstone && !record.tombstone) throw new ApiError(grpc.status.INVALID_ARGUMENT, 'DeleteFile needs a signed tombstone (a deletion record)')
    await this.takeCertificate(record, certificate)
    const result = await this.o.replica.submit(record, content, 'api')
    switch (result.outcome) {
      case 'accepted': return { outcome: 'ACCEPTED', version: this.version(record), heldUntil: 0 }
      case 'held': return { outcome: 'HELD', version: this.version(record), heldUntil: result.until }
      case 'refused': throw refusal(result.code, result.reason)
      case 'ignored': {
        if (result.why === 'identical') return { outcome: 'IDENTICAL', version: this.version(record), heldUntil: 0 }
        const held = this.o.replica.get(record.name)
        throw new ApiError(grpc.status.FAILED_PRECONDITION,
          `"${record.name}" at timestamp ${record.timestamp} is not newer than the version held (timestamp ${held?.timestamp ?? '?'}); sign a new version`)
      }
    }
  }

  /** A certificate sent with the record (namespace files under a network): kept beside it for the rule to judge. */
  private async takeCertificate (record: SignedRecord, bytes: Buffer | undefined): Promise<void> {
    if (bytes === undefined || bytes.length === 0 || this.o.certificates === undefined) return // no network: certificates play no part
    let cert
    try { cert = parseCertificate(bytes) } catch (err) {
      throw new ApiError(grpc.status.INVALID_ARGUMENT, `malformed certificate: ${(err as Error).message}`)
    }
    await this.o.certificates.persist(record, cert)
  }

  private handlers (): grpc.UntypedServiceImplementation {
    const unary = <Req>(fn: (req: Req) => Promise<unknown>): grpc.handleUnaryCall<Req, unknown> => (call, cb) => {
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
      UpdateFile: unary<{ record: Buffer, content: Buffer, certificate?: Buffer }>(async req => await this.offer(req.record, req.content, false, req.certificate)),
      DeleteFile: unary<{ record: Buffer, certificate?: Buffer }>(async req => await this.offer(req.record, Buffer.alloc(0), true, req.certificate)),
      GetFile: unary<{ name: string }>(async req => {
        checkName(req.name)
        const record = this.o.replica.get(req.name)
        if (record === undefined) throw new ApiError(grpc.status.NOT_FOUND, `no version of "${req.name}" is held`)
        const read = await this.o.replica.readContent(req.name)
        return { version: this.version(record), content: read?.content ?? Buffer.alloc(0) }
      }),
      ListFiles: unary(async () => ({ files: this.o.replica.list().sort(byName).map(r => this.version(r)) })),
      GetStatus: unary(async () => {
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
          certificateName: info.certificateName ?? ''
        }
      }),
      WatchFiles: (call: grpc.ServerWritableStream<{ names: string[], includeCurrent: boolean }, unknown>) => {
        const names = new Set(call.request.names)
        const wanted = (name: string): boolean => names.size === 0 || names.has(name)
        this.watchers.add(call)
        const off = this.o.replica.onChange(c => {
          if (wanted(c.record.name)) call.write({ kind: EVENT_KIND[c.kind], version: this.version(c.record), origin: c.origin })
        })
        const done = (): void => { off(); this.watchers.delete(call) }
        call.on('cancelled', done)
        call.on('close', done)
        call.on('error', done)
        if (call.request.includeCurrent) {
          for (const r of this.o.replica.list().sort(byName)) {
            if (wanted(r.name)) call.write({ kind: 'CURRENT', version: this.version(r), origin: 'current' })
          }
        }
        call.sendMetadata(new grpc.Metadata()) // lets the client know the watch is established
      }
    }
  }
}

function byName (a: SignedRecord, b: SignedRecord): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

/** A socket file left by a crash must not prevent start; a live daemon's socket must. */
async function removeStaleSocket (path: string): Promise<void> {
  const alive = await new Promise<boolean>(resolve => {
    const s = netConnect(path)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
  if (alive) throw new Error(`another daemon is serving ${path}`)
  await unlink(path).catch(err => { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err })
}
