// Cluster-level drills with real daemon processes: clock faults (libfaketime) and the
// leaked-key recovery procedure from the README.
import { afterEach, describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import type { FileEvent } from '../../src/client/client.ts'
import { startNode, type NodeOptions, type RunningNode } from '../helpers/daemon.ts'

const alice = generateSigningKey()
const leaked = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
const L = encodeBase64Key(leaked.publicKey)
const nodes: RunningNode[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => await n.stop())) })

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'
const haveFaketime = existsSync(LIBFAKETIME)

async function cluster (opts: NodeOptions[]): Promise<RunningNode[]> {
  const first = await startNode(opts[0])
  nodes.push(first)
  for (const o of opts.slice(1)) {
    nodes.push(await startNode({ ...o, cluster: { ...o.cluster, bootstrap_nodes: [`127.0.0.1:${first.port}`] } }))
  }
  return nodes
}

const content = (n: RunningNode, name: string): string | undefined => {
  const p = join(n.stateDir, 'files', name)
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined
}

describe('clock faults', () => {
  it.skipIf(!haveFaketime)('nodes hours ahead or seconds behind converge on the signer-chosen order; a future record is held and released on time', async () => {
    const extra = `[limits]\nmax_clock_skew = "2s"`
    const faked = (offset: string): NodeJS.ProcessEnv => ({ LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_DONT_RESET: '1' })
    const [a, ahead, behind] = await cluster([
      { files: { motd: [A] }, extra },
      { files: { motd: [A] }, extra, env: faked('+3h') },
      { files: { motd: [A] }, extra, env: faked('-10s') }
    ])
    const watches = await Promise.all([ahead, behind].map(async n => await n.client.watchFiles({ names: ['motd'] })))
    const t = Date.now()
    await a.client.publish(alice, 'motd', Buffer.from('v1'), { timestamp: t })
    await a.client.publish(alice, 'motd', Buffer.from('v2'), { timestamp: t + 1 })
    // ahead: v2 arrives at once (v1 may or may not be seen first, but v2 is the end state)
    await watches[0].next(e => e.kind === 'UPDATED' && e.version.timestamp === t + 1, 30_000)
    expect(content(ahead, 'motd')).toBe('v2')
    // behind by 10 s with 2 s of allowed skew: held back until its clock reaches t - 2 s
    const deadline = Date.now() + 20_000
    while (!(await behind.client.getStatus()).held.some(h => h.name === 'motd' && h.timestamp === t + 1)) {
      if (Date.now() > deadline) throw new Error('the node behind never held the record back')
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    expect(content(behind, 'motd')).toBeUndefined()
    const release: FileEvent = await watches[1].next(e => e.kind === 'UPDATED', 30_000)
    const elapsed = Date.now() - t
    expect(release.origin).toBe('held')
    expect(release.version.timestamp).toBe(t + 1)
    expect(elapsed).toBeGreaterThanOrEqual(7_000) // 10 s behind − 2 s skew, minus scheduling slack
    expect(content(behind, 'motd')).toBe('v2')
    for (const w of watches) w.cancel()
  }, 90_000)

  it.skipIf(!haveFaketime)('expiry follows the local clock: a node hours ahead never delivers a version that is still valid elsewhere', async () => {
    const [a, ahead] = await cluster([
      { files: { grant: [A] } },
      { files: { grant: [A] }, env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: '+2h', FAKETIME_DONT_FAKE_MONOTONIC: '1' } }
    ])
    const w = await ahead.client.watchFiles({ names: ['grant'] })
    await a.client.publish(alice, 'grant', Buffer.from('ssh-ed25519 AAAA temporary'), { expires: Date.now() + 3600_000 })
    const ev = await w.next(e => e.version.name === 'grant', 30_000)
    w.cancel()
    expect(ev.kind).toBe('EXPIRED') // accepted (it blocks older versions) but already expired by the local clock
    expect(content(a, 'grant')).toBe('ssh-ed25519 AAAA temporary')
    expect(content(ahead, 'grant')).toBeUndefined()
  }, 60_000)
})

describe('key compromise drill (README "If a signing key leaks")', () => {
  it('a leaked key\'s far-future version is revoked by a config reload on every node, and an honest update then wins everywhere', async () => {
    const both = { files: { authorized_keys: [A, L] } }
    const ns = await cluster([both, both, both])
    const watches = await Promise.all(ns.map(async n => await n.client.watchFiles({ names: ['authorized_keys'] })))
    const now = Date.now()
    // the attacker signs a version 4 minutes ahead (within max_clock_skew: accepted) and one a year ahead (held)
    await ns[0].client.publish(leaked, 'authorized_keys', Buffer.from('attacker key'), { timestamp: now + 4 * 60_000 })
    await ns[0].client.publish(leaked, 'authorized_keys', Buffer.from('time bomb'), { timestamp: now + 365 * 86_400_000 })
    await Promise.all(watches.map(async (w, i) => await w.next(e => e.kind === "UPDATED", 30_000).catch(err => { throw new Error(`node ${i} never got the leaked version: ${err.message}`) })))
    for (const n of ns) expect(content(n, 'authorized_keys')).toBe('attacker key')
    // the mesh counters in GetStatus show how it travelled: pushed by the origin, taken by the others
    const counters = await Promise.all(ns.map(async n => (await n.client.getStatus()).counters))
    expect(counters[0]['announce.full_sent']).toBeGreaterThanOrEqual(1)
    for (const c of counters.slice(1)) expect(c['announce.full_received'] + c['sync.records_received']).toBeGreaterThanOrEqual(1)
    await expect(ns[1].client.publish(alice, 'authorized_keys', Buffer.from('honest'), { timestamp: now })).rejects.toThrow(/not newer/)
    // the operator removes the leaked key from the config of every node and reloads
    for (const n of ns) { n.writeConfig({ files: { authorized_keys: [A] } }); n.proc.kill('SIGHUP') }
    await Promise.all(watches.map(async (w, i) => await w.next(e => e.kind === "REVOKED", 30_000).catch(err => { throw new Error(`node ${i} never revoked: ${err.message}`) })))
    for (const n of ns) expect((await n.client.getStatus()).held).toEqual([])
    // the revoked version left a floor (the time of revocation): a replay of the honest
    // version signed before the reload is refused, one signed after it (older than the
    // attacker's timestamps) wins on every node
    await expect(ns[1].client.publish(alice, 'authorized_keys', Buffer.from('honest'), { timestamp: now })).rejects.toThrow(/at or below the floor/)
    await ns[1].client.publish(alice, 'authorized_keys', Buffer.from('honest'))
    await Promise.all(watches.map(async w => await w.next(e => e.kind === 'UPDATED' && e.version.signer.toString('base64') === A, 30_000)))
    for (const n of ns) expect(content(n, 'authorized_keys')).toBe('honest')
    for (const w of watches) w.cancel()
  }, 90_000)
})

it('libfaketime is installed where CI runs (else the clock tests above are skipped)', () => {
  if (process.env.CI !== undefined) expect(haveFaketime, 'apt-get install faketime').toBe(true)
  else if (!haveFaketime) console.warn('clock-fault tests skipped: apt-get install faketime')
  expect(execFileSync('uname').toString()).toMatch(/Linux/)
})
