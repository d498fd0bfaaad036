// The receive path: what happens to a record a peer sent (by announce or sync). It is
// judged once here, record only (triage: replays before any crypto, then the signature)
// so that only records that would be accepted or held wait for a turn; inline content is
// verified where it enters; a verified newer version is passed on at once (early
// forward: the store's fsyncs are not on the path to the next hop); content above the
// inline limit is fetched only once the record passed; then the replica stores it,
// re-checking only the order under its lock. Records already on their way in are not
// offered twice. A new version the broadcast tree brought takes a turn of its signer
// once verified (proto/signer-turns.ts): past a node-wide rate, signers are served in
// turn and only the newest version of a name waits, so a member flooding its own files
// gets what the others leave. A member whose own file supersedes itself within seconds,
// sustained, is judged flooding (proto/flood-judge.ts): its versions are then dropped
// before any crypto but one per interval, which is stored and not passed on.
import type { PeerId } from '@libp2p/interface'
import { sameRecord, type SignedRecord } from '../crypto/record.js'
import { authenticity, compareVersions, isMemberFile, needsContent, triage, verifyContent, type VerifiedContent } from '../rule/which-version-wins.js'
import type { Arrival } from './announce.js'
import type { MeshContext } from './context.js'
import { FairLimiter, laneOf, QueueDropped, type FairStats, type Queued, type Ticket } from './proto/fair-limiter.js'
import type { Fetcher } from './fetch.js'
import type { ReplicaPort } from './replica-port.js'
import { standingFor, type Standing } from './proto/standing.js'
import { SignerTurns } from './proto/signer-turns.js'
import { FloodJudge } from './proto/flood-judge.js'

export interface OfferCounters {
  accepted: number
  held: number
  ignored: number
  refused: number
  failed: number
  /** records dropped while waiting their turn: a newer version of the name came from the same peer, its queue was full, or it left */
  shed: number
  /** new versions that waited for their signer's turn (proto/signer-turns.ts: the node-wide rate was spent) */
  waited: number
  /** ... of them dropped while waiting (a full queue; anti-entropy brings the name back) */
  waitDropped: number
  /** new versions of signers judged flooding (proto/flood-judge.ts) dropped before their check, and taken (stored, not passed on) */
  floodDropped: number
  floodKept: number
  /** of those kept, taken outside the interval because anti-entropy brought them once the signer's burst was seen to be over (a burst's last version; flood-judge.ts) */
  floodStable: number
}

/** Where a record came from: the broadcast tree (a version takes its signer's turn) or anti-entropy (taken as it comes). */
export type Via = 'tree' | 'sync'

/** A new version waiting for its signer's turn: what the receive path needs to go on with it. */
interface Waiting {
  record: SignedRecord
  from: PeerId
  content: VerifiedContent | undefined
  current: boolean
}

/** What the receive path asks of the broadcast tree (announce.ts). */
export interface Forwarding {
  /** `peer` holds `record` (or a newer version): it is not sent that version */
  markKnown: (peer: PeerId | string, record: SignedRecord) => void
  /** passes a verified version on (not back to `except`); `quiet`: no notices to lazy peers (its signer floods) */
  broadcast: (record: SignedRecord, content: Uint8Array | undefined, except?: string, hops?: number, quiet?: boolean) => void
}

/**
 * Refusals that mean the peer sent something no honest node would. Config skew during a
 * rollout ('not-configured', 'not-signer', 'too-large') is not one, nor 'over-quota' (the
 * peer's quotas may differ, or it took other files of a full namespace first; refused
 * before any content is fetched), and 'bad-content' is
 * punished by the fetcher, against the peer that served the bytes (not the announcer).
 */
const PUNISHABLE = new Set(['bad-signature'])

