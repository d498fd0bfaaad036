// Fair turns of the work a new version costs after its signature verified (passing it on,
// storing it), shared among the signers that cause it (issue 23: a member flooding its
// own namespace). The quotas bound a signer's names and bytes and the announce budget a
// link's messages, but a member may sign new versions of its files as often as it likes,
// and before this every node of the fleet passed on and stored each one: 50 members at
// 2 versions a second kept every node of a simulated 1,000-node fleet busier than its CPU,
// honest updates 2.2 s late (tests/sim/README.md, Findings 4).
//
// - A node-wide token bucket (`newVersionBurst`, then `newVersionsPerSecond`): while it
//   holds a token and nothing waits, a version goes on at once. A node that keeps up
//   passes everything as it comes, whoever signed it: no honest pattern waits (one name
//   every second, a dozen names at once, a deploy within the burst).
// - Past it, each signer has its own queue holding only the newest version per name (a
//   newer version of a queued name takes its place: a flood collapses instead of piling
//   up), and each token that comes back goes to the signer that had the fewest turns
//   lately (a count that halves every USAGE_HALF_LIFE; one never seen first). (Turns in
//   plain rotation were not enough: with 50 flooders each one's last turn is as old as
//   an occasional honest signer's.) A flooding signer uses all it gets, so its count
//   stays high and it takes what is left.
// - A signer with no turn lately goes at once even then, on credit (`goesFirst`: the
//   bucket may go up to a burst into debt, repaid from the tokens to come), rather than
//   one token later at every hop of the tree: an occasional honest update is not slowed
//   by a flood at all.
// - Bounded: at most `newVersionPerSigner` names wait per signer (past it, its own oldest
//   goes) and `newVersionQueueMax` in all (past it, the oldest of the longest queue goes);
//   a version dropped here is not lost to the fleet: anti-entropy brings its name back.
// - `floods(signer)`: within the last minute a version of the signer had to wait here, or
//   was overtaken while it waited, or on its way (`overtook`: the driver got a copy older
//   than the version it holds). Its versions then move no tree link: a second copy prunes
//   none, a new one makes none eager, lazy peers get no notice of it and a notice of it is
//   not grafted for (receive.ts, local-versions.ts). A flooder hands each version to all
//   its peers at once and nodes pass on different versions of its names, so its copies
//   meet everywhere: in the simulator, links pruned, made eager and grafted for its
//   versions cut the tree, and honest updates then needed repairs (tests/sim/README.md,
//   Findings 4). Its versions still go down the tree and anti-entropy backs them up.
//
// The driver runs the versions the broadcast tree brings through here (anti-entropy pulls
// at most the newest version per name per round, and a node catching up must not wait
// for tokens). Pure: the driver passes the time and asks `wake()` when to call `due()`.

export interface SignerTurnsSettings {
  /** new versions from peers passed on and stored at once, node-wide (a full bucket) ... */
  newVersionBurst: number
  /** ... and then this many per second; beyond, they wait for their signer's turn (one per token, signers in turn) */
  newVersionsPerSecond: number
  /** versions waiting for a turn, at most (past it the oldest of the longest queue is dropped: anti-entropy brings it back) */
  newVersionQueueMax: number
  /** names of one signer waiting, at most (only the newest version of a name waits; past it, its own oldest is dropped) */
  newVersionPerSigner: number
}

/** What became of a version offered. */
export type TurnVerdict =
  /** a token taken: take it now */
  | 'now'
  /** no token (or others wait): the newest waiting version of its name, for its signer's turn (due()) */
  | 'queued'
  /** the same or a newer version of its name already waits: nothing to do */
  | 'superseded'

interface SignerQueue<T> {
  /** name → the newest version waiting, oldest first */
  names: Map<string, T>
}

/** A signer's count of turns halves every this long (ms): the memory of who used the tokens. */
const USAGE_HALF_LIFE = 30_000

