// The bench's floor of CPU per update (bench/relay-floor.ts, bench/lib/relay-floor.ts):
// real relay processes on loopback, the daemon's libp2p stack between them, must deliver
// every version to every relay along the tree, notify the lazy links, store each version
// durably once (or not, when told: the bench's split of the floor), and refuse a record whose signature does not verify. Needs the build
// (dist/bench/relay-floor.js), as `npm test` makes it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { generateSigningKey } from '../../src/crypto/keys.js'
import { signRecord } from '../../src/crypto/record.js'
import { DAEMON_ENV } from '../../bench/lib/node-flags.js'
import { RelayFloor, relayLinks } from '../../bench/lib/relay-floor.js'

describe('bench: relay links', () => {
  it('keeps the daemons\' graph, with a breadth-first spanning tree eager', () => {
    // 0-1, 0-2, 1-2, 2-3, 3-4, 1-4: a tree needs 4 of the 6
    const links = relayLinks([[1, 2], [0, 2, 4], [0, 1, 3], [2, 4], [3, 1]])
    expect(links.length).toBe(6)
    const eager = links.filter(l => l.eager).map(l => `${l.a}-${l.b}`).sort()
    expect(eager).toEqual(['0-1', '0-2', '1-4', '2-3'])
  })

  it('spans every part of a graph that is not connected', () => {
    const links = relayLinks([[1], [0], [3], [2]])
    expect(links.filter(l => l.eager).length).toBe(2)
  })
})

describe('bench: the relay floor, real processes on loopback', () => {
  const root = mkdtempSync(join(tmpdir(), 'dm-relay-floor-'))
  let floor: RelayFloor | undefined
  afterAll(async () => {
    await floor?.stop()
    rmSync(root, { recursive: true, force: true })
  })

  it('delivers every version to every relay, once each, and stores it', async () => {
    const N = 4
    floor = await RelayFloor.start({ n: N, root, basePort: 0, nsPrefix: [], nodeFlags: [], env: DAEMON_ENV })
    // a ring with one chord: 5 links, 3 of them the tree
    const links = relayLinks([[1, 3, 2], [0, 2], [1, 3, 0], [2, 0]])
    await floor.link(links)
    const key = generateSigningKey()
    const versions = 3
    const records = []
    for (let k = 0; k < versions; k++) {
      const content = randomBytes(1024)
      const record = signRecord(key, { name: `bench/r${k}`, content, timestamp: Date.now() + k })
      records.push({ record, content })
      floor.publish(k % N, record, content)
    }
    expect(await floor.stored(versions, 30_000)).toBe(true)
    // the notices go out ~250 ms after each version: wait for all of them (each relay sends
    // one per lazy link unless that peer already told it it holds the version)
    const lazyEnds = links.filter(l => !l.eager).length * 2
    const deadline = Date.now() + 10_000
    let c = await floor.counts()
    while (c.ihaveReceived < c.ihaveSent || c.ihaveSent === 0) {
      if (Date.now() > deadline) break
      await new Promise(resolve => setTimeout(resolve, 100))
      c = await floor.counts()
    }
    expect(c.stored).toBe(versions * N)
    expect(c.fullReceived).toBe(versions * (N - 1)) // one full copy per receiver: the tree
    expect(c.fullSent).toBe(versions * (N - 1))
    expect(c.duplicates).toBe(0)
    expect(c.refused).toBe(0)
    expect(c.ihaveSent).toBeGreaterThan(0)
    expect(c.ihaveSent).toBeLessThanOrEqual(versions * lazyEnds)
    expect(c.ihaveReceived).toBe(c.ihaveSent)
    // the store's own layout: the content delivered under files/<name> on every relay
    for (let i = 0; i < N; i++) {
      for (const r of records) expect(readFileSync(join(root, `relay${i}`, 'files', ...r.record.name.split('/')))).toEqual(r.content)
    }

    // a record whose signature does not verify is neither stored nor passed on
    const content = randomBytes(1024)
    const bad = signRecord(key, { name: 'bench/bad', content, timestamp: Date.now() })
    bad.signature = new Uint8Array(bad.signature.length)
    floor.publish(0, bad, content)
    const until = Date.now() + 10_000
    do { c = await floor.counts() } while (c.refused === 0 && Date.now() < until)
    expect(c.refused).toBe(1)
    expect(c.stored).toBe(versions * N)
    expect(c.fullSent).toBe(versions * (N - 1))

    // with the store's write off (the bench's split of the floor) a version still travels everywhere, and is not written
    await floor.durable(false)
    const light = randomBytes(1024)
    const unstored = signRecord(key, { name: 'bench/light', content: light, timestamp: Date.now() })
    floor.publish(1, unstored, light)
    expect(await floor.stored(versions + 1, 30_000)).toBe(true)
    c = await floor.counts()
    expect(c.fullReceived).toBe((versions + 1) * (N - 1))
    for (let i = 0; i < N; i++) expect(existsSync(join(root, `relay${i}`, 'files', 'bench', 'light'))).toBe(false)
  }, 120_000)
})