interface InFlight {
  record: SignedRecord
  /** it would become current (not held): a peer that sent it holds it */
  current: boolean
  /** its content, once here (inline, or fetched) */
  content?: VerifiedContent
  /** hands a waiting fetch content that arrived inline meanwhile */
  provide: (content: VerifiedContent) => void
  /** resolves when content arrives inline */
  arrived: Promise<VerifiedContent>
  /** aborted when the fetch is no longer needed (content arrived inline, or stopping) */
  cancel: AbortController
  /** every peer that sent it: it waits in each one's queue, and the first turn takes it (fair-limiter.ts) */
  senders: Map<string, PeerId>
  /** fetching its content (when it did not come inline), in the senders' fetch turns */
  fetch?: { result: Promise<VerifiedContent>, add: (peer: string) => boolean }
  /** storing it, in the senders' storing turns (once its content is here) */
  store?: Queued<void>
  /** settles once it is stored or given up */
  done: Promise<void>
  settle: () => void
}

/** What a Receiver uses of the mesh's context (no libp2p: the records come to it, the fetcher fetches). */
export type ReceiverContext = Pick<MeshContext, 'settings' | 'log' | 'punish' | 'admits'>

export class Receiver {
  readonly counters: OfferCounters = { accepted: 0, held: 0, ignored: 0, refused: 0, failed: 0, shed: 0, waited: 0, waitDropped: 0, floodDropped: 0, floodKept: 0, floodStable: 0 }
  /** records being stored, by name and signature */
  private readonly inFlight = new Map<string, InFlight>()
  /** the same records by name: a notice looks up its name, not every record on its way in (review 11-R8) */
  private readonly inFlightByName = new Map<string, Set<SignedRecord>>()
  /** storing slots, shared fairly among the peers that sent the records (fair-limiter.ts) */
  private readonly limiter: FairLimiter
  private tree: Forwarding = { markKnown: () => {}, broadcast: () => {} }
  private stopped = false
  /** new versions from the tree, per signer in turn past the node-wide rate (proto/signer-turns.ts); its timer releases what waits */
  private readonly turns: SignerTurns<Waiting>
  private turnTimer: ReturnType<typeof setTimeout> | undefined
  private turnWake = Infinity
  /** which signers flood, by their own rate of new versions (proto/flood-judge.ts) */
  private readonly judge: FloodJudge
  /** records (name and signature) taken from a judged or suspected flooder: stored, not passed on (onChange asks `passOn`) */
  private readonly kept = new Set<string>()

  constructor (private readonly ctx: ReceiverContext, private readonly replica: ReplicaPort, private readonly fetcher: Fetcher, standing: Standing = standingFor(ctx.settings, Date.now)) {
    const s = ctx.settings
    this.limiter = new FairLimiter({ slots: s.offerConcurrency, namespaceSlots: s.offerNamespaceSlots, perPeerSlots: s.offerPerPeerSlots, perPeerQueue: s.offerPerPeerQueue }, p => standing.share(p))
    this.turns = new SignerTurns<Waiting>(s, (a, b) => compareVersions(a.record, b.record))
    this.judge = new FloodJudge(s)
  }

  /** A peer left: the records it sent that still wait their turn are dropped (others, or sync, bring what was real). */
  dropPeer (peer: string): void { this.limiter.dropPeer(peer) }

  queue (): FairStats { return this.limiter.stats() }

  /** The broadcast tree is built after the receiver (it delivers to offer): connected here. */
  forwardTo (tree: Forwarding): void { this.tree = tree }

  /** The records on their way into the replica right now (a notice of one of them is not a miss). */
  * incoming (name: string): Iterable<SignedRecord> {
    yield * this.inFlightByName.get(name) ?? []
    yield * this.waiting(name)
  }

  /** The versions of `name` waiting for their signer's turn (proto/signer-turns.ts): the peer that sent one holds it. */
  * waiting (name: string): Iterable<SignedRecord> {
    for (const w of this.turns.waitingFor(name)) yield w.record
  }

  /**
   * Whether `record`'s signer floods (proto/signer-turns.ts floods(): its versions waited
   * or were overtaken; or proto/flood-judge.ts suspects(): a quick supersede lately): its
   * copies prune no link, its newer versions are not grafted for (`quiet` says whether it
   * gets notices).
   */
  floods (record: SignedRecord): boolean {
    return this.marked(record, (signer, now) => this.judge.suspects(signer, now))
  }