/** Fewer turns than this lately (a single one at least a half-life ago) is none: the signer may go on credit. */
const NO_TURN_LATELY = 0.5

/** How long a signer whose versions were overtaken while waiting counts as flooding (ms). */
const FLOOD_MEMORY = 60_000

/** Signers whose turns (and last overtaken version) are remembered, at most (the least recently seen go). */
const MAX_REMEMBERED = 65_536

/** A whole token, give or take float noise (so that a wake at the computed time finds it). */
const WHOLE = 1 - 1e-6

export class SignerTurns<T> {
  private tokens: number
  private refilled: number | undefined
  /** signers with versions waiting */
  private readonly queues = new Map<string, SignerQueue<T>>()
  private waiting = 0
  /** signer → its turns lately (halving every USAGE_HALF_LIFE) as of `at`; fewer goes first, unknown: 0 */
  private readonly usage = new Map<string, { turns: number, at: number }>()
  /** signer → when a version of it was last overtaken while it waited */
  private readonly overtaken = new Map<string, number>()
  readonly counters = { queued: 0, released: 0, superseded: 0, dropped: 0 }

  /** `compare(a, b)` > 0 when `a` is a newer version of the same name than `b`. */
  constructor (private readonly settings: SignerTurnsSettings, private readonly compare: (a: T, b: T) => number) {
    this.tokens = settings.newVersionBurst
  }

  /**
   * A new version of `name` signed by `signer` (its signature verified, newer than what is
   * stored). `dropped`: a waiting version pushed out of a full queue.
   */
  offer (signer: string, name: string, item: T, now: number): { verdict: TurnVerdict, dropped?: T } {
    const q = this.queues.get(signer)
    const older = q?.names.get(name)
    if (older !== undefined && this.compare(item, older) <= 0) {
      this.counters.superseded++
      this.remember(this.overtaken, signer, now)
      return { verdict: 'superseded' }
    }
    this.refill(now)
    if ((this.waiting === 0 && this.tokens >= WHOLE) || this.goesFirst(signer, now)) {
      this.tokens--
      this.served(signer, now)
      return { verdict: 'now' }
    }
    this.counters.queued++
    this.remember(this.overtaken, signer, now)
    const queue = q ?? { names: new Map<string, T>() }
    if (q === undefined) this.queues.set(signer, queue)
    if (older !== undefined) {
      // overtaken while it waited: the newer one takes its place (at the end: the oldest waiting goes first)
      queue.names.delete(name)
      this.waiting--
      this.counters.superseded++
    }
    queue.names.set(name, item)
    this.waiting++
    let dropped: T | undefined
    if (queue.names.size > Math.max(1, this.settings.newVersionPerSigner)) dropped = this.dropOldest(signer, queue)
    else if (this.waiting > Math.max(1, this.settings.newVersionQueueMax)) dropped = this.dropFromLongest()
    return dropped === undefined ? { verdict: 'queued' } : { verdict: 'queued', dropped }
  }

  /** The waiting versions whose turn came (a token each, signers in turn): take them now. */
  due (now: number): T[] {
    this.refill(now)
    const out: T[] = []
    while (this.waiting > 0 && this.tokens >= WHOLE) {
      const signer = this.nextSigner(now)
      if (signer === undefined) break
      const q = this.queues.get(signer)!
      const [name, item] = q.names.entries().next().value as [string, T]
      q.names.delete(name)
      if (q.names.size === 0) this.queues.delete(signer)
      this.waiting--
      this.tokens--
      this.served(signer, now)
      this.counters.released++
      out.push(item)
    }
    return out
  }

  /** When due() has something to release (undefined: nothing waits). */
  wake (now: number): number | undefined {
    if (this.waiting === 0) return undefined
    this.refill(now)
    if (this.tokens >= WHOLE) return now
    return now + Math.max(1, Math.ceil((1 - this.tokens) * 1000 / this.settings.newVersionsPerSecond - 1e-9))
  }

