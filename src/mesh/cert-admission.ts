// Admission by certificate (DESIGN.md §7, docs/PROTOCOLS.md "Cert"): when a network is
// configured, every new connection must prove, right after the secure channel is up,
// that the peer's identity key holds a valid certificate of an accepted network. Until
// it has, no data-mesher protocol (nor identify) is served to or used with that peer,
// and a connection that fails, or does not finish within certTimeout, is closed.
//
//   dialer   → listener:  frame(dialer's certificate), closes its write side
//   listener → dialer:    frame(listener's certificate), closes — only once the dialer's verified;
//                         otherwise it resets the stream and closes the connection
//
// A certificate that expires while connected closes the connection (a timer per peer).
// Renewal (issue 19): a node whose certificate or certificate authorities changed
// (renew()) repeats the exchange on one open connection to each admitted peer; the
// peer's answer is the same handler, which replaces the end it knew (the timer) with the
// renewed certificate's, so the connection outlives the old end. A failed repeat closes
// nothing here: the peer still holds the old end and closes at that time if it must.
// Peers whose certificate the new authorities no longer accept are disconnected.
// Revocation (issue 19): identity keys on the network's revocation list (setRevoked)
// are refused like a bad certificate, and admitted peers with such a key disconnected.
//
// Until verified, an inbound connection holds a slot a member may need (review 11-R3): it
// is closed certHandshakeTimeout after it came up; at most maxUnverifiedPerIp of them per
// IP (past that the IP's oldest goes) and maxUnverified in all (past that the
// oldest goes: a member's exchange takes one round trip, a stranger's never ends). A
// known member (verified before, allowed_nodes, bootstrap: known-members.ts) is not
// counted against those caps (issue 18): it still has to verify in time, but strangers
// on its own IP cannot have it closed. Every peer verified here is remembered as a member.
import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { NetworkIdentity } from '../config/network.js'
import { certificateProblem, decodeCertificate, MAX_CERT_BYTES, type Certificate } from '../crypto/certificate.js'
import { ipKey } from './connection-limits.js'
import type { MeshContext } from './context.js'
import type { MeshLibp2p } from './node.js'
import { PROTOCOLS, type MeshSettings } from './settings.js'
import { closeWrite, frame, send, StreamReader, WireError } from './wire.js'

/** setTimeout's longest delay; a later expiry is re-armed when it fires */
const MAX_TIMER = 2 ** 31 - 1

interface Verified { cert: Certificate, timer: NodeJS.Timeout }

/** What a CertificateGate uses of the mesh's context; of libp2p its events, connections, identify, and hanging up. */
export interface CertificateGateContext extends Pick<MeshContext, 'settings' | 'log'> {
  readonly libp2p: Pick<MeshLibp2p, 'addEventListener' | 'removeEventListener' | 'getConnections' | 'hangUp' | 'services'>
}

export class CertificateGate {
  private readonly verified = new Map<string, Verified>()
  private readonly waiters = new Map<string, Set<(ok: boolean) => void>>()
  /** inbound connections whose peer has not proved a certificate yet, oldest first */
  private readonly unverified = new Set<Connection>()
  /** connections whose exchange succeeded once: a repeat (renewal) on them does not identify again */
  private readonly admittedConnections = new WeakSet<Connection>()
  /** identity keys (base64) of the network's revocation list */
  private revoked: ReadonlySet<string> = new Set()
  private stopped = false
  counters = { verified: 0, refusedInbound: 0, refusedOutbound: 0, expired: 0, unverifiedClosed: 0, renewalsSent: 0, renewalsFailed: 0, revoked: 0 }

  private readonly libp2p: CertificateGateContext['libp2p']
  private readonly settings: MeshSettings
  private readonly log: Logger

  /** `members`: told of every verified peer; its members skip the caps on unverified connections */
  constructor (ctx: CertificateGateContext, private network: NetworkIdentity, private readonly clock: () => number = Date.now,
    private readonly members?: { has: (peer: PeerId) => boolean, add: (peer: PeerId) => void }) {
    this.libp2p = ctx.libp2p
    this.settings = ctx.settings
    this.log = ctx.log
  }

