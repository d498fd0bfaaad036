// /data-mesher/peers/1.0.0 — peer exchange: a node that knows one bootstrap node learns
// the rest of the cluster from the peers it connects to.
//
//   requester: opens the stream and closes its write side (the request is empty)
//   responder: frame( UTF-8 JSON {"peers":[{"id":"<peer id>","addrs":["<multiaddr>", ...]}, ...]} )
//
// The responder lists a random sample of its connected peers (not the requester) with
// the listen addresses they announced through identify. Only admitted peers are listed,
// so with allowed_nodes set a stranger is never even connected to learn them.
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { connectedPeers, type MeshLibp2p } from './node.js'
import { endExchange, type MeshContext } from './context.js'
import { PROTOCOLS, type PeerExchangeSettings } from './settings.js'
import { ExchangeSchedule } from './proto/exchange-schedule.js'
import { shuffle } from './proto/shuffle.js'
import { StreamReader, WireError, closeWrite, frame, send } from './wire.js'

const P2P_CODE = 421

export interface PeerInfo { peerId: PeerId, addrs: Multiaddr[] }

/** Strips a trailing /p2p/<id> (the peer id travels separately). */
function bare (ma: Multiaddr): Multiaddr {
  return ma.getComponents().at(-1)?.name === 'p2p' ? ma.decapsulateCode(P2P_CODE) : ma
}

export function decodePeers (bytes: Uint8Array, maxPeers: number, maxAddrs: number): PeerInfo[] {
  let doc: unknown
  try { doc = JSON.parse(Buffer.from(bytes).toString('utf8')) } catch { throw new WireError('peer', 'peer list is not JSON') }
  const peers = (doc as { peers?: unknown })?.peers
  if (!Array.isArray(peers)) throw new WireError('peer', 'peer list has no "peers" array')
  if (peers.length > maxPeers) throw new WireError('peer', `peer list has ${peers.length} peers, the limit is ${maxPeers}`)
  const out: PeerInfo[] = []
  for (const p of peers) {
    const { id, addrs } = (p ?? {}) as { id?: unknown, addrs?: unknown }
    if (typeof id !== 'string' || !Array.isArray(addrs) || addrs.length > maxAddrs || addrs.some(a => typeof a !== 'string')) {
      throw new WireError('peer', 'malformed peer list entry')
    }
    let peerId: PeerId
    const mas: Multiaddr[] = []
    try {
      peerId = peerIdFromString(id)
      for (const a of addrs as string[]) mas.push(bare(multiaddr(a)))
    } catch { throw new WireError('peer', 'peer list entry with a bad peer id or multiaddr') }
    out.push({ peerId, addrs: mas })
  }
  return out
}

/** What PeerExchange uses of the mesh's context; of libp2p the open connections and the peer store (the addresses it tells). */
export interface PeerExchangeContext extends Pick<MeshContext, 'settings' | 'log' | 'punish' | 'admits'> {
  readonly libp2p: Pick<MeshLibp2p, 'getConnections' | 'peerStore'>
}

export class PeerExchange {
  counters = { asked: 0, answered: 0, learned: 0 }

  private readonly libp2p: PeerExchangeContext['libp2p']
  private readonly settings: PeerExchangeSettings
  private timer?: NodeJS.Timeout
  private stopped = false
  private readonly schedule: ExchangeSchedule
  /** where learnt peers go (membership), which says whether they taught this node a peer it needs; set by start() */
  private onPeers: (peers: PeerInfo[], from: PeerId) => boolean = () => true
  /** whether this node holds fewer peers than its target (membership); set by start() */
  private short: () => boolean = () => true
  /** told of every answer written (membership: a newcomer that got it may be let go); set by start() */
  private onServed: (peer: PeerId) => void = () => {}

  constructor (private readonly ctx: PeerExchangeContext) {
    this.libp2p = ctx.libp2p
    this.settings = ctx.settings
    this.schedule = new ExchangeSchedule(ctx.settings, Math.random)
  }

  /** whose answers are used (membership.ts: members and peers this node dialed); set by start() */
  private vouches: (peer: PeerId) => boolean = () => true

