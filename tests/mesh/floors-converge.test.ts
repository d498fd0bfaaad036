// Issue 19 item 3: floors converge. A node that was offline while a co-signer was removed
// learns the floor from any peer (sync), under the same signature rules: the floor must be
// justified by a signed record whose signer this node's own configuration once allowed and
// allows no more. A peer cannot raise a floor with a key this node never trusted.
import { afterEach, describe, expect, it } from 'vitest'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.js'
import { policyOf } from '../../src/config/config.js'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.js'
import { snapshot } from '../../src/mesh/sync-summary.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const k2 = generateSigningKey()
const K2 = encodeBase64Key(k2.publicKey)

/** the config both with and without the co-signer K2 */
function configs (c: Cluster): { both: Map<string, Set<string>>, withoutK2: Map<string, Set<string>> } {
  const K1 = encodeBase64Key(c.signer.publicKey)
  return { both: new Map([['motd', new Set([K1, K2])]]), withoutK2: new Map([['motd', new Set([K1])]]) }
}

async function reload (n: TestNode, files: Map<string, Set<string>>): Promise<void> {
  n.opts.files = files
  await n.replica.setPolicy({ ...n.replica.getPolicy(), files })
}

const digest = (n: TestNode): string => Buffer.from(snapshot(n.replica).digest).toString('hex')

