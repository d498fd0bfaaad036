// Certificates of namespace files travel beside their records (DESIGN.md §7): announce
// and sync carry records only, and a node that receives a namespace record it has no
// certificate for asks the peer that sent it, before judging the record:
//
//   requester → server:  frame( sha256(record)[32] ), closes
//   server → requester:  frame( certificate ) | frame( ) when it has none, closes
//
// A missing certificate is not punished (the record is just not accepted), nor is a
// stream that ends before its message on either side (a peer stopping, or killed: issue
// 18); a malformed message is, and so is a certificate for another key than the record's
// signer. One that does not certify the record for another reason (another network,
// outside its window: config skew is possible) is not kept either. Either way the next peer that sends the
// record is asked in turn (review 11-R4). A record whose own signature does
// not verify is not worth a question: it goes straight to the rule (refused, punished).
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { decodeCertificate, MAX_CERT_BYTES, type Certificate } from '../crypto/certificate.js'
import type { SignedRecord } from '../crypto/record.js'
import { authenticity, certificateFitsRecord, compareVersions, configuredNamespace } from '../rule/which-version-wins.js'
import { recordKey, type CertificateBook } from '../store/certificate-book.js'
import type { Arrival } from './announce.js'
import type { Via } from './receive.js'
import { endExchange, type MeshContext } from './context.js'
import { FairLimiter, QueueDropped } from './proto/fair-limiter.js'
import type { ReplicaPort } from './replica-port.js'
import { standingFor, type Standing } from './proto/standing.js'
import type { MeshLibp2p } from './node.js'
import { PROTOCOLS, type AdmissionSettings, type FairnessSettings, type PeerSelectionSettings } from './settings.js'
import { closeWrite, frame, send, StreamReader, WireError } from './wire.js'

/** the mesh's offer; its answer tells the broadcast tree whether the record was new to this node */
type Offer = (record: SignedRecord, from: PeerId, content?: Uint8Array, via?: Via) => Arrival

/** What RecordCertificates uses of the mesh's context; of libp2p only the open connections (it asks on them). */
export interface RecordCertificatesContext extends Pick<MeshContext, 'settings' | 'log' | 'punish'> {
  readonly libp2p: Pick<MeshLibp2p, 'getConnections'>
}

export class RecordCertificates {
  /** questions under way, by record key and peer: each sender is asked at most once at a time */
  private readonly inFlight = new Map<string, Promise<boolean>>()
  /** the records waiting for their certificate, in turn per sender (fair-limiter.ts): only the newest version of a name waits */
  private readonly limiter: FairLimiter
  /** "peer/signer" → the last certificate that peer gave for that signer (it fitted its record) */
  private readonly given = new Map<string, Certificate>()
  counters = { fetched: 0, reused: 0, missing: 0, served: 0, unusable: 0, shed: 0 }

  private readonly settings: AdmissionSettings & FairnessSettings & Pick<PeerSelectionSettings, 'maxKnownPeers'>

  constructor (private readonly ctx: RecordCertificatesContext, private readonly book: CertificateBook, private readonly standing: Standing = standingFor(ctx.settings, Date.now)) {
    const s = this.settings = ctx.settings
    this.limiter = new FairLimiter({ slots: s.certFetchConcurrency, namespaceSlots: s.certFetchConcurrency, perPeerSlots: s.certFetchPerPeerSlots, perPeerQueue: s.certFetchPerPeerQueue }, p => standing.share(p))
  }

  /** Keeps `cert` as the latest one `peer` gave for its subject (bounded: the least recently stored goes). */
  private remember (peer: PeerId, record: SignedRecord, cert: Certificate): void {
    const key = givenKey(peer, record)
    this.given.delete(key)
    this.given.set(key, cert)
    if (this.given.size > this.settings.maxKnownPeers) this.given.delete(this.given.keys().next().value!)
  }

  /** A peer left: the questions for it that still wait their turn are dropped. */
  dropPeer (peer: string): void { this.limiter.dropPeer(peer) }

