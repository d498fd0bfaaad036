// Who may talk to this node: the optional allow-list (cluster.allowed_nodes) and the
// penalty box (peers that sent garbage, refused for a while). Both are enforced by the
// libp2p connection gater, in both directions, before any protocol runs, so a refused
// node learns nothing beyond the fact that the handshake failed.
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { decodeBase64Key } from '../crypto/keys.js'
import { DEFAULT_MESH_SETTINGS } from './settings.js'

/** allowed_nodes entries (base64 identity keys or peer ids) → the peer id strings they admit. */
export function allowedPeerIds (entries: string[]): Set<string> {
  const out = new Set<string>()
  for (const entry of entries) {
    const raw = decodeBase64Key(entry)
    if (raw !== undefined) {
      out.add(peerIdFromPublicKey(publicKeyFromRaw(raw)).toString())
      continue
    }
    out.add(peerIdFromString(entry).toString()) // normalises the spelling; throws on garbage
  }
  return out
}

export class Admission {
  /** peer id → refused until (unix ms) */
  private readonly penalties = new Map<string, number>()
  private readonly allowed?: Set<string>

  constructor (allowedNodes: string[], private readonly self: string, private readonly clock: () => number = Date.now, private readonly maxPenalties = DEFAULT_MESH_SETTINGS.penaltyBoxMax) {
    this.allowed = allowedNodes.length > 0 ? allowedPeerIds(allowedNodes) : undefined
  }

  get restricted (): boolean { return this.allowed !== undefined }

  /** Whether the allow-list admits this peer (always, when admission is off). */
  isAllowed (peer: PeerId | string): boolean {
    const id = peer.toString()
    return this.allowed === undefined || this.allowed.has(id) || id === this.self
  }

  isPenalized (peer: PeerId | string): boolean {
    const id = peer.toString()
    const until = this.penalties.get(id)
    if (until === undefined) return false
    if (until > this.clock()) return true
    this.penalties.delete(id)
    return false
  }

  /** With a network: whether the peer proved its certificate (src/mesh/cert-admission.ts). */
  private verified?: (peer: PeerId | string) => boolean

  /** Admission by certificate: from now on a peer is admitted only once `verified` says so. */
  requireCertificate (verified: (peer: PeerId | string) => boolean): void { this.verified = verified }

  /** May a connection with this peer be opened or kept (allow-list and penalty box)? */
  mayConnect (peer: PeerId | string): boolean {
    return this.isAllowed(peer) && !this.isPenalized(peer)
  }

  /** May we exchange anything with this peer right now? (with a network: only once its certificate is verified) */
  admits (peer: PeerId | string): boolean {
    return this.mayConnect(peer) && (this.verified === undefined || this.verified(peer))
  }

  penalize (peer: PeerId | string, forMs: number): void {
    this.penalties.set(peer.toString(), this.clock() + forMs)
    if (this.penalties.size > this.maxPenalties) { // bounded: drop what has run out
      const now = this.clock()
      for (const [id, until] of this.penalties) if (until <= now) this.penalties.delete(id)
    }
  }

  penalized (): Array<{ peerId: string, until: number }> {
    const now = this.clock()
    return [...this.penalties].filter(([, until]) => until > now).map(([peerId, until]) => ({ peerId, until }))
  }

  gater (): ConnectionGater {
    // the certificate exchange runs after the handshake, so the gater checks only the rest
    const deny = (peer: PeerId): boolean => !this.mayConnect(peer)
    return {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
      denyInboundUpgradedConnection: deny,
      denyOutboundUpgradedConnection: deny,
      denyInboundRelayedConnection: () => true,
      denyOutboundRelayedConnection: () => true,
      denyInboundRelayReservation: () => true
    }
  }
}