  /**
   * Whether lazy links hear nothing of `record` (no notices): its signer is marked by
   * proto/signer-turns.ts, or judged flooding (proto/flood-judge.ts). A merely suspected
   * signer's versions still get their notices: a script publishing versions back to back
   * looks like a flood for seconds, and its tree repairs must not go quiet for a minute;
   * a flooder is judged (and then quiet) 10 s later (docs/DECISIONS.md, "The judgement of flooders: a suspect's notices go on; members only").
   */
  quiet (record: SignedRecord): boolean {
    return this.marked(record, (signer, now) => this.judge.floods(signer, now))
  }

  /** `record`'s signer marked by signer-turns.ts, or (a member's file) as the judge says by `judgeSays`. */
  private marked (record: SignedRecord, judgeSays: (signer: string, now: number) => boolean): boolean {
    const signer = signerOf(record)
    const now = Date.now()
    return this.turns.floods(signer, now) || (this.judged(record) && judgeSays(signer, now))
  }

  /**
   * Whether the judge (proto/flood-judge.ts) looks at `record` at all: a member's own file
   * (a namespace name, rule/which-version-wins.ts isMemberFile), the threat of issue 23.
   * A file the configuration names its signers for is an operator's: a script or a load
   * test publishing several files a second for minutes (the soak: 5 a second over 20
   * names) must not be judged; signer-turns.ts's fair turns still apply to it.
   */
  private judged (record: SignedRecord): boolean {
    return this.ctx.settings.floodQuickGap > 0 && isMemberFile(this.replica.getPolicy(), record.name)
  }

  /** Whether a stored version from a peer goes on down the tree (index.ts onChange): not one taken from a judged or suspected flooder. */
  passOn (record: SignedRecord): boolean { return !this.kept.delete(keyOf(record)) }

