// Which signers flood, judged by each signer's own rate of new versions (issue 23: a
// member flooding its own namespace), and what a judged signer's versions get.
//
// signer-turns.ts shares the work of new versions among signers once a node-wide rate is
// spent; its `floods` mark (a version waited for that rate, or was overtaken) only stops
// a signer's copies from moving tree links. Taking a flooder's versions off the tree and
// checking fewer of them needs a judgement that a busy honest fleet never earns: 1,000
// machines publishing their facts once a minute (~17 new versions a second fleet-wide,
// more than the node-wide rate) and a pointer file updated every 10–20 s wait for turns
// at every node, so a judgement by the node-wide rate took them for flooders (branch
// i23-flood2, docs/DECISIONS.md). What tells a flooder apart is its own names superseding
// one another within seconds, again and again:
//
// - A "quick supersede": a verified new version of a name whose version it replaces here
//   (stored, or waiting for its turn) has the same signer and a signed timestamp less
//   than `floodQuickGap` older. The gap is the signer's own (signed times, not arrival
//   times): a node that catches up late does not see a burst, and a version a signer
//   backdates cannot be newer than the one it replaces.
// - Each signer has a leaky bucket of them: it fills by one per quick supersede and
//   drains one per `floodQuickEvery`; a signer that overfills it (`floodBurst`), in a run
//   of quick supersedes (the bucket never empty) that has lasted `floodJudgeAfter`, is
//   judged flooding: a script publishing 50 versions as fast as they converge is not. A
//   fact file once a minute, a pointer every 10 s, a deploy of many files at once (none
//   supersedes a recent version), the bench's one file every ~1.9 s never count; a file
//   updated every second, or a member signing 2 versions a second, is judged after 15 s.
// - The judgement lasts FLOOD_MEMORY after the last sign of the flood: a quick supersede,
//   or (once judged) any of its versions arriving by the tree. (Its versions are then
//   mostly dropped unchecked, so a forger could prolong a judgement with copies it made
//   up, but never start one: only verified versions fill the bucket.)
// - A signer with a quick supersede within SUSPECT_MEMORY, in a run that had lasted
//   `floodSustain`, is suspected (`suspects`): its
//   versions move no tree link and are not grafted for, as with signer-turns.ts's mark,
//   and those anti-entropy brings are taken as a judged signer's are (below). Its notices
//   still go (receive.ts quiet(): only a judged signer's versions go without): a script
//   publishing back to back is suspected for a minute, and its tree repairs must go on. Far from a
//   flooder, once the nodes near it judge it, its versions come only by anti-entropy,
//   seconds apart: too few to judge it, but each node would take one per round and pass
//   it down the tree.
//
// A judged signer's versions (`admit`): one is taken per `floodKeptEvery` (checked and
// stored, but not passed on: the tree carries none of it, anti-entropy brings its newest
// version to every node in time), the others are dropped before their signature is
// checked. So a flooder costs each node a signature check and a store per interval, a
// legit but bursty signer's newest versions still reach everyone, and the judgement ends
// FLOOD_MEMORY after its burst does.
//
// A burst's last version need not wait for the interval. A version anti-entropy brings
// is taken (checked, stored, not passed on: 'stable') when the burst is seen to be over:
// - at a node the tree brought the signer's versions to, when none came by the tree for
//   `floodQuickGap` (the flood's tree arrivals renew the judgement, so a flood going on
//   shows at once);
// - elsewhere (far from the flooder, where its versions only ever come by anti-entropy),
//   when anti-entropy offers the same version again, unchanged, at least `floodQuickGap`
//   after it was first dropped here: it was not superseded quickly.
// A member whose script published in bursts then has its newest versions everywhere a
// sync round or two after the burst, not up to `floodKeptEvery` later (tests/crash's
// sigkill-namespaces: its members publish that way). Either way a node takes at most the
// newest version of each name per sync round, what it takes of an unjudged signer; while
// the flood goes on, the tree's arrivals and each round's newer version keep it dropped.
//
// Only members' own files are judged (the driver asks: receive.ts judged(), a namespace
// name that is not a configured file): an operator's key, named in the configuration, is
// trusted with the content itself, and its scripts and load tests publish several files
// a second for minutes.
//
// Pure: the driver passes the time.

export interface FloodJudgeSettings {
  /** ms: a new version signed less than this after the version of its name it replaces (same signer) is a quick supersede; 0: none is, the judgement is off */
  floodQuickGap: number
  /** quick supersedes a signer may make at once without being judged flooding ... */
  floodBurst: number
  /** ... and then one per this long (ms), sustained ... */
  floodQuickEvery: number
  /** ... for at least this long (ms: a run of quick supersedes, the bucket never empty) to be suspected: a short burst is no flood */
  floodSustain: number
  /** ... and this long to be judged */
  floodJudgeAfter: number
  /** ms: a judged signer's versions, one taken per this long (checked, stored, not passed on); the rest are dropped unchecked */
  floodKeptEvery: number
}

/** How long a judgement lasts after the last sign of the flood (ms). */
export const FLOOD_MEMORY = 60_000

/** How long a suspicion lasts after the last quick supersede of its run (ms). */
export const SUSPECT_MEMORY = 60_000

/** Signers remembered, at most (the least recently seen go). */
const MAX_REMEMBERED = 65_536

/** Names whose dropped version is remembered for the stable rule (the top), at most (the oldest go). */
const MAX_DROPPED_NAMES = 4_096

/** A version `admit` sees: its name, and what tells it from the name's other versions (receive.ts: the record's key). */
export interface OfferedVersion { name: string, id: string }

