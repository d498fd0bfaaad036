// The state of the broadcast tree (Plumtree, Leitão et al. 2007), without any I/O: which
// links are eager (full records travel on them) and which are lazy (only "I have"
// notices), and the versions this node heard of but lacks, each with a timer after which
// it asks a notifier for the version (GRAFT). The announcer (announce.ts) does the
// talking; this module only decides.
//
// - A link starts eager: a fresh cluster floods like the eager spread did, until the
//   duplicates it receives prune it down to a tree.
// - A duplicate full record prunes its link (both sides go lazy: the receiver here, the
//   sender when the PRUNE arrives). A GRAFT, or a new version received on a link, makes
//   it eager again, which is how the tree repairs itself when an eager link dies.
// - A version heard of by notice only waits `graftTimeout` for the tree to bring it, then
//   the first notifier is grafted; if that brings nothing within `graftRetry`, the next
//   one, and so on. When none is left, the version is forgotten: anti-entropy repairs.
//
// Bounded: the lazy set holds connected peers only (linkDown forgets a peer); at most
// `missingMax` versions are waited for, each with at most `graftMaxPeers` notifiers, and
// at most `missingPerPeer` of them first heard of from one notifier: past that, that
// notifier's own oldest goes, so fake notices from one peer cannot push out the versions
// honest peers told us of (review 11-R8).

/** "I have this version": what an IHAVE message lists, and what a GRAFT asks for (timestamp aside). */
export interface Notice {
  name: string
  /** the version's timestamp, so that a notice of an older version is dropped without a lookup */
  timestamp: number
  /** sha256 of the encoded record (as fetch names a version, fetch.ts recordId) */
  id: Uint8Array
}

export interface TreeSettings {
  announceGraftTimeout: number
  announceGraftRetry: number
  announceGraftMaxPeers: number
  announceMissingMax: number
  announceMissingPerPeer: number
}

export interface TreeActions {
  /** whether this node still lacks the version (it may have arrived by the tree, by sync, or been overtaken) */
  stillMissing: (notice: Notice) => boolean
  /** sends GRAFT(notice) to `peer`; false when that peer is gone (the next one is asked at once) */
  sendGraft: (peer: string, notice: Notice) => boolean
}

interface Missing {
  notice: Notice
  /** notifiers not asked yet, in the order they told us */
  peers: string[]
  /** the notifier that told us first: the entry counts against its share */
  by: string
  timer: NodeJS.Timeout
}

function noticeKey (name: string, id: Uint8Array): string {
  return `${name}\0${Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')}`
}

export class BroadcastTree {
  /** peers whose link is lazy; every other connected peer is eager */
  private readonly lazy = new Set<string>()
  private readonly missing = new Map<string, Missing>()
  /** notifier → keys of the missing versions it told us of first, oldest first */
  private readonly byNotifier = new Map<string, Set<string>>()

  constructor (private readonly settings: TreeSettings, private readonly actions: TreeActions) {}

  isEager (peer: string): boolean { return !this.lazy.has(peer) }

  /** Makes the link lazy; true when it was eager. */
  prune (peer: string): boolean {
    if (this.lazy.has(peer)) return false
    this.lazy.add(peer)
    return true
  }

  /** Makes the link eager (a GRAFT in either direction, or a new version received on it). */
  graft (peer: string): void { this.lazy.delete(peer) }

  /** Forgets a disconnected peer: its link state, and it as a source of missing versions. */
  linkDown (peer: string): void {
    this.lazy.delete(peer)
    for (const m of this.missing.values()) {
      const i = m.peers.indexOf(peer)
      if (i >= 0) m.peers.splice(i, 1)
    }
  }

  /** `peer` says it has a version this node lacks: wait for the tree, then ask `peer`. */
  heardOf (peer: string, notice: Notice): void {
    const key = noticeKey(notice.name, notice.id)
    const m = this.missing.get(key)
    if (m !== undefined) {
      if (!m.peers.includes(peer) && m.peers.length < this.settings.announceGraftMaxPeers) m.peers.push(peer)
      return
    }
    const own = this.byNotifier.get(peer) ?? new Set<string>()
    if (own.size >= this.settings.announceMissingPerPeer) this.forget(own.values().next().value!)
    if (this.missing.size >= this.settings.announceMissingMax) this.forget(this.missing.keys().next().value!)
    this.missing.set(key, { notice, peers: [peer], by: peer, timer: this.after(this.settings.announceGraftTimeout, key) })
    this.byNotifier.set(peer, own.add(key))
  }

  private forget (key: string): void {
    const m = this.missing.get(key)
    if (m === undefined) return
    clearTimeout(m.timer)
    this.missing.delete(key)
    const own = this.byNotifier.get(m.by)
    own?.delete(key)
    if (own?.size === 0) this.byNotifier.delete(m.by)
  }

  /** Versions being waited for (tests, diagnostics). */
  waiting (): number { return this.missing.size }

  /** Eager and lazy peers among `connected` (tests, diagnostics). */
  links (connected: string[]): { eager: string[], lazy: string[] } {
    return { eager: connected.filter(p => !this.lazy.has(p)), lazy: connected.filter(p => this.lazy.has(p)) }
  }

  private after (ms: number, key: string): NodeJS.Timeout {
    const t = setTimeout(() => { this.due(key) }, ms)
    t.unref()
    return t
  }

  private due (key: string): void {
    const m = this.missing.get(key)
    if (m === undefined) return
    if (!this.actions.stillMissing(m.notice)) { this.forget(key); return }
    for (let peer = m.peers.shift(); peer !== undefined; peer = m.peers.shift()) {
      if (!this.actions.sendGraft(peer, m.notice)) continue
      this.graft(peer)
      m.timer = this.after(this.settings.announceGraftRetry, key)
      return
    }
    this.forget(key) // nobody left to ask: anti-entropy repairs
  }

  stop (): void {
    for (const m of this.missing.values()) clearTimeout(m.timer)
    this.missing.clear()
    this.byNotifier.clear()
    this.lazy.clear()
  }
}