  /**
   * Hands every peer list learnt (on connect, and from then on) to `learn`, and asks a
   * random connected peer that `vouches` every peerExchangeInterval (jittered), one
   * exchange at a time, backing off while the answers teach nothing this node needs and
   * it is not `short` of peers (proto/exchange-schedule.ts). (A stranger's answer would
   * not be used: it is not asked.) Tells `served` of every answer this node wrote to a peer.
   */
  start (learn: (peers: PeerInfo[], from: PeerId) => boolean, vouches?: (peer: PeerId) => boolean, served?: (peer: PeerId) => void, short?: () => boolean): void {
    this.onPeers = learn
    if (vouches !== undefined) this.vouches = vouches
    if (served !== undefined) this.onServed = served
    if (short !== undefined) this.short = short
    this.next()
  }

  /** how many base intervals the timer's next wait is (1: not backed off) */
  get backoff (): number { return this.schedule.backoff }

  private next (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      const peer = shuffle(connectedPeers(this.libp2p).filter(p => this.ctx.admits(p) && this.vouches(p)), Math.random)[0]
      void (peer === undefined ? Promise.resolve() : this.ask(peer)).finally(() => this.next())
    }, this.schedule.delay(this.short()))
    this.timer.unref()
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private async answer (except: PeerId): Promise<Uint8Array> {
    const s = this.settings
    const peers = shuffle(connectedPeers(this.libp2p).filter(p => !p.equals(except) && this.ctx.admits(p)), Math.random)
    const list: Array<{ id: string, addrs: string[] }> = []
    for (const p of peers) {
      if (list.length >= s.peerExchangeMaxPeers) break
      let addrs: string[] = []
      try {
        const info = await this.libp2p.peerStore.get(p)
        addrs = info.addresses.map(a => bare(a.multiaddr).toString())
      } catch { /* not in the peer store */ }
      if (addrs.length === 0) {
        // fall back to where we reached it, if we dialed it (an inbound address is an ephemeral port)
        addrs = this.libp2p.getConnections(p).filter(c => c.direction === 'outbound').map(c => bare(c.remoteAddr).toString())
      }
      addrs = [...new Set(addrs)].filter(a => !a.includes('/p2p-circuit')).slice(0, s.peerExchangeMaxAddrs)
      if (addrs.length > 0) list.push({ id: p.toString(), addrs })
    }
    for (;;) {
      const bytes = Buffer.from(JSON.stringify({ peers: list }), 'utf8')
      if (bytes.length <= s.peerExchangeMaxBytes) return new Uint8Array(bytes)
      list.pop()
    }
  }

  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const deadline = Date.now() + this.settings.peerExchangeTimeout
    const reader = new StreamReader(stream, deadline, 16)
    try {
      await reader.end() // the request is empty
      await send(stream, frame(await this.answer(connection.remotePeer)), deadline)
      await closeWrite(stream, deadline)
      this.counters.answered++
      this.onServed(connection.remotePeer)
    } catch (err) {
      endExchange(this.ctx, stream, err, connection.remotePeer, 'peers')
    }
  }

  async ask (peer: PeerId): Promise<void> {
    const conn = this.libp2p.getConnections(peer).find(c => c.status === 'open')
    if (conn === undefined) return
    const s = this.settings
    const deadline = Date.now() + s.peerExchangeTimeout
    let stream: Stream | undefined
    try {
      stream = await conn.newStream(PROTOCOLS.peers, { signal: AbortSignal.timeout(s.peerExchangeTimeout) })
      const reader = new StreamReader(stream, deadline, s.peerExchangeMaxBytes + 8)
      await closeWrite(stream, deadline)
      const bytes = await reader.frame(s.peerExchangeMaxBytes)
      if (bytes === undefined) throw reader.closed('no peer list')
      const peers = decodePeers(bytes, s.peerExchangeMaxPeers, s.peerExchangeMaxAddrs)
      this.counters.asked++
      this.counters.learned += peers.length
      this.schedule.answered(this.onPeers(peers, peer))
    } catch (err) {
      endExchange(this.ctx, stream, err, peer, 'peers')
    }
  }
}