interface SignerState {
  /** the bucket's level as of `at` */
  level: number
  at: number
  /** judged flooding until then (0: not judged) */
  until: number
  /** when a judged signer's version was last taken */
  kept: number
  /** the last quick supersede of a run that had lasted floodSustain */
  quick: number
  /** when the current run of quick supersedes began (the bucket was empty before it) */
  runFrom: number
  /** when one of its versions came by the tree last while it was suspected or judged (-Infinity: never here) */
  tree: number
}

export class FloodJudge {
  private readonly signers = new Map<string, SignerState>()
  /** name → the version of it anti-entropy brought and `admit` dropped, and since when (the stable rule, the top) */
  private readonly droppedByName = new Map<string, { id: string, since: number }>()
  readonly counters = { judged: 0, kept: 0, dropped: 0, stable: 0 }

  constructor (private readonly settings: FloodJudgeSettings) {}

  /**
   * A verified new version of `signer` replaced here one of its own versions signed `gap`
   * ms before it. True when this judges the signer flooding (it was not before).
   */
  superseded (signer: string, gap: number, now: number): boolean {
    if (!(gap < this.settings.floodQuickGap)) return false
    const s = this.state(signer, now)
    const level = this.levelOf(s, now)
    if (level === 0) s.runFrom = now
    s.level = level + 1
    s.at = now
    if (now - s.runFrom >= this.settings.floodSustain) s.quick = now
    if (s.level <= this.settings.floodBurst || now - s.runFrom < this.settings.floodJudgeAfter) return false
    const was = s.until > now
    s.until = now + FLOOD_MEMORY
    if (!was) this.counters.judged++
    return !was
  }

  /** Whether `signer` is judged flooding (see the top). */
  floods (signer: string, now: number): boolean {
    const s = this.signers.get(signer)
    return s !== undefined && s.until > now
  }

  /**
   * Whether `signer` made a quick supersede within SUSPECT_MEMORY (in a run that had
   * lasted floodSustain), or is judged: its versions then move no tree link and are not
   * grafted for (receive.ts floods()), as with signer-turns.ts's `floods` mark. Far from a flooder a node sees few of its versions (the nodes
   * that judged it pass none on), too few to judge it, but one quick supersede shows.
   */
  suspects (signer: string, now: number): boolean {
    const s = this.signers.get(signer)
    return s !== undefined && (s.until > now || now - s.quick < SUSPECT_MEMORY)
  }

  /**
   * A new version arrived, before its signature check: by the tree (`tree`) or by
   * anti-entropy. Of a judged signer (by either), or of a suspected one by anti-entropy:
   * 'take' (check it and store it; do not pass it on) once per `floodKeptEvery`, else
   * 'drop'. Anything else: 'take' (and go on as usual). A judged signer's version by the
   * tree renews the judgement (the flood goes on); one that anti-entropy brought does not
   * (a node that lacks a burst's versions would keep the judgement alive, and take only
   * one per interval, long after the burst ended). `version`, for one anti-entropy
   * brought: taken when the burst is seen to be over (the top): 'stable', handled as 'take'.
   */
  admit (signer: string, now: number, tree: boolean, version?: OfferedVersion): 'take' | 'stable' | 'drop' {
    const s = this.signers.get(signer)
    if (s === undefined) return 'take'
    if (s.until > now) {
      if (tree) s.until = now + FLOOD_MEMORY
    } else if (tree || now - s.quick >= SUSPECT_MEMORY) return 'take'
    const lastTree = s.tree
    if (tree) s.tree = now
    if (now - s.kept >= this.settings.floodKeptEvery) {
      s.kept = now
      this.counters.kept++
      if (version !== undefined) this.droppedByName.delete(version.name)
      return 'take'
    }
    if (!tree && version !== undefined && (lastTree > -Infinity ? now - lastTree >= this.settings.floodQuickGap : this.stable(version, now))) {
      this.counters.stable++
      return 'stable'
    }
    this.counters.dropped++
    return 'drop'
  }

  /** Far from the flooder (the top): whether anti-entropy offers `v` again, unchanged, floodQuickGap after it was first dropped; else remembers it as dropped now. */
  private stable (v: OfferedVersion, now: number): boolean {
    const seen = this.droppedByName.get(v.name)
    if (seen !== undefined && seen.id === v.id) {
      if (now - seen.since < this.settings.floodQuickGap) return false
      this.droppedByName.delete(v.name)
      return true
    }
    this.droppedByName.delete(v.name)
    this.droppedByName.set(v.name, { id: v.id, since: now })
    if (this.droppedByName.size > MAX_DROPPED_NAMES) this.droppedByName.delete(this.droppedByName.keys().next().value!)
    return false
  }

  /** Signers judged flooding right now. */
  judged (now: number): number {
    let n = 0
    for (const s of this.signers.values()) if (s.until > now) n++
    return n
  }

  private levelOf (s: SignerState, now: number): number {
    return Math.max(0, s.level - Math.max(0, now - s.at) / this.settings.floodQuickEvery)
  }

  private state (signer: string, now: number): SignerState {
    let s = this.signers.get(signer)
    if (s !== undefined) { this.signers.delete(signer); this.signers.set(signer, s); return s }
    s = { level: 0, at: now, until: 0, kept: -Infinity, quick: -Infinity, runFrom: now, tree: -Infinity }
    this.signers.set(signer, s)
    if (this.signers.size > MAX_REMEMBERED) this.signers.delete(this.signers.keys().next().value!)
    return s
  }
}
