// F3 and L3 with real daemon processes: a revocation leaves a floor that survives restarts
// and holds against replays from the API and from a peer that missed the revocation; a
// corrupt record found at start leaves one too; a reload whose disk write fails is
// refused as a whole, the daemon keeps running, and the next SIGHUP applies it.
import { afterEach, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { startNode, type NodeOptions, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

const isRoot = process.getuid?.() === 0
const k1 = generateSigningKey()
const k2 = generateSigningKey()
const K1 = encodeBase64Key(k1.publicKey)
const K2 = encodeBase64Key(k2.publicKey)
const DAY = 86_400_000
const both: NodeOptions = { files: { motd: [K1, K2] } }
const withoutK2: NodeOptions = { files: { motd: [K1] } }
const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

function track (n: RunningNode): RunningNode {
  cleanups.push(async () => { await n.stop() })
  return n
}

const delivered = (n: RunningNode): string | undefined => {
  const p = join(n.stateDir, 'files', 'motd')
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined
}

async function until (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

async function reload (n: RunningNode, o: NodeOptions, logLine: RegExp): Promise<void> {
  const seen = n.output().split(logLine).length
  n.writeConfig(o)
  n.proc.kill('SIGHUP')
  await until(`"${logLine.source}" in the log`, () => n.output().split(logLine).length > seen)
}

describe('floors with real daemons (F3)', () => {
  it('a node that missed the revocation re-spreads v1: the node that reloaded refuses it, before and after a restart; a version signed after the reload wins everywhere', async () => {
    const dirA = tempDir('dm-floor-a-')
    const dirB = tempDir('dm-floor-b-')
    cleanups.push(dirA.cleanup, dirB.cleanup)
    let a = track(await startNode({ ...both, dir: dirA.dir }))
    const bOpts = { ...both, dir: dirB.dir, cluster: { bootstrap_nodes: [`127.0.0.1:${a.port}`] } }
    let b = track(await startNode(bOpts))
    const now = Date.now()
    await a.client.publish(k1, 'motd', Buffer.from('old-contractor'), { timestamp: now - 30 * DAY })
    await until('v1 on B', () => delivered(b) === 'old-contractor')
    await b.stop() // offline from here on: it misses v2, v3 and the revocation

    await a.client.publish(k1, 'motd', Buffer.from('v2'), { timestamp: now - DAY })
    await a.client.publish(k2, 'motd', Buffer.from('v3 by K2'), { timestamp: now })
    await reload(a, withoutK2, /configuration reloaded/)
    expect(delivered(a)).toBeUndefined()
    const replay = await a.client.publish(k1, 'motd', Buffer.from('old-contractor'), { timestamp: now - 30 * DAY }).catch(e => e)
    expect(replay.codeName).toBe('FAILED_PRECONDITION')
    expect(replay.message).toMatch(/at or below the floor of that name/)

    // B comes back with its old config and v1, and offers v1 to A at once (sync on connect)
    b = track(await startNode(bOpts))
    expect(delivered(b)).toBe('old-contractor')
    // sync/4.0.0 (issue 19 item 3): A's summary carries its floor, so B no longer sends v1,
    // which is below it; B, still configured with K2, does not take the floor A sends it
    const refusedByB = async (): Promise<number> => (await b.client.getStatus()).counters['sync.floors_refused'] ?? 0
    await until('B to be offered A\'s floor, and refuse it', async () => await refusedByB() >= 1)
    const rounds = (await a.client.getStatus()).counters['sync.rounds'] ?? 0
    await until('three more sync rounds on A', async () => ((await a.client.getStatus()).counters['sync.rounds'] ?? 0) >= rounds + 3)
    expect(delivered(a)).toBeUndefined()
    expect((await a.client.getStatus()).counters['offers.accepted'] ?? 0).toBe(0)
    expect((await a.client.getStatus()).counters['sync.records_received'] ?? 0).toBe(0)
    expect(delivered(b)).toBe('old-contractor')

    // the floor survives a restart of A
    await a.stop()
    a = track(await startNode({ ...withoutK2, dir: dirA.dir, cluster: { port: a.port } }))
    const again = await a.client.publish(k1, 'motd', Buffer.from('old-contractor'), { timestamp: now - 30 * DAY }).catch(e => e)
    expect(again.message).toMatch(/at or below the floor of that name/)
    expect(delivered(a)).toBeUndefined()

    // the drill: a version signed after the reload wins, on A and on B (which never reloaded)
    expect((await a.client.publish(k1, 'motd', Buffer.from('honest'))).outcome).toBe('ACCEPTED')
    await until('the honest version on B', () => delivered(b) === 'honest')
    expect(delivered(a)).toBe('honest')
  }, 120_000)

  it('a record file found corrupt at start leaves a floor: the version it held cannot be replayed, a newer one is accepted', async () => {
    const d = tempDir('dm-floor-c-')
    cleanups.push(d.cleanup)
    let n = track(await startNode({ ...withoutK2, dir: d.dir }))
    const t = Date.now()
    await n.client.publish(k1, 'motd', Buffer.from('v1'), { timestamp: t - DAY })
    await n.client.publish(k1, 'motd', Buffer.from('v2'), { timestamp: t })
    await n.stop()
    writeFileSync(join(n.stateDir, 'records', 'motd.rec'), 'bit rot')
    n = track(await startNode({ ...withoutK2, dir: d.dir }))
    expect(n.output()).toMatch(/dropping stored record.*unreadable or bad signature|unreadable or bad signature.*dropping stored record/)
    expect(delivered(n)).toBeUndefined()
    for (const [content, ts] of [['v1', t - DAY], ['v2', t]] as const) {
      const e = await n.client.publish(k1, 'motd', Buffer.from(content), { timestamp: ts }).catch(err => err)
      expect(e.message, content).toMatch(/at or below the floor of that name/)
    }
    expect((await n.client.publish(k1, 'motd', Buffer.from('v3'))).outcome).toBe('ACCEPTED')
    expect(delivered(n)).toBe('v3')
  }, 60_000)
})

describe('reload (L3)', () => {
  it.skipIf(!isRoot)('a reload whose revocation cannot be written is refused whole: logged, the daemon keeps serving the running config, and the next SIGHUP applies it (needs root for a tmpfs)', async () => {
    const d = tempDir('dm-reload-')
    const state = join(d.dir, 'state')
    mkdirSync(state)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', state])
    cleanups.push(d.cleanup, () => { execFileSync('umount', [state]) })
    const n = track(await startNode({ ...both, dir: d.dir }))
    const now = Date.now()
    await n.client.publish(k1, 'motd', Buffer.from('v1'), { timestamp: now - 30 * DAY })
    await n.client.publish(k1, 'motd', Buffer.from('v2'), { timestamp: now - DAY })
    await n.client.publish(k2, 'motd', Buffer.from('v3 by K2'), { timestamp: now })

    execFileSync('mount', ['-o', 'remount,ro', state])
    try {
      await reload(n, withoutK2, /reload failed/)
      expect(n.output()).toMatch(/disk is read-only; the running configuration is unchanged/)
      // still running, on the old configuration as a whole: v3 served, not half revoked
      expect(n.proc.exitCode).toBeNull()
      expect((await n.client.getFile('motd')).content.toString()).toBe('v3 by K2')
      expect(delivered(n)).toBe('v3 by K2')
      expect((await n.client.getStatus()).files.map(f => f.name)).toEqual(['motd'])
    } finally { execFileSync('mount', ['-o', 'remount,rw', state]) }

    const w = await n.client.watchFiles({ names: ['motd'] })
    n.proc.kill('SIGHUP') // config file unchanged since: the same reload, now with a writable disk
    await w.next(e => e.kind === 'REVOKED', 30_000)
    w.cancel()
    await until('the reload to finish', () => /configuration reloaded/.test(n.output()))
    expect(delivered(n)).toBeUndefined()
    const replay = await n.client.publish(k1, 'motd', Buffer.from('v1'), { timestamp: now - 30 * DAY }).catch(e => e)
    expect(replay.message).toMatch(/at or below the floor of that name/)
    expect(n.proc.exitCode).toBeNull()
  }, 90_000)
})