  /**
   * Offers a record a peer sent to the replica. `content` is what came inline with an
   * announcement; otherwise content is fetched, and only once the record passed the rule.
   * Says whether the record was new here or a duplicate (for the broadcast tree).
   */
  readonly offer = (record: SignedRecord, from: PeerId, content?: Uint8Array, via: Via = 'tree'): Arrival => {
    const { admits, punish } = this.ctx
    if (this.stopped || !admits(from)) return 'dropped' // e.g. the rest of a sync batch from a peer just punished
    const key = keyOf(record)
    const inFlight = this.inFlight.get(key)
    // a copy of a record already on its way in (other peers, a flood): not judged again
    if (inFlight !== undefined && sameRecord(inFlight.record, record)) return this.again(inFlight, from, content)
    const replica = this.replica
    const current = replica.get(record.name)
    // a new version of a judged flooder (or of a suspected one, by sync): dropped before any crypto, but one per interval (flood-judge.ts)
    const signer = signerOf(record)
    const judged = this.judged(record)
    if (judged && (current === undefined || compareVersions(record, current) > 0) && this.judge.suspects(signer, Date.now())) {
      const admitted = this.judge.admit(signer, Date.now(), via === 'tree', { name: record.name, id: key })
      if (admitted === 'drop') {
        this.counters.floodDropped++
        return 'dropped'
      }
      if (admitted === 'stable') this.counters.floodStable++ // a burst's last version (flood-judge.ts): taken as a kept one is
    }
    const verdict = triage(record, current, replica.getHeld(record.name), replica.getFloor(record.name), replica.getPolicy(), replica.clock(), undefined, replica.getUsage())
    if (verdict.action === 'ignore') {
      if (verdict.why === 'below-floor') return 'dropped'
      // The sender holds that version (or a newer one), so it is not sent what it already
      // has. Only a current version counts: the announcer sends current versions, and a
      // held one must not stand for them.
      if (current !== undefined && compareVersions(record, current) <= 0) this.tree.markKnown(from, record)
      // overtaken on its way here: its signer's versions come faster than they cross the
      // fleet. Counted only once its signature verified (an older version is ignored before
      // any crypto, and a forged one must not mark an honest signer as flooding), and
      // only while the signer is not marked (then not again for a minute).
      // For the judge (flood-judge.ts), a copy overtaken within floodQuickGap is a quick
      // supersede: checked too while the signer is not judged (a few copies: it soon is).
      if (verdict.why === 'not-newer' && current !== undefined && compareVersions(record, current) < 0 && sameSigner(record, current)) {
        const now = Date.now()
        const gap = current.timestamp - record.timestamp // both signed by it, so many ms apart
        const quick = judged && gap < this.ctx.settings.floodQuickGap && !this.judge.floods(signer, now)
        if ((quick || !this.turns.floods(signer, now)) && authenticity(record) === undefined) {
          this.turns.overtook(signer, now)
          if (quick) this.judge.superseded(signer, gap, now)
        }
      }
      return this.copy(record)
    }
    if (verdict.action === 'refuse') {
      this.counters.refused++
      if (PUNISHABLE.has(verdict.code)) punish(from, `sent a record that fails verification: ${verdict.reason}`)
      return 'dropped'
    }
    // verified and for a configured name
    if (verdict.action === 'accept') this.tree.markKnown(from, record)
    let verified: VerifiedContent | undefined
    if (content !== undefined) {
      const checked = verifyContent(record, content)
      if ('problem' in checked) {
        punish(from, `sent inline content that does not match its record: ${checked.problem}`)
        return 'dropped'
      }
      verified = checked.content
    } else {
      this.fetcher.hint(record, from) // another source, should the first fail
    }
    const accepted = verdict.action === 'accept' // (else held: from the future)
    if (judged) this.judgeRate(record, current)
    const now = Date.now()
    if (judged && (this.judge.floods(signer, now) || (via === 'sync' && this.judge.suspects(signer, now)))) {
      // a judged flooder's (or by sync a suspected one's): stored, not passed on; anti-entropy spreads its newest
      this.counters.floodKept++
      this.kept.add(key)
      if (this.kept.size > KEPT_MAX) this.kept.delete(this.kept.values().next().value!)
      this.store(key, record, from, verified, accepted)
      return 'dropped'
    }
    if (via === 'tree') {
      // signature verified, newer than ours: its signer's turn, unless the node keeps up
      const turn = this.turns.offer(signerOf(record), record.name, { record, from, content: verified, current: accepted }, Date.now())
      if (turn.dropped !== undefined) this.counters.waitDropped++
      if (turn.verdict === 'superseded') return 'dropped' // it (or a newer version) waits already
      if (turn.verdict === 'queued') {
        this.counters.waited++
        this.armTurns()
        return this.arrival(record)
      }
    }
    this.proceed(key, record, from, verified, accepted)
    return this.arrival(record)
  }

  /**
   * What a new version tells the broadcast tree: its link is in the tree ('new': eager),
   * unless its signer floods (SignerTurns.floods): a flooder sends each version to all its
   * peers as a full record, and every link it came by would turn eager, the flooder's
   * own included (a hostile one then swallows the honest versions sent to it); so a
   * flooding signer's version moves no link ('dropped').
   */
  private arrival (record: SignedRecord): Arrival {
    return this.floods(record) ? 'dropped' : 'new'
  }

  /**
   * A verified new version that replaces a version of its name here (stored, or waiting
   * for its turn) by the same signer: the signed gap between the two, for the judge.
   */
  private judgeRate (record: SignedRecord, current: SignedRecord | undefined): void {
    let prev = current
    for (const w of this.turns.waitingFor(record.name)) if (prev === undefined || compareVersions(w.record, prev) > 0) prev = w.record
    if (prev === undefined || !sameSigner(record, prev) || compareVersions(record, prev) <= 0) return
    this.judge.superseded(signerOf(record), record.timestamp - prev.timestamp, Date.now())
  }

