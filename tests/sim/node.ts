// One simulated node: the daemon's protocol cores (src/mesh/proto: the overlay's peer
// selection and the broadcast tree) as the daemon builds them, an in-memory replica in
// place of the store, and the state of the drivers that stand in for the daemon's
// adapters (anti-entropy, peer exchange, connections). The decisions are the cores';
// what the drivers do is what src/mesh/{sync,peer-exchange,membership,announce}.ts do
// around their cores.
import { Overlay, type BootstrapEntry } from '../../src/mesh/proto/overlay.js'
import { ExchangeSchedule } from '../../src/mesh/proto/exchange-schedule.js'
import { TreeCore, reshapeOptionsFrom, type Notice, type ReshapeOptions } from '../../src/mesh/proto/tree.js'
import { seededRandom, type Random } from '../../src/mesh/proto/random.js'
import { TokenBuckets } from '../../src/mesh/proto/token-bucket.js'
import type { SyncSchedule } from '../../src/mesh/proto/sync-schedule.js'
import type { MeshSettings } from '../../src/mesh/settings.js'
import { compareRecords, serialOf, type SimRecord } from './records.js'
import { Replica, mix } from './replica.js'
import type { Link } from './link.js'
import { turnsFor, waits, type Turn } from './turns-driver.js'
import type { SignerTurns } from '../../src/mesh/proto/signer-turns.js'
import { FloodJudge } from '../../src/mesh/proto/flood-judge.js'

/**
 * What a node's clock reads at simulated time 0 (2027-01-15): the cores get unix
 * milliseconds as from Date.now(), never small or negative numbers (a core may take 0 for
 * "long ago", as the overlay's backoff does).
 */
export const EPOCH = 1_800_000_000_000

export class SimNode {
  readonly id: string
  alive = false
  hostile = false
  /** every node is named in this node's allowed_nodes: all are members, none a stranger (known-members.ts) */
  allMembers = false
  /** simulated time it started (joined) */
  startedAt = 0
  /** its clock minus simulated time (ms) */
  offset = 0
  readonly random: Random
  readonly replica = new Replica()
  readonly links = new Map<number, Link>()
  /** peers this node counts as members (known-members.ts): its bootstrap nodes, peers it dialed, the overlay's `member` actions */
  readonly members = new Set<number>()
  tree!: TreeCore<SimRecord>
  /** new versions from the tree, per signer in turn past the node-wide rate (src/mesh/proto/signer-turns.ts), as receive.ts runs them */
  turns!: SignerTurns<Turn>
  /** which signers flood, by their own rate of new versions (src/mesh/proto/flood-judge.ts), as receive.ts runs it */
  judge!: FloodJudge
  /** when its pending release is due (simulated ms) */
  turnWake = Infinity
  overlay!: Overlay
  /** the latest wake each core asked for (simulated ms); older wake events are stale */
  treeWake = Infinity
  overlayWake = Infinity

  // anti-entropy (src/mesh/sync.ts around the core's SyncSchedule: skips, peer choice, retries, backoff)
  syncTick = 0
  syncSchedule!: SyncSchedule
  /** peer → round id, rounds this node initiated and that are under way */
  readonly rounds = new Map<number, number>()
  /** peer → when its round started and when the peer was last heard from in it (its stall deadline) */
  readonly roundTimes = new Map<number, { started: number, heard: number }>()
  /** the round the timer started (the next tick is armed when it ends) */
  timerRound = 0
  syncAnswers!: TokenBuckets
  /** versions being fetched (after a sync named them): name → serial */
  readonly fetching = new Map<string, { serial: number, peer: number }>()

  // peer exchange
  pxTick = 0
  px!: ExchangeSchedule

  constructor (readonly index: number, seed: number) {
    this.id = String(index)
    this.random = seededRandom((mix(seed) ^ mix(index + 0x9e37)) >>> 0)
  }

  /** This node's clock at simulated time `t` (unix ms: simulated time 0 is EPOCH, plus the node's offset). */
  local (t: number): number { return EPOCH + t + this.offset }
  /** The simulated time at which this node's clock reads `local`. */
  sim (local: number): number { return local - EPOCH - this.offset }

  start (t: number, settings: MeshSettings, bootstrap: number[], reshape?: ReshapeOptions): void {
    this.alive = true
    this.startedAt = t
    const replica = this.replica
    this.tree = new TreeCore<SimRecord>(settings, {
      name: r => r.name,
      compare: compareRecords,
      stillMissing: (n: Notice) => replica.lacks(n.name, n.timestamp, serialOf(n.id)) && !waits(this, n.name, n.timestamp, serialOf(n.id))
    }, this.random, reshape ?? reshapeOptionsFrom(settings)) // the settings' (the daemon's) unless the run gives its own
    this.turns = turnsFor(settings)
    this.judge = new FloodJudge(settings)
    this.turnWake = Infinity
    const boot: BootstrapEntry[] = bootstrap.map(b => ({ entry: `sim:${b}`, peerId: String(b) }))
    for (const b of bootstrap) this.members.add(b)
    this.overlay = new Overlay({
      settings,
      self: this.id,
      bootstrap: boot,
      view: { mayConnect: () => true, isMember: p => this.isMember(Number(p)) },
      random: this.random,
      now: this.local(t)
    })
    this.px = new ExchangeSchedule(settings, this.random)
    this.syncAnswers = new TokenBuckets({ burst: settings.syncAnswerBurst, perSecond: 1000 / settings.syncAnswerInterval, maxKeys: settings.maxConnections }, () => this.clock)
  }

  /** the local time of the event being handled (the sync answer budget's clock) */
  clock = 0

  isMember (peer: number): boolean { return this.allMembers || this.members.has(peer) }

  /** Whether what `peer` says about others is used (membership.ts vouches: a member, or a peer this node dialed). */
  vouches (peer: number): boolean {
    return this.isMember(peer) || (this.links.get(peer)?.dialedBy(this.index) ?? false)
  }
}
