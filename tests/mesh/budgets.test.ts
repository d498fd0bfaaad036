// Issue 18, items 2 and 8: per-peer budgets (token buckets) on announcements, sync rounds
// answered and fetch requests served, and hedged fetches. Each test drives a real
// cluster and a hand-driven peer (rogue.ts) that does what an unpaced or silent peer
// would; each failed on the code before the budgets and hedging (9966459).
import { afterEach, expect, it } from 'vitest'
import { encodeRecord, signRecord } from '../../src/crypto/record.ts'
import { work } from '../../src/rule/which-version-wins.ts'
import { DEFAULT_MESH_SETTINGS as D, PROTOCOLS } from '../../src/mesh/settings.ts'
import { encodeRequest } from '../../src/mesh/fetch.ts'
import { StreamReader, concat, frame, u32 } from '../../src/mesh/wire.ts'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.ts'
import { RogueSet, fullMessage, type Rogue } from './rogue.ts'

let cluster: Cluster | undefined
const rogues = new RogueSet()
afterEach(async () => {
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

async function pair (): Promise<{ nodes: TestNode[], r: Rogue }> {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 60_000 })
  const n0 = await cluster.add('n0')
  const n1 = await cluster.add('n1', { bootstrap: [n0.hostPort] })
  await connected([n0, n1], 1)
  const r = await rogues.start()
  for (const n of [n0, n1]) await r.dial(n)
  await waitFor(() => [n0, n1].every(n => n.mesh.status().peers.some(p => p.peerId === r.peerId)), 'the rogue is a peer of both')
  return { nodes: [n0, n1], r }
}

it('announce budget: a peer\'s FULL messages beyond its burst are dropped unjudged (no signature checked), and it is not punished', async () => {
  const { nodes: [n0], r } = await pair()
  const N = 3 * D.announceMessageBurst
  let ts = Date.now() - 60_000
  // valid, ever newer versions of a configured name: each one judged would cost a signature check
  const records = Array.from({ length: N }, (_, i) => encodeRecord(signRecord(cluster!.signer, { name: 'a.txt', content: bytes(`v${i}`), timestamp: ++ts })))
  const before = work.signatureChecks
  const stream = await r.open(n0, PROTOCOLS.announce)
  const t0 = Date.now()
  for (const rec of records) for (const m of fullMessage(rec)) await r.write(stream, m)
  await waitFor(() => n0.mesh.stats().announce.fullReceived + n0.mesh.stats().announce.overBudget >= N, 'every FULL was read')
  const seconds = (Date.now() - t0) / 1000
  const checked = work.signatureChecks - before
  const allowed = D.announceMessageBurst + Math.ceil(seconds * D.announceMessagesPerSecond) + 2
  console.log(`[budgets] ${N} FULL messages in ${seconds.toFixed(1)} s: ${checked} signature checks (budget ${allowed}), ${n0.mesh.stats().announce.overBudget} dropped unjudged`)
  expect(checked).toBeLessThanOrEqual(allowed)
  expect(n0.mesh.stats().announce.overBudget).toBeGreaterThan(0)
  expect(n0.mesh.stats().peers.penalized).toBe(0)
})

it('sync budget: rounds a peer asks for beyond its burst are closed unanswered; honest rounds go on', async () => {
  const { nodes: [n0, n1], r } = await pair()
  await n0.upload({ name: 'b.txt', content: bytes('x') })
  const answered: boolean[] = []
  for (let i = 0; i < D.syncAnswerBurst + 6; i++) {
    const s = await r.open(n0, PROTOCOLS.sync)
    const reader = new StreamReader(s, Date.now() + 5000, 1 << 20)
    await r.write(s, frame(concat([new Uint8Array(32), u32(0)]))) // an empty index: the digests differ
    const first = await reader.frame(1024).catch(() => undefined)
    answered.push(first !== undefined)
    s.abort(new Error('enough'))
  }
  console.log(`[budgets] sync rounds asked in a row: ${answered.map(a => a ? 'answered' : 'closed').join(', ')}`)
  expect(answered.slice(0, D.syncAnswerBurst).every(a => a)).toBe(true)
  expect(answered.filter(a => !a).length).toBeGreaterThanOrEqual(5)
  expect(n0.mesh.stats().sync.paced).toBeGreaterThanOrEqual(5)
  // another peer's round is not touched
  const rec = await n1.upload({ name: 'c.txt', content: bytes('y') })
  await n1.mesh.syncNow()
  await converged(rec, [n0, n1])
  expect(n0.mesh.stats().peers.penalized).toBe(0)
})

it('fetch budget: requests beyond a peer\'s burst are answered busy, one after the other', async () => {
  const { nodes: [n0], r } = await pair()
  const record = await n0.upload({ name: 'big.bin', content: new Uint8Array(100 * 1024).fill(1) })
  const statuses: number[] = []
  const t0 = Date.now()
  for (let i = 0; i < D.fetchRequestBurst + 100; i++) {
    const s = await r.open(n0, PROTOCOLS.fetch)
    const reader = new StreamReader(s, Date.now() + 5000, 1 << 20)
    await r.write(s, frame(encodeRequest(record)))
    await s.close().catch(() => {})
    const header = await reader.frame(16)
    statuses.push(header?.[0] ?? -1)
    if (header?.[0] === 0) await reader.bytes(record.size)
  }
  const seconds = (Date.now() - t0) / 1000
  const ok = statuses.filter(x => x === 0).length
  const busy = statuses.filter(x => x === 2).length
  console.log(`[budgets] ${statuses.length} fetches in a row in ${seconds.toFixed(1)} s: ${ok} served, ${busy} busy`)
  expect(ok).toBeGreaterThanOrEqual(D.fetchRequestBurst)
  expect(ok).toBeLessThanOrEqual(D.fetchRequestBurst + Math.ceil(seconds * D.fetchRequestsPerSecond) + 1)
  expect(ok + busy).toBe(statuses.length)
})

it('hedging: a large file first announced by a peer that never serves it arrives from an honest holder within a few seconds, not after the 10 s header deadline', async () => {
  const { nodes: [n0, n1], r } = await pair()
  const asked: number[] = []
  await r.serveFetch(() => { asked.push(Date.now()) }) // never answers
  const content = new Uint8Array(200 * 1024).fill(7) // above the inline limit: always fetched
  const record = signRecord(cluster!.signer, { name: 'big.bin', content, timestamp: Date.now() })
  await r.announce(n1, [encodeRecord(record)])
  await waitFor(() => asked.length > 0, 'n1 asked the rogue for the content')
  const t0 = performance.now()
  expect(await n0.replica.submit(record, content, 'api')).toMatchObject({ outcome: 'accepted' })
  await converged(record, [n0, n1], 30_000)
  const took = Math.round(performance.now() - t0)
  console.log(`[budgets] hedged fetch: n1 had the content ${took} ms after n0 got it (fetchHeaderTimeout ${D.fetchHeaderTimeout} ms); hedged ${n1.mesh.stats().fetch.hedged}`)
  expect(took).toBeLessThan(D.fetchHeaderTimeout / 2)
  expect(n1.mesh.stats().fetch.hedged).toBeGreaterThan(0)
  expect(n1.mesh.stats().peers.penalized).toBe(0) // one silent fetch is a strike, not a punishment
})