  /** Before libp2p starts: the identify answer waits for (and needs) a verified peer too. */
  install (): void {
    const identify = this.libp2p.services.identify as unknown as { handleProtocol: StreamHandler }
    const answer = identify.handleProtocol
    identify.handleProtocol = this.guard(answer)
    this.libp2p.addEventListener('connection:open', this.onOpen)
    this.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
  }

  isVerified (peer: PeerId | string): boolean { return this.verified.has(peer.toString()) }

  /** The name and end of the certificate a verified peer proved (status). */
  certificateOf (peer: PeerId | string): { name: string, notAfter: number } | undefined {
    const v = this.verified.get(peer.toString())
    return v === undefined ? undefined : { name: v.cert.name, notAfter: v.cert.notAfter }
  }

  /** Resolves true once the peer is verified, false if it is refused, disconnects or the timeout passes. */
  async waitVerified (peer: PeerId | string, timeout = this.settings.certTimeout): Promise<boolean> {
    const id = peer.toString()
    if (this.verified.has(id)) return true
    if (this.stopped) return false
    return await new Promise<boolean>(resolve => {
      const set = this.waiters.get(id) ?? new Set()
      this.waiters.set(id, set)
      const done = (ok: boolean): void => { clearTimeout(timer); set.delete(done); resolve(ok) }
      const timer = setTimeout(() => done(this.verified.has(id)), timeout)
      set.add(done)
    })
  }

  /** Wraps a protocol handler: it runs only for a verified peer (waiting for the exchange in flight). */
  guard (handler: StreamHandler): StreamHandler {
    return async (stream: Stream, connection: Connection) => {
      if (!await this.waitVerified(connection.remotePeer)) {
        stream.abort(new Error('not admitted: no valid certificate'))
        return
      }
      await handler(stream, connection)
    }
  }