  /**
   * A version of `signer` arrived that a newer one had overtaken already (the driver has
   * the newer one): its versions come faster than they cross the fleet, as a flood's do.
   * (Nodes pass on different versions of a flooded name, so most of a flood reaches a
   * node as such stale copies, and never waits here.)
   */
  overtook (signer: string, now: number): void { this.remember(this.overtaken, signer, now) }

  /** Whether a version of `signer` was overtaken within the last minute, while it waited here or on its way (see the top). */
  floods (signer: string, now: number): boolean {
    const at = this.overtaken.get(signer)
    return at !== undefined && now - at < FLOOD_MEMORY
  }

  /** The versions of `name` waiting (any signer): on their way in, as far as notices and sync go. */
  * waitingFor (name: string): Iterable<T> {
    for (const q of this.queues.values()) {
      const item = q.names.get(name)
      if (item !== undefined) yield item
    }
  }

  /** Versions waiting, in all and per signer (only signers with any). */
  stats (): { waiting: number, signers: number } { return { waiting: this.waiting, signers: this.queues.size } }

  private refill (now: number): void {
    if (this.refilled === undefined || now < this.refilled) { this.refilled = now; return }
    const { newVersionBurst: burst, newVersionsPerSecond: perSecond } = this.settings
    this.tokens = Math.min(burst, this.tokens + (now - this.refilled) * perSecond / 1000)
    this.refilled = now
  }

  /**
   * Whether `signer` had no turn lately (NO_TURN_LATELY), would be
   * served before everyone waiting (no more turns than any of them) and none waits of its
   * own, and the bucket is less than a burst in debt: then it goes now, on credit,
   * instead of one token later at every hop (under a flood every node is out of tokens,
   * and that wait added up along the tree). An occasional honest update goes so; a
   * flooder, served all the time, never does; the debt is repaid from the tokens to
   * come, so the node-wide rate holds on average.
   */
  private goesFirst (signer: string, now: number): boolean {
    if (this.queues.has(signer) || this.tokens - 1 < -this.settings.newVersionBurst) return false
    const mine = this.turnsOf(signer, now)
    if (mine >= NO_TURN_LATELY) return false
    for (const other of this.queues.keys()) if (this.turnsOf(other, now) < mine) return false
    return true
  }

  /** The signer with versions waiting that had the fewest turns lately (the first queued among equals). */
  private nextSigner (now: number): string | undefined {
    let best: string | undefined
    let fewest = Infinity
    for (const signer of this.queues.keys()) {
      const turns = this.turnsOf(signer, now)
      if (turns < fewest) { best = signer; fewest = turns }
    }
    return best
  }

  private turnsOf (signer: string, now: number): number {
    const u = this.usage.get(signer)
    return u === undefined ? 0 : u.turns * Math.pow(2, -Math.max(0, now - u.at) / USAGE_HALF_LIFE)
  }

  private served (signer: string, now: number): void {
    const turns = this.turnsOf(signer, now) + 1
    this.usage.delete(signer)
    this.usage.set(signer, { turns, at: now })
    if (this.usage.size > MAX_REMEMBERED) this.usage.delete(this.usage.keys().next().value!)
  }

  private dropOldest (signer: string, q: SignerQueue<T>): T {
    const [name, item] = q.names.entries().next().value as [string, T]
    q.names.delete(name)
    if (q.names.size === 0) this.queues.delete(signer)
    this.waiting--
    this.counters.dropped++
    return item
  }

  private dropFromLongest (): T | undefined {
    let longest: [string, SignerQueue<T>] | undefined
    for (const e of this.queues) if (longest === undefined || e[1].names.size > longest[1].names.size) longest = e
    return longest === undefined ? undefined : this.dropOldest(longest[0], longest[1])
  }

  /** Sets `key` in a map bounded by MAX_REMEMBERED (the least recently set goes). */
  private remember (map: Map<string, number>, key: string, value: number): void {
    map.delete(key)
    map.set(key, value)
    if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value!)
  }
}