  stop (): void { this.limiter.stop() }

  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const deadline = Date.now() + this.settings.certTimeout
    const reader = new StreamReader(stream, deadline, 64)
    try {
      // a requester that died before its request is gone, not at fault (issue 18: it was punished)
      const key = await reader.expectFrame(32, 'the record-cert request')
      if (key.length !== 32) throw new WireError('peer', 'record-cert request is not a 32-byte record hash')
      const bytes = this.book.bytesByKey(Buffer.from(key).toString('hex'))
      await send(stream, frame(bytes ?? new Uint8Array(0)), deadline)
      await closeWrite(stream, deadline)
      if (bytes !== undefined) this.counters.served++
    } catch (err) {
      endExchange(this.ctx, stream, err, connection.remotePeer, 'record-cert')
    }
  }

  /**
   * Wraps the mesh's offer: a namespace record (of a configured namespace) whose
   * certificate is not here yet waits for it from the peer that sent it; without one the
   * rule refuses the record. A version not newer than ours skips the wait (offer drops it).
   */
  beforeOffer (offer: Offer, replica: ReplicaPort): Offer {
    return (record, from, content, via) => {
      const current = replica.get(record.name)
      if (configuredNamespace(replica.getPolicy(), record.name) === undefined || this.book.has(record) ||
        (current !== undefined && compareVersions(record, current) <= 0)) return offer(record, from, content, via)
      // Judged in its turn among the sender's (signature, then its certificate): only the
      // newest version of a name waits, so a flood of versions costs one check at a time,
      // not one per message. A bad signature goes straight to the rule (refused, punished).
      this.limiter.run({ peer: from.toString(), lane: 'namespace', key: record.name }, async () => {
        if (authenticity(record) === undefined) await this.fetch(record, from, replica)
        offer(record, from, content, via)
      }).catch((err: Error) => { if (err instanceof QueueDropped) this.counters.shed++ })
      return 'new' // its certificate is on the way: not a duplicate
    }
  }

  /**
   * Gets the certificate of `record` into the book: one `from` already gave for the same
   * signer, if it certifies this record too (a member's versions share its certificate, so
   * a flood of versions costs one question, not one each; a sender still has to hold the
   * certificate of what it sends); else asked of `from`. False when `from` has none (or junk).
   */
  private async fetch (record: SignedRecord, from: PeerId, replica: ReplicaPort): Promise<boolean> {
    if (this.book.has(record)) return true
    const known = this.given.get(givenKey(from, record))
    if (known !== undefined && certificateFitsRecord(replica.getPolicy(), record, known) === undefined) {
      this.book.offer(record, known)
      this.counters.reused++
      return true
    }
    const key = recordKey(record)
    const ask = `${key}/${from.toString()}`
    let p = this.inFlight.get(ask)
    if (p === undefined) {
      p = this.ask(record, key, from, replica).finally(() => this.inFlight.delete(ask))
      this.inFlight.set(ask, p)
    }
    return await p
  }

  private async ask (record: SignedRecord, key: string, peer: PeerId, replica: ReplicaPort): Promise<boolean> {
    const conn = this.ctx.libp2p.getConnections(peer).find(c => c.status === 'open')
    if (conn === undefined) return false
    const deadline = Date.now() + this.settings.certTimeout
    let stream: Stream | undefined
    try {
      stream = await conn.newStream(PROTOCOLS.recordCert, { signal: AbortSignal.timeout(this.settings.certTimeout) })
      const reader = new StreamReader(stream, deadline, MAX_CERT_BYTES + 8)
      await send(stream, frame(Buffer.from(key, 'hex')), deadline)
      await closeWrite(stream, deadline)
      const bytes = await reader.expectFrame(MAX_CERT_BYTES, 'the record-cert answer')
      if (bytes.length === 0) {
        // it sent the record, so it had the certificate (kept beside it): announcing what it cannot back is a strike
        this.counters.missing++
        if (this.standing.strike(peer.toString()) === 'punish') this.ctx.punish(peer, `sent namespace records without their certificates (the last: "${record.name}")`)
        return false
      }
      let cert
      try { cert = decodeCertificate(bytes) } catch (err) { throw new WireError('peer', `malformed certificate: ${(err as Error).message}`) }
      const problem = certificateFitsRecord(replica.getPolicy(), record, cert)
      if (problem !== undefined) {
        // for another key: no honest peer keeps that (it checks as we do). Another network or
        // window may be config skew (a rotation under way): not kept, not punished.
        if (!Buffer.from(cert.subject).equals(record.signer)) throw new WireError('peer', `a certificate that does not certify the record: ${problem}`)
        this.counters.unusable++
        this.ctx.log.debug({ peer: peer.toString(), name: record.name, problem }, 'a peer\'s certificate for a namespace record is not usable here')
        return false
      }
      this.book.offer(record, cert) // judged with the record, by the rule
      this.remember(peer, record, cert)
      this.counters.fetched++
      return true
    } catch (err) {
      endExchange(this.ctx, stream, err, peer, 'record-cert', { name: record.name })
      return false
    }
  }
}

function givenKey (peer: PeerId, record: SignedRecord): string { return `${peer.toString()}/${Buffer.from(record.signer).toString('hex')}` }