  /** Passes a verified new version on now (its content here and it becomes current: the early forward, while it is being written), and stores it. */
  private proceed (key: string, record: SignedRecord, from: PeerId, verified: VerifiedContent | undefined, current: boolean): void {
    if (verified !== undefined && current) this.tree.broadcast(record, verified, from.toString(), undefined, this.quiet(record))
    this.store(key, record, from, verified, current)
  }

  /** The turns' timer: armed for the next waiting version's token. */
  private armTurns (): void {
    const now = Date.now()
    const at = this.turns.wake(now)
    if (this.stopped || at === undefined || at >= this.turnWake) return
    if (this.turnTimer !== undefined) clearTimeout(this.turnTimer)
    this.turnWake = at
    this.turnTimer = setTimeout(() => {
      this.turnTimer = undefined
      this.turnWake = Infinity
      this.releaseTurns()
    }, Math.max(0, at - now))
    this.turnTimer.unref?.()
  }

  /** Takes the versions whose turn came, unless the same or a newer version got here meanwhile (e.g. by sync). */
  private releaseTurns (): void {
    if (this.stopped) return
    for (const w of this.turns.due(Date.now())) {
      const { record, from } = w
      if (!this.ctx.admits(from)) continue // punished since: others, or sync, bring it
      const key = keyOf(record)
      if (this.inFlight.has(key)) continue
      const current = this.replica.get(record.name)
      if (current !== undefined && compareVersions(record, current) <= 0) continue
      this.proceed(key, record, from, w.content, w.current)
    }
    this.armTurns()
  }

  /**
   * What a second copy of a version tells the broadcast tree: a redundant link
   * ('duplicate': pruned), unless its signer floods (SignerTurns.floods): a flooder hands
   * each version to all its peers at once and nodes pass on different versions of its
   * names, so its copies meet everywhere, and pruning on them would cut the tree apart.
   */
  private copy (record: SignedRecord): Arrival {
    return this.floods(record) ? 'dropped' : 'duplicate'
  }

  /**
   * Another copy of a record on its way in. Its sender queues it too (the first of the
   * senders' turns takes it, so a stalled sender does not hold it up); it is another
   * source for the fetch, and content that came inline with this copy ends the wait (the
   * record is passed on now that it is here).
   */
  private again (inFlight: InFlight, from: PeerId, content: Uint8Array | undefined): Arrival {
    const record = inFlight.record
    if (inFlight.current) this.tree.markKnown(from, record)
    const id = from.toString()
    if (!inFlight.senders.has(id)) {
      inFlight.senders.set(id, from)
      if (inFlight.store !== undefined) inFlight.store.add(this.ticket(record, id))
      else inFlight.fetch?.add(id)
    }
    if (inFlight.content !== undefined) return this.copy(record)
    if (content === undefined) {
      this.fetcher.hint(record, from) // another source for the fetch under way, should the first fail
      return this.copy(record)
    }
    const checked = verifyContent(record, content)
    if ('problem' in checked) {
      this.ctx.punish(from, `sent inline content that does not match its record: ${checked.problem}`)
      return 'dropped'
    }
    inFlight.provide(checked.content)
    if (inFlight.current && !this.kept.has(keyOf(record))) this.tree.broadcast(record, checked.content, from.toString(), undefined, this.quiet(record))
    return this.copy(record)
  }

  private ticket (record: SignedRecord, peer: string): Ticket {
    return { peer, lane: laneOf(this.replica.getPolicy(), record.name), key: record.name }
  }

