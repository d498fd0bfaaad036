import { afterEach, expect, it } from 'vitest'
import { Cluster, bytes, converged, waitFor, type TestNode } from './helpers.js'
import { compareVersions } from '../../src/rule/which-version-wins.js'
import type { SignedRecord } from '../../src/crypto/record.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

function newer (a: SignedRecord, b: SignedRecord): SignedRecord { return compareVersions(a, b) > 0 ? a : b }
const peersOf = (n: TestNode): string[] => n.mesh.status().peers.map(p => p.peerId)

it('partition and heal: both halves converge; concurrent updates resolve to the same winner everywhere, tie-break included', async () => {
  cluster = new Cluster()
  // two halves joined only through m: allowed_nodes makes m the only possible link
  const m = await cluster.make('m')
  const [l1, l2, r1, r2] = await Promise.all(['l1', 'l2', 'r1', 'r2'].map(async n => await cluster!.make(n)))
  const id = Object.fromEntries(await Promise.all([m, l1, l2, r1, r2].map(async n => [n.name, (await cluster!.identityOf(n))] as const)))
  const left = [id.m.publicKey, id.l1.publicKey, id.l2.peerId] // both forms allowed_nodes takes
  const right = [id.m.peerId, id.r1.publicKey, id.r2.publicKey]
  const everyone = [id.l1.peerId, id.l2.peerId, id.r1.peerId, id.r2.peerId]
  m.opts.allowedNodes = everyone
  await m.start()
  for (const [n, allowed] of [[l1, left], [l2, left], [r1, right], [r2, right]] as const) {
    n.opts.allowedNodes = [...allowed]
    n.opts.bootstrap = [m.hostPort]
  }
  await Promise.all([l1.start(), l2.start(), r1.start(), r2.start()])
  const all = [m, l1, l2, r1, r2]

  // each half finds its own members through peer exchange with m
  await waitFor(() => peersOf(l1).includes(l2.peerId) && peersOf(r1).includes(r2.peerId), 'l1–l2 and r1–r2 connected')
  const first = await l1.upload({ name: 'a.txt', content: bytes('before the partition') })
  await converged(first, all)

  await m.stop() // the only link between the halves
  await waitFor(() => [l1, l2, r1, r2].every(n => !peersOf(n).includes(m.peerId)), 'halves apart')

  const T = Date.now()
  // the same name, the same timestamp, on both sides: only the signature can decide
  const tieL = await l1.upload({ name: 'c.txt', timestamp: T, content: bytes('left') })
  const tieR = await r1.upload({ name: 'c.txt', timestamp: T, content: bytes('right') })
  // the same name, different timestamps: the later one wins wherever it was made
  const dL = await l2.upload({ name: 'd.txt', timestamp: T + 10, content: bytes('left later') })
  const dR = await r2.upload({ name: 'd.txt', timestamp: T + 5, content: bytes('right earlier') })
  // a name changed on one side only
  const bL = await l2.upload({ name: 'b.txt', timestamp: T, content: bytes('left only') })
  for (const r of [tieL, dL, bL]) await converged(r, [l1, l2])
  for (const r of [tieR, dR]) await converged(r, [r1, r2])
  expect(peersOf(l1).concat(peersOf(l2)).some(p => p === r1.peerId || p === r2.peerId)).toBe(false)

  await m.start() // heal
  const winners = [newer(tieL, tieR), newer(dL, dR), bL, first]
  expect(winners[1]).toBe(dL)
  for (const w of winners) await converged(w, all)
  for (const n of all) {
    const winner = winners[0]
    expect((await n.content('c.txt'))?.toString(), n.name).toBe(winner === tieL ? 'left' : 'right')
    expect((await n.content('d.txt'))?.toString(), n.name).toBe('left later')
  }
  // the halves still never talked directly
  expect(peersOf(l1).concat(peersOf(l2)).some(p => p === r1.peerId || p === r2.peerId)).toBe(false)
})
