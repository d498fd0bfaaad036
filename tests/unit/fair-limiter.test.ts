// The fair limiter (src/mesh/fair-limiter.ts) and peer standing (src/mesh/standing.ts):
// per-peer queues served in turn, configured files first, bounded queues that drop the
// peer's own oldest, superseding by name; strikes that shrink a share and are forgiven.
import { describe, expect, it } from 'vitest'
import { FairLimiter, QueueDropped, type Ticket } from '../../src/mesh/proto/fair-limiter.ts'
import { Standing } from '../../src/mesh/proto/standing.ts'

/** A job that runs until the test releases it; records the order jobs started in. */
class Jobs {
  readonly started: string[] = []
  private readonly release = new Map<string, () => void>()
  readonly outcomes = new Map<string, string>()

  submit (limiter: FairLimiter, label: string, ticket: Ticket): void {
    void limiter.run(ticket, async () => {
      this.started.push(label)
      await new Promise<void>(resolve => this.release.set(label, resolve))
    }).then(() => this.outcomes.set(label, 'ran'), (err: Error) => this.outcomes.set(label, err instanceof QueueDropped ? `dropped:${err.why}` : 'error'))
  }

  async finish (label: string): Promise<void> {
    this.release.get(label)?.()
    for (let i = 0; i < 5; i++) await Promise.resolve()
  }
}

const tick = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve() }

