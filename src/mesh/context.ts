// What the protocol components of the mesh share: the libp2p node, the settings, the
// log, and the two questions about a peer (is it admitted; punish it). One object, built
// once in startMesh; each component declares the parts it uses (a Pick of MeshContext,
// and of libp2p only the methods it calls), so its constructor says what it depends on.
import type { PeerId, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { MeshLibp2p } from './node.js'
import type { MeshSettings } from './settings.js'
import { WireError } from './wire.js'

/** Disconnects the peer and refuses it for settings.penaltyDuration; `reason` is logged. */
export type Punish = (peer: PeerId, reason: string) => void

export interface MeshContext {
  readonly libp2p: MeshLibp2p
  readonly settings: MeshSettings
  readonly log: Logger
  readonly punish: Punish
  /** whether the peer may talk to this node now (allowed_nodes, penalty box, certificate) */
  readonly admits: (peer: PeerId | string) => boolean
}

/**
 * The end of a failed exchange with `peer`: the stream is aborted; the peer is punished
 * when the failure is its fault (it broke the protocol: a WireError with fault 'peer'),
 * otherwise (a timeout, a reset, a closed connection: no fault of anyone's) it is logged
 * at debug. `what` names the protocol in both ("fetch", "sync", ...).
 */
export function endExchange (ctx: Pick<MeshContext, 'punish' | 'log'>, stream: Stream | undefined, err: unknown, peer: PeerId, what: string, fields: Record<string, unknown> = {}): void {
  stream?.abort(err as Error)
  if (err instanceof WireError && err.fault === 'peer') ctx.punish(peer, `${what}: ${err.message}`)
  else ctx.log.debug({ peer: peer.toString(), ...fields, err: (err as Error).message }, `${what} failed`)
}