  /** The listener's side of the exchange. */
  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const deadline = Date.now() + this.settings.certTimeout
    const reader = new StreamReader(stream, deadline, MAX_CERT_BYTES + 8)
    try {
      const bytes = await reader.expectFrame(MAX_CERT_BYTES, 'a certificate')
      const cert = this.check(bytes, connection.remotePeer)
      await send(stream, frame(this.network.certificateBytes), deadline)
      await closeWrite(stream, deadline)
      this.admit(connection, cert)
    } catch (err) {
      stream.abort(err as Error)
      this.refuse(connection, (err as Error).message, brokeOff(err))
    }
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    if (this.stopped) return
    if (conn.direction === 'outbound') { void this.exchange(conn); return }
    // inbound: the dialer must present its certificate at once
    if (this.isVerified(conn.remotePeer)) return
    if (this.members?.has(conn.remotePeer) !== true && !this.takeUnverifiedSlot(conn)) return
    setTimeout(() => {
      this.unverified.delete(conn)
      if (conn.status === 'open' && !this.isVerified(conn.remotePeer)) this.refuse(conn, `no certificate within ${this.settings.certHandshakeTimeout} ms`)
    }, this.settings.certHandshakeTimeout).unref()
  }

  /** Caps the inbound connections not yet verified, per IP and in all (see the top of this file). */
  private takeUnverifiedSlot (conn: Connection): boolean {
    const s = this.settings
    for (const c of this.unverified) if (c.status !== 'open' || this.isVerified(c.remotePeer)) this.unverified.delete(c)
    const ip = ipKey(conn.remoteAddr)
    const fromIp = ip === undefined ? [] : [...this.unverified].filter(c => ipKey(c.remoteAddr) === ip)
    if (fromIp.length >= s.maxUnverifiedPerIp) {
      // the IP's oldest goes, not the newcomer: a member's exchange takes a round trip, so
      // a member that shares its IP with strangers is closed only if that many more come first
      this.unverified.delete(fromIp[0])
      this.counters.unverifiedClosed++
      this.refuse(fromIp[0], `more than ${s.maxUnverifiedPerIp} connections from ${ip} without a certificate: the oldest goes`)
    }
    this.unverified.add(conn)
    if (this.unverified.size > s.maxUnverified) {
      const oldest = this.unverified.values().next().value!
      this.unverified.delete(oldest)
      this.counters.unverifiedClosed++
      this.refuse(oldest, `more than ${s.maxUnverified} connections without a certificate: the oldest goes`)
    }
    return true
  }

  /**
   * The dialer's side: send ours, read theirs. `renewal`: a repeat on an admitted
   * connection (renew()); its failure is logged, and the connection left as it is.
   */
  private async exchange (conn: Connection, renewal = false): Promise<void> {
    const deadline = Date.now() + this.settings.certTimeout
    let stream: Stream | undefined
    try {
      stream = await conn.newStream(PROTOCOLS.cert, { signal: AbortSignal.timeout(this.settings.certTimeout) })
      const reader = new StreamReader(stream, deadline, MAX_CERT_BYTES + 8)
      await send(stream, frame(this.network.certificateBytes), deadline)
      await closeWrite(stream, deadline)
      // (a listener that refuses ours resets the stream: to the dialer, that is a closed stream too)
      const bytes = await reader.expectFrame(MAX_CERT_BYTES, 'a certificate (refused ours, or stopped)')
      this.admit(conn, this.check(bytes, conn.remotePeer))
    } catch (err) {
      stream?.abort(err as Error)
      if (!renewal) { this.refuse(conn, (err as Error).message, brokeOff(err)); return }
      this.counters.renewalsFailed++
      this.log.warn({ peer: conn.remotePeer.toString(), err: (err as Error).message }, 'could not show the renewed certificate to a peer; it keeps the old end')
    }
  }

  /**
   * This node's certificate or the accepted networks changed (issue 19): new
   * connections use `next` from now on; admitted peers whose certificate `next` no
   * longer accepts are disconnected, the others are shown the renewed certificate.
   */
  renew (next: NetworkIdentity): void {
    if (this.stopped) return
    const ours = !Buffer.from(next.certificateBytes).equals(this.network.certificateBytes)
    this.network = next
    for (const [id, v] of [...this.verified]) {
      const problem = certificateProblem(v.cert, undefined, { networks: next.trusted, now: this.clock() })
      if (problem === undefined) continue
      clearTimeout(v.timer)
      this.verified.delete(id)
      this.log.info({ peer: id, reason: problem }, 'peer certificate no longer accepted: disconnected')
      const conn = this.libp2p.getConnections().find(c => c.remotePeer.toString() === id)
      if (conn !== undefined) void this.libp2p.hangUp(conn.remotePeer).catch(() => {})
    }
    if (!ours) return
    for (const id of this.verified.keys()) {
      const conn = this.libp2p.getConnections().find(c => c.remotePeer.toString() === id && c.status === 'open')
      if (conn === undefined) continue
      this.counters.renewalsSent++
      void this.exchange(conn, true)
    }
  }

  /** The certificate must be for the key the peer proved it holds (its peer id) in the secure channel. */
  private check (bytes: Uint8Array, peer: PeerId): Certificate {
    let cert: Certificate
    try { cert = decodeCertificate(bytes) } catch (err) { throw new Error(`malformed certificate: ${(err as Error).message}`) }
    const key = peer.publicKey?.type === 'Ed25519' ? peer.publicKey.raw : undefined
    if (key === undefined) throw new Error('the peer id is not an Ed25519 key')
    const problem = certificateProblem(cert, key, { networks: this.network.trusted, now: this.clock() })
    if (problem !== undefined) throw new Error(problem)
    if (this.revoked.has(Buffer.from(key).toString('base64'))) throw new Error('the certificate\'s key is revoked by the network (network.revocations)')
    return cert
  }

  private admit (conn: Connection, cert: Certificate): void {
    this.unverified.delete(conn)
    if (this.stopped || conn.status !== 'open') return
    const id = conn.remotePeer.toString()
    const fresh = !this.verified.has(id)
    const previous = this.verified.get(id)
    if (previous !== undefined) clearTimeout(previous.timer)
    this.verified.set(id, { cert, timer: this.expiryTimer(conn.remotePeer, cert.notAfter) })
    this.members?.add(conn.remotePeer)
    if (fresh) {
      this.counters.verified++
      this.log.debug({ peer: id, name: cert.name, notAfter: new Date(cert.notAfter).toISOString() }, 'peer admitted by certificate')
    } else if (previous !== undefined && previous.cert.notAfter !== cert.notAfter) {
      this.log.info({ peer: id, name: cert.name, notAfter: new Date(cert.notAfter).toISOString() }, 'peer showed a renewed certificate')
    }
    for (const w of [...(this.waiters.get(id) ?? [])]) w(true)
    this.waiters.delete(id)
    if (this.admittedConnections.has(conn)) return // a repeat (renewal): identify ran already
    this.admittedConnections.add(conn)
    // identify runs only now (not on connection open), so that only admitted peers are learned
    this.libp2p.services.identify.identify(conn).catch(() => {})
  }

  private expiryTimer (peer: PeerId, notAfter: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const id = peer.toString()
      if (this.verified.get(id)?.timer !== timer) return
      const v = this.verified.get(id)!
      if (this.clock() < notAfter) { this.verified.set(id, { cert: v.cert, timer: this.expiryTimer(peer, notAfter) }); return }
      this.verified.delete(id)
      this.counters.expired++
      this.log.info({ peer: id, notAfter: new Date(notAfter).toISOString() }, 'peer certificate expired: disconnected')
      this.libp2p.hangUp(peer).catch(() => {})
    }, Math.min(MAX_TIMER, Math.max(0, notAfter - this.clock())))
    timer.unref()
    return timer
  }

  /**
   * Closes a connection whose peer did not prove a certificate. Never a penalty: the peer
   * may dial again at once. `brokeOff`: the exchange ended early (the stream closed, was
   * reset or too slow: a peer stopping or killed mid-exchange, or a listener refusing ours),
   * so nothing is said about its certificate and it is logged at debug only.
   */
  private refuse (conn: Connection, reason: string, brokeOff = false): void {
    this.unverified.delete(conn)
    if (this.stopped) return
    if (conn.direction === 'inbound') this.counters.refusedInbound++
    else this.counters.refusedOutbound++
    const fields = { peer: conn.remotePeer.toString(), direction: conn.direction, reason }
    if (brokeOff) this.log.debug(fields, 'certificate exchange broke off: connection closed')
    else this.log.info(fields, 'peer refused: no valid certificate of this network')
    conn.abort(new Error(`not admitted: ${reason}`))
  }

  /** The network's revocation list changed: refuse these keys from now on, and disconnect admitted peers that hold one. */
  setRevoked (keys: ReadonlySet<string>): void {
    this.revoked = keys
    if (this.stopped) return
    for (const [id, v] of [...this.verified]) {
      if (!keys.has(Buffer.from(v.cert.subject).toString('base64'))) continue
      clearTimeout(v.timer)
      this.verified.delete(id)
      this.counters.revoked++
      this.log.warn({ peer: id, name: v.cert.name }, 'peer certificate revoked by the network: disconnected')
      const conn = this.libp2p.getConnections().find(c => c.remotePeer.toString() === id)
      if (conn !== undefined) void this.libp2p.hangUp(conn.remotePeer).catch(() => {})
    }
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const id = evt.detail.toString()
    const v = this.verified.get(id)
    if (v !== undefined) clearTimeout(v.timer)
    this.verified.delete(id)
    for (const w of [...(this.waiters.get(id) ?? [])]) w(false)
    this.waiters.delete(id)
  }

  stop (): void {
    this.stopped = true
    this.libp2p.removeEventListener('connection:open', this.onOpen)
    this.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const v of this.verified.values()) clearTimeout(v.timer)
    this.verified.clear()
    this.unverified.clear()
    for (const set of this.waiters.values()) for (const w of [...set]) w(false)
    this.waiters.clear()
  }
}

/** Whether an exchange failed by ending early (closed, reset, too slow) rather than on what the peer sent. */
function brokeOff (err: unknown): boolean {
  return err instanceof WireError && err.fault !== 'peer'
}