describe('FairLimiter', () => {
  it('serves peers in turn, so one peer\'s backlog does not delay another peer\'s job', async () => {
    const l = new FairLimiter({ slots: 2, namespaceSlots: 2, perPeerSlots: 2, perPeerQueue: 100 })
    const j = new Jobs()
    for (let i = 0; i < 10; i++) j.submit(l, `flood${i}`, { peer: 'flooder', lane: 'namespace', key: `n${i}` })
    j.submit(l, 'honest', { peer: 'honest', lane: 'namespace', key: 'h' })
    await tick()
    expect(j.started).toEqual(['flood0', 'flood1'])
    await j.finish('flood0')
    // a FIFO semaphore would start flood2 here
    expect(j.started).toEqual(['flood0', 'flood1', 'honest'])
  })

  it('caps the slots one peer holds, even when nobody else waits', async () => {
    const l = new FairLimiter({ slots: 8, namespaceSlots: 8, perPeerSlots: 2, perPeerQueue: 100 })
    const j = new Jobs()
    for (let i = 0; i < 5; i++) j.submit(l, `f${i}`, { peer: 'flooder', lane: 'namespace', key: `n${i}` })
    j.submit(l, 'other', { peer: 'other', lane: 'namespace' })
    await tick()
    expect(j.started).toEqual(['f0', 'f1', 'other'])
    expect(l.stats()).toMatchObject({ running: 3, waiting: 3, depth: { flooder: 3 } })
  })

  it('configured files go first and always find a slot namespace files cannot take', async () => {
    const l = new FairLimiter({ slots: 4, namespaceSlots: 2, perPeerSlots: 4, perPeerQueue: 100 })
    const j = new Jobs()
    for (let i = 0; i < 4; i++) j.submit(l, `ns${i}`, { peer: `m${i}`, lane: 'namespace' })
    await tick()
    expect(j.started).toEqual(['ns0', 'ns1']) // two slots left free
    j.submit(l, 'admin', { peer: 'm3', lane: 'configured' })
    await tick()
    expect(j.started).toEqual(['ns0', 'ns1', 'admin'])
    await j.finish('ns0')
    expect(j.started).toEqual(['ns0', 'ns1', 'admin', 'ns2'])
  })

  it('a newer job with the same key from the same peer replaces the waiting one; another peer\'s is kept', async () => {
    const l = new FairLimiter({ slots: 1, namespaceSlots: 1, perPeerSlots: 1, perPeerQueue: 100 })
    const j = new Jobs()
    j.submit(l, 'busy', { peer: 'x', lane: 'namespace' })
    j.submit(l, 'v1', { peer: 'a', lane: 'namespace', key: 'machines/a' })
    j.submit(l, 'other', { peer: 'b', lane: 'namespace', key: 'machines/a' })
    j.submit(l, 'v2', { peer: 'a', lane: 'namespace', key: 'machines/a' })
    await tick()
    expect(j.outcomes.get('v1')).toBe('dropped:superseded')
    expect(j.outcomes.has('other')).toBe(false)
    expect(l.stats().waiting).toBe(2)
  })

  it('a full queue drops the peer\'s own oldest (namespace files before configured files), never another peer\'s', async () => {
    const l = new FairLimiter({ slots: 1, namespaceSlots: 1, perPeerSlots: 1, perPeerQueue: 3 })
    const j = new Jobs()
    j.submit(l, 'busy', { peer: 'x', lane: 'configured' })
    j.submit(l, 'keep', { peer: 'b', lane: 'namespace' })
    j.submit(l, 'c0', { peer: 'a', lane: 'configured' })
    for (let i = 0; i < 4; i++) j.submit(l, `n${i}`, { peer: 'a', lane: 'namespace' })
    await tick()
    expect(j.outcomes.get('n0')).toBe('dropped:overflow')
    expect(j.outcomes.get('n1')).toBe('dropped:overflow')
    expect(j.outcomes.has('c0')).toBe(false)
    expect(j.outcomes.has('keep')).toBe(false)
    expect(l.stats().depth).toEqual({ b: 1, a: 3 })
  })

  it('dropPeer drops what the peer has waiting; its running jobs finish', async () => {
    const l = new FairLimiter({ slots: 1, namespaceSlots: 1, perPeerSlots: 1, perPeerQueue: 10 })
    const j = new Jobs()
    j.submit(l, 'r', { peer: 'a', lane: 'namespace' })
    j.submit(l, 'w', { peer: 'a', lane: 'namespace' })
    await tick()
    l.dropPeer('a')
    await tick()
    expect(j.outcomes.get('w')).toBe('dropped:peer-gone')
    await j.finish('r')
    expect(j.outcomes.get('r')).toBe('ran')
    expect(l.stats()).toMatchObject({ running: 0, waiting: 0 })
  })

  it('a job queued by several peers runs in the first of their turns, holding that peer\'s slot, and leaves the other queues', async () => {
    const l = new FairLimiter({ slots: 4, namespaceSlots: 4, perPeerSlots: 1, perPeerQueue: 10 })
    const j = new Jobs()
    j.submit(l, 'stalled', { peer: 'slow', lane: 'configured' })
    const ran: string[] = []
    const q = l.job(async t => { ran.push(t.peer) })
    expect(q.add({ peer: 'slow', lane: 'configured', key: 'a.txt' })).toBe(true)
    await tick()
    expect(ran).toEqual([]) // the slow peer's slot is held
    expect(q.add({ peer: 'honest', lane: 'configured', key: 'a.txt' })).toBe(true)
    await q.result
    expect(ran).toEqual(['honest'])
    expect(q.add({ peer: 'third', lane: 'configured' })).toBe(false) // started: nothing more queued
    expect(l.stats().depth).toEqual({})
  })

  it('a job fails with QueueDropped only once every one of its tickets was dropped', async () => {
    const l = new FairLimiter({ slots: 1, namespaceSlots: 1, perPeerSlots: 1, perPeerQueue: 10 })
    const j = new Jobs()
    j.submit(l, 'busy', { peer: 'x', lane: 'configured' })
    const q = l.job(async () => 'ran')
    q.add({ peer: 'a', lane: 'configured' })
    q.add({ peer: 'b', lane: 'configured' })
    l.dropPeer('a')
    await tick()
    let settled = false
    void q.result.then(() => { settled = true }, () => { settled = true })
    await tick()
    expect(settled).toBe(false)
    l.dropPeer('b')
    await expect(q.result).rejects.toBeInstanceOf(QueueDropped)
  })

  it('a peer with a smaller share holds fewer slots and queues fewer jobs', async () => {
    const l = new FairLimiter({ slots: 8, namespaceSlots: 8, perPeerSlots: 4, perPeerQueue: 8 }, p => p === 'bad' ? 0.25 : 1)
    const j = new Jobs()
    for (let i = 0; i < 10; i++) j.submit(l, `b${i}`, { peer: 'bad', lane: 'namespace' })
    await tick()
    expect(j.started).toEqual(['b0'])
    expect(l.stats().depth).toEqual({ bad: 2 })
  })
})

describe('Standing', () => {
  const shape = { reduceAt: 2, maxStrikes: 4, forgiveAfter: 1000, maxPeers: 10 }

  it('strikes shrink the share, are forgiven over time and by served versions, and punish at the maximum', () => {
    let now = 0
    const s = new Standing(shape, () => now)
    expect(s.share('p')).toBe(1)
    expect(s.strike('p')).toBe('noted')
    expect(s.share('p')).toBe(1) // slow once: nothing changes
    s.strike('p')
    expect(s.share('p')).toBe(0.5)
    s.served('p')
    expect(s.strikes('p')).toBe(1)
    now += 1000
    expect(s.strikes('p')).toBe(0)
    for (let i = 0; i < 3; i++) expect(s.strike('p')).toBe('noted')
    expect(s.share('p')).toBe(0.5)
    expect(s.strike('p')).toBe('punish')
    expect(s.strikes('p')).toBe(0)
  })

  it('a stream of throw-away peers costs bounded memory', () => {
    const s = new Standing(shape, Date.now)
    for (let i = 0; i < 100; i++) s.strike(`p${i}`)
    expect(s.strikes('p99')).toBe(1)
    expect(s.strikes('p0')).toBe(0)
  })
})