  /**
   * Takes the record in two turns of its senders: its content is fetched first (when it
   * did not come inline and is needed: not for a tombstone or an expired version), in the
   * fetcher's fair queues, hedged; then it is stored, in the storing queues. So a storing
   * slot is held only for the write, never while a peer decides whether to serve.
   */
  private store (key: string, record: SignedRecord, from: PeerId, content: VerifiedContent | undefined, current: boolean): void {
    let provide: (c: VerifiedContent) => void = () => {}
    const arrived = new Promise<VerifiedContent>(resolve => { provide = resolve })
    let settle!: () => void
    const done = new Promise<void>(resolve => { settle = resolve })
    const entry: InFlight = { record, current, content, provide, arrived, cancel: new AbortController(), senders: new Map([[from.toString(), from]]), done, settle }
    void arrived.then(c => { entry.content ??= c; entry.cancel.abort() })
    this.inFlight.set(key, entry)
    this.inFlightByName.set(record.name, (this.inFlightByName.get(record.name) ?? new Set()).add(record))
    if (content !== undefined || !needsContent(record, this.replica.clock())) { this.queueStore(key, entry); return }
    const fetch = this.fetcher.job(record, entry.cancel.signal)
    entry.fetch = fetch
    fetch.add(from.toString())
    Promise.race([fetch.result, arrived]).then(c => {
      entry.content ??= c
      this.queueStore(key, entry)
    }, (err: Error) => {
      if (err instanceof QueueDropped) this.counters.shed++
      else {
        this.counters.failed++
        this.ctx.log.debug({ name: record.name, err: err.message }, 'could not fetch the content of a record from peers')
      }
      this.forget(key, entry)
    })
  }

  /** Queues the storing in every sender's storing turn. */
  private queueStore (key: string, entry: InFlight): void {
    if (this.stopped) { this.forget(key, entry); return }
    const store = this.limiter.job(async t => await this.submit(entry, entry.senders.get(t.peer)!))
    entry.store = store
    for (const id of entry.senders.keys()) store.add(this.ticket(entry.record, id))
    store.result.catch((err: Error) => { if (err instanceof QueueDropped) this.counters.shed++ })
      .finally(() => this.forget(key, entry))
  }

  /** Stores the record now (`from`'s turn); its content is here unless it was not needed. */
  private async submit (entry: InFlight, from: PeerId): Promise<void> {
    const record = entry.record
    if (this.stopped || !this.ctx.admits(from)) return
    // (a content not needed when it arrived is fetched after all, should the replica decide otherwise)
    const source = entry.content ?? (async (r: SignedRecord) => await this.fetcher.fetch(r, from, entry.cancel.signal))
    try {
      const result = await this.replica.submit(record, source, `peer:${from.toString()}`)
      this.counters[result.outcome]++
      if (result.outcome === 'refused') {
        if (PUNISHABLE.has(result.code)) this.ctx.punish(from, `sent a record that fails verification: ${result.reason}`)
        else this.ctx.log.debug({ peer: from.toString(), name: record.name, code: result.code }, 'record from peer refused (config skew?)')
      }
    } catch (err) {
      this.counters.failed++
      this.ctx.log.debug({ peer: from.toString(), name: record.name, err: (err as Error).message }, 'could not take record from peer')
    }
  }

  private forget (key: string, entry: InFlight): void {
    entry.cancel.abort()
    if (this.inFlight.get(key) === entry) this.inFlight.delete(key)
    const same = this.inFlightByName.get(entry.record.name)
    same?.delete(entry.record)
    if (same?.size === 0) this.inFlightByName.delete(entry.record.name)
    entry.settle()
  }

  /** Offers nothing more, and waits for the records being stored. */
  async stop (): Promise<void> {
    this.stopped = true
    if (this.turnTimer !== undefined) clearTimeout(this.turnTimer)
    this.limiter.stop()
    this.fetcher.stop() // fetches still waiting their turn are dropped (their records with them)
    await Promise.allSettled([...this.inFlight.values()].map(o => o.done))
  }
}

function signerOf (record: SignedRecord): string { return Buffer.from(record.signer).toString('base64') }

function keyOf (record: SignedRecord): string { return `${record.name}\0${Buffer.from(record.signature).toString('hex')}` }

/** Records taken from flooders whose change event has not come yet, at most (a bound: the event comes once stored). */
const KEPT_MAX = 4_096

function sameSigner (a: SignedRecord, b: SignedRecord): boolean { return Buffer.from(a.signer).equals(Buffer.from(b.signer)) }
