// Issue 19 item 4, the mesh path: a peer's namespace files that would take this node over
// a namespace quota are refused — without punishing the peer (its quotas may differ:
// config skew, or it simply took other files of a full namespace first) — and their
// content is not fetched again and again: after the first round, later sync rounds
// refuse them on the record alone, before any fetch. With a network, a member's files
// are bounded by the quota of its key. In-process nodes, real libp2p on loopback.
import { afterEach, expect, it } from 'vitest'
import { encodeCertificate, issueCertificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord } from '../../src/crypto/record.ts'
import type { NetworkIdentity } from '../../src/config/network.ts'
import { Cluster, connected, waitFor, type TestNode } from './helpers.ts'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const KiB = 1024
const DAY = 86_400_000
const nameOf = (ns: string, k: SigningKey): string => `${ns}/${base64url(k.publicKey)}`
const namesIn = (n: TestNode, ns: string): string[] => n.replica.list().map(r => r.name).filter(x => x.startsWith(`${ns}/`))

it('a peer holding more names than this node\'s quota: exactly the quota is stored, the peer is not punished, and later sync rounds fetch nothing more', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 300 })
  const big = await cluster.add('big', { namespaces: ['machines'] })
  // 8 files of 100 KiB (above the inline limit: each is fetched), 8 keys; big's quotas are the defaults
  const keys = Array.from({ length: 8 }, () => generateSigningKey())
  for (const [i, k] of keys.entries()) {
    const content = new Uint8Array(100 * KiB).fill(i)
    expect((await big.replica.submit(signRecord(k, { name: nameOf('machines', k), content }), content, 'api')).outcome).toBe('accepted')
  }
  const small = await cluster.add('small', { namespaces: ['machines'], limits: { namespaceMaxNames: 3 }, bootstrap: [big.hostPort] })
  await connected([small, big])
  await waitFor(() => namesIn(small, 'machines').length >= 3, 'small stored 3 of the namespace files', [small])

  // let at least 10 more sync rounds run between them (either side initiating)
  const rounds = (): number => small.mesh.stats().sync.exchanged + small.mesh.stats().sync.answered
  const fetchedAfterFirst = small.mesh.stats().fetch.fetched
  const start = rounds()
  await waitFor(() => rounds() >= start + 10, '10 more sync rounds', [], 30_000)
  const s = small.mesh.stats()
  console.log(`  [quotas] small: ${namesIn(small, 'machines').length} names, fetched ${s.fetch.fetched} (${fetchedAfterFirst} after the first round), refused ${s.offers.refused}, sync rounds ${rounds()}, penalized ${s.peers.penalized}/${big.mesh.stats().peers.penalized}`)
  expect(namesIn(small, 'machines')).toHaveLength(3)
  expect(s.fetch.fetched).toBe(fetchedAfterFirst) // refused on the record alone: no content fetched again
  expect(s.fetch.fetched).toBeLessThanOrEqual(keys.length)
  expect(s.offers.refused).toBeGreaterThanOrEqual(10) // the 5 others came again, and were refused again
  expect(s.peers.penalized).toBe(0)
  expect(small.mesh.status().peers.map(p => p.peerId)).toContain(big.peerId)
  // big lost nothing, and still serves all 8
  expect(namesIn(big, 'machines')).toHaveLength(8)
}, 90_000)

it('with a network, a member\'s namespace files fill at most the quota of its key on every honest node, and the member is not punished', async () => {
  const net = generateSigningKey()
  const identityIn = (key: SigningKey): NetworkIdentity => {
    const c = issueCertificate(net, { subject: key.publicKey, name: 'n', validity: 90 * DAY })
    return { id: net.publicKey, trusted: [net.publicKey], certificate: c, certificateBytes: encodeCertificate(c) }
  }
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 300 })
  const namespaces = ['machines', 'hosts', 'extra']
  const honest: TestNode[] = []
  for (let i = 0; i < 2; i++) {
    const key = generateSigningKey()
    honest.push(await cluster.add(`h${i}`, { identityKey: key, network: identityIn(key), namespaces, limits: { keyMaxBytes: 150 * KiB }, bootstrap: honest.map(n => n.hostPort) }))
  }
  const mKey = generateSigningKey()
  const mIdentity = identityIn(mKey)
  // the member's own node lets it hold what it likes (its quotas are its own)
  const member = await cluster.add('member', { identityKey: mKey, network: mIdentity, namespaces, limits: { keyMaxBytes: 100 * 1024 * KiB }, bootstrap: honest.map(n => n.hostPort) })
  await connected([...honest, member])
  // 3 × 100 KiB in three namespaces, one after the other: the honest nodes take the first (100 of 150 KiB)
  const records = namespaces.map((ns, i) => {
    const content = new Uint8Array(100 * KiB).fill(i + 1)
    return { record: signRecord(mKey, { name: nameOf(ns, mKey), content, network: net.publicKey }), content }
  })
  for (const { record, content } of records) {
    member.certificates!.offer(record, mIdentity.certificate)
    expect((await member.replica.submit(record, content, 'api')).outcome).toBe('accepted')
  }
  await waitFor(() => honest.every(h => h.has(records[0].record)), 'the first file on every honest node', honest)
  const rounds = (n: TestNode): number => n.mesh.stats().sync.exchanged + n.mesh.stats().sync.answered
  const start = honest.map(rounds)
  await waitFor(() => honest.every((h, i) => rounds(h) >= start[i] + 6), '6 more sync rounds on every honest node', [], 30_000)
  for (const h of honest) {
    const s = h.mesh.stats()
    console.log(`  [quotas] ${h.name}: ${namesIn(h, 'machines').length + namesIn(h, 'hosts').length + namesIn(h, 'extra').length} member files, refused ${s.offers.refused}, penalized ${s.peers.penalized}`)
    expect(h.has(records[0].record)).toBe(true)
    expect(h.replica.get(records[1].record.name)).toBeUndefined()
    expect(h.replica.get(records[2].record.name)).toBeUndefined()
    expect(s.offers.refused).toBeGreaterThan(0)
    expect(s.peers.penalized).toBe(0)
  }
  // the member may still replace its file by a newer one: the net change is counted
  const content = new Uint8Array(120 * KiB).fill(9)
  const newer = signRecord(mKey, { name: nameOf('machines', mKey), content, network: net.publicKey })
  member.certificates!.offer(newer, mIdentity.certificate)
  expect((await member.replica.submit(newer, content, 'api')).outcome).toBe('accepted')
  await waitFor(() => honest.every(h => h.has(newer)), 'the member\'s newer, larger version on every honest node', honest)
}, 120_000)