describe('floors converge (issue 19 item 3)', () => {
  it('a node offline while K2 was removed drops the older version the fleet refuses, whether it restarts with the new config or reloads later', async () => {
    cluster = new Cluster({ names: [] })
    const { both, withoutK2 } = configs(cluster)
    const a = await cluster.add('a', { files: both })
    const b = await cluster.add('b', { files: both, bootstrap: [a.hostPort] })
    const c = await cluster.add('c', { files: both, bootstrap: [a.hostPort] })
    const d = await cluster.add('d', { files: both, bootstrap: [a.hostPort] })
    await connected([a, b, c, d])
    const now = Date.now()
    const v0 = await a.upload({ name: 'motd', content: bytes('v0 by K1'), timestamp: now - 60_000 })
    await converged(v0, [a, b, c, d])
    await c.stop() // offline from here on: misses v1 and the removal of K2
    await d.stop()
    const v1 = await a.upload({ name: 'motd', content: bytes('v1 by K2'), timestamp: now - 30_000 }, k2)
    await converged(v1, [a, b])
    await reload(a, withoutK2)
    await reload(b, withoutK2)
    expect(a.replica.get('motd')).toBeUndefined()
    const floor = a.replica.getFloor('motd')
    expect(floor).toBe(v1.timestamp - 1)

    // c comes back with the new config: v0 (K1, still allowed) is all it has; the fleet refuses it
    c.opts.files = withoutK2
    await c.start()
    expect(c.has(v0)).toBe(true)
    await waitFor(() => c.replica.get('motd') === undefined && c.replica.getFloor('motd') === floor, 'c learns the floor and drops v0', [c], 20_000)
    await waitFor(() => digest(c) === digest(a) && digest(b) === digest(a), 'a, b and c agree (equal sync digests)', [], 20_000)
    expect(await c.content('motd')).toBeUndefined()

    // d comes back with the old config: K2 is still allowed there, so the floor is not yet
    // justified for d (it would accept v1 itself); once d's config drops K2, it is
    d.opts.files = both
    await d.start()
    await waitFor(async () => (d.mesh.stats().sync.exchanged ?? 0) + (d.mesh.stats().sync.answered ?? 0) >= 2, 'd synced twice', [], 20_000)
    expect(d.has(v0)).toBe(true)
    await reload(d, withoutK2)
    await waitFor(() => d.replica.get('motd') === undefined && d.replica.getFloor('motd') === floor, 'd learns the floor after its reload', [d], 20_000)
    await waitFor(() => [b, c, d].every(n => digest(n) === digest(a)), 'every node agrees', [], 20_000)

    // a version signed after the removal wins everywhere
    const v2 = await c.upload({ name: 'motd', content: bytes('v2 by K1'), timestamp: Date.now() })
    await converged(v2, [a, b, c, d])
    // a node installed after the removal never had K2: it cannot check the removal, but a
    // floor below its valid current version changes nothing there, so it takes it and agrees
    const e = await cluster.add('e', { files: withoutK2, bootstrap: [a.hostPort] })
    await converged(v2, [e])
    await waitFor(() => [b, c, d, e].every(n => digest(n) === digest(a)), 'every node agrees, e included', [], 20_000)
    expect(e.replica.getFloor('motd')).toBe(floor)
  })

  it('a peer cannot raise a floor with a key this node never allowed for the name', async () => {
    cluster = new Cluster({ names: [] })
    const { withoutK2 } = configs(cluster)
    const K1 = encodeBase64Key(cluster.signer.publicKey)
    const rogue = generateSigningKey()
    // m's own config allows a key nobody else does: it gets a floor "justified" by it
    const m = await cluster.add('m', { files: new Map([['motd', new Set([K1, encodeBase64Key(rogue.publicKey)])]]) })
    const h = await cluster.add('h', { files: withoutK2, bootstrap: [m.hostPort] })
    await connected([m, h])
    const v0 = await h.upload({ name: 'motd', content: bytes('v0 by K1'), timestamp: Date.now() - 60_000 })
    await converged(v0, [m, h])
    await m.upload({ name: 'motd', content: bytes('by the rogue key'), timestamp: Date.now() + 60_000 }, rogue)
    await reload(m, withoutK2) // m now holds a floor proven by a record of the rogue key
    expect(m.replica.getFloor('motd')).toBeGreaterThan(v0.timestamp)
    const before = h.mesh.stats().sync.exchanged + h.mesh.stats().sync.answered
    await waitFor(() => h.mesh.stats().sync.exchanged + h.mesh.stats().sync.answered >= before + 3, 'three more syncs between m and h', [], 20_000)
    expect(h.mesh.stats().sync.floorsRefused).toBeGreaterThan(0) // it was offered, and refused
    expect(h.has(v0)).toBe(true)
    expect(h.replica.getFloor('motd')).toBeUndefined()
  })

  it('a floor from a peer is taken no higher than when this node saw the key removed: the holder of the removed key cannot push it past a version signed since', async () => {
    cluster = new Cluster({ names: [] })
    const { both, withoutK2 } = configs(cluster)
    const m = await cluster.add('m', { files: both }) // removes K2 late, after K2 signed a record dated ahead
    const h = await cluster.add('h', { files: both, bootstrap: [m.hostPort] })
    await connected([m, h])
    await reload(h, withoutK2)
    const removedAtH = Date.now()
    await new Promise(resolve => setTimeout(resolve, 20)) // v2 is signed strictly after h's removal
    const v2 = await h.upload({ name: 'motd', content: bytes('v2 by K1, after the removal'), timestamp: Date.now() })
    await converged(v2, [m, h])
    const ahead = await m.upload({ name: 'motd', content: bytes('K2, dated a minute ahead'), timestamp: Date.now() + 60_000 }, k2)
    await reload(m, withoutK2)
    expect(m.replica.getFloor('motd')).toBeGreaterThanOrEqual(v2.timestamp) // m's own revocation floor: the time of its reload
    expect(m.replica.getFloor('motd')).toBeLessThan(ahead.timestamp)
    await waitFor(() => h.replica.getFloor('motd') !== undefined, 'h takes the floor m sends', [h], 20_000)
    expect(h.replica.getFloor('motd')).toBeLessThanOrEqual(removedAtH)
    expect(h.has(v2)).toBe(true)
  })

  it('the floor learnt from a peer survives a restart, and is passed on to a node that reloads later', async () => {
    cluster = new Cluster({ names: [] })
    const { both, withoutK2 } = configs(cluster)
    const a = await cluster.add('a', { files: both })
    const c = await cluster.add('c', { files: both, bootstrap: [a.hostPort] })
    await connected([a, c])
    const now = Date.now()
    const v0 = await a.upload({ name: 'motd', content: bytes('v0 by K1'), timestamp: now - 60_000 })
    await converged(v0, [a, c])
    await c.stop()
    const v1 = await a.upload({ name: 'motd', content: bytes('v1 by K2'), timestamp: now - 30_000 }, k2)
    await reload(a, withoutK2)
    expect(a.replica.getFloor('motd')).toBe(v1.timestamp - 1)
    c.opts.files = withoutK2
    await c.start()
    await waitFor(() => c.replica.getFloor('motd') === v1.timestamp - 1, 'c learns the floor', [c], 20_000)
    // a goes away for good; e (offline all along, old state v0) learns it from c alone
    await a.stop()
    await c.restart()
    expect(c.replica.getFloor('motd')).toBe(v1.timestamp - 1)
    expect(c.replica.get('motd')).toBeUndefined()
    const e = await cluster.add('e', { files: both, bootstrap: [c.hostPort] })
    await e.upload({ name: 'motd', content: bytes('v0 by K1'), timestamp: v0.timestamp })
    await reload(e, withoutK2)
    await waitFor(() => e.replica.get('motd') === undefined && e.replica.getFloor('motd') === v1.timestamp - 1, 'e learns the floor from c', [e], 20_000)
  })
})
