// Issue 19 item 2: revoke one node fleet-wide. Three real daemons of one network; C (the
// lost laptop) has published a namespace file. While B is stopped, the admin runs
// `certificate revoke` against A: A disconnects C, refuses it from then on, and drops C's
// namespace file. B, started again, learns the list from the mesh and does the same. A
// restarted still refuses C (the list is a stored file). A list signed by anyone but the
// network key is refused.
import { afterAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeBase64Key } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord } from '../../src/crypto/record.ts'
import { encodeRevocationList, parseRevocationList, REVOCATIONS_NAME } from '../../src/crypto/revocation-list.ts'
import { cli, freePort, startNode, type NodeOptions, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { waitFor } from '../mesh/helpers.ts'
import { makeIdentity, makeNetwork, type NodeFiles } from './helpers.ts'

const work = tempDir('dm-netid-revoke-')
const running = new Set<RunningNode>()
afterAll(async () => { await Promise.allSettled([...running].map(async n => await n.stop())); work.cleanup() })

async function start (o: NodeOptions): Promise<RunningNode> {
  const n = await startNode(o)
  running.add(n)
  return n
}
async function stop (n: RunningNode): Promise<void> { await n.stop(); running.delete(n) }
const peersOf = async (n: RunningNode): Promise<string[]> => (await n.client.getStatus()).peers.map(p => p.peerId)
const names = async (n: RunningNode): Promise<string[]> => (await n.client.listFiles()).map(v => v.name)

describe('revoking one node fleet-wide (issue 19 item 2)', () => {
  it('reaches every node (one that was stopped too), closes and refuses the node, drops its namespace files, survives a restart', async () => {
    const net = makeNetwork(work.dir, 'net')
    const ids: Record<string, NodeFiles> = {}
    for (const n of ['a', 'b', 'c']) ids[n] = makeIdentity(work.dir, n, net.key)
    const ports: Record<string, number> = { a: await freePort(), b: await freePort(), c: await freePort() }
    const cfg = (n: string): NodeOptions => {
      const dir = join(work.dir, `node-${n}`)
      mkdirSync(dir, { recursive: true })
      return {
        dir,
        namespaces: ['test_ns'],
        cluster: { port: ports[n], interfaces: ['lo'], bootstrap_nodes: n === 'a' ? [] : [`127.0.0.1:${ports.a}`], identity_key: ids[n].keyPath, identity_cert: ids[n].certPath, certificate_authorities: [] },
        extra: `[network]\nid = ${JSON.stringify(net.pubPath)}\n`
      }
    }
    let a = await start(cfg('a'))
    let b = await start(cfg('b'))
    const c = await start(cfg('c'))
    const idC = (await c.client.getStatus()).nodeId
    await waitFor(async () => (await Promise.all([a, b, c].map(peersOf))).every(p => p.length === 2), 'all three connected', [], 30_000)

    // C publishes about itself, with its certificate
    const nsName = `test_ns/${base64url(ids.c.key.publicKey)}`
    writeFileSync(join(work.dir, 'facts'), 'laptop facts')
    const up = await cli(['file', 'update', join(work.dir, 'facts'), '--name', nsName, '--key', ids.c.keyPath, '--cert', ids.c.certPath, '--network-id', net.pubPath, '--url', c.url])
    expect(up.stderr).toBe('')
    await waitFor(async () => (await names(a)).includes(nsName) && (await names(b)).includes(nsName), 'C\'s file on A and B', [], 30_000)

    await stop(b)
    // a list signed by a member (not the network key) is refused
    const forged = encodeRevocationList([{ key: encodeBase64Key(ids.a.key.publicKey) }])
    await expect(a.client.updateFile(signRecord(ids.c.key, { name: REVOCATIONS_NAME, content: forged, network: net.key.publicKey }), forged)).rejects.toThrow(/only the network key/)

    const list = join(work.dir, 'revoked.json')
    const r = await cli(['certificate', 'revoke', '--network-key', net.keyPath, '--list', list, '--certificate', ids.c.certPath, '--url', a.url])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/network\.revocations: 1 revoked key\(s\), 1 new; accepted/)
    expect(parseRevocationList(readFileSync(list))).toMatchObject([{ key: encodeBase64Key(ids.c.key.publicKey), name: 'c' }])

    await waitFor(async () => !(await peersOf(a)).includes(idC), 'A disconnects C', [], 10_000)
    await waitFor(async () => !(await names(a)).includes(nsName), 'C\'s file revoked on A', [], 10_000)
    expect((await a.client.getStatus()).counters['certificates.revoked']).toBe(1)
    // C keeps dialing A (its bootstrap node): refused
    await waitFor(() => a.output().includes('revoked by the network'), 'A refuses C\'s new connection', [], 30_000)
    expect(await peersOf(a)).not.toContain(idC)
    // a new version of C's file is refused
    writeFileSync(join(work.dir, 'facts'), 'still here')
    const again = await cli(['file', 'update', join(work.dir, 'facts'), '--name', nsName, '--key', ids.c.keyPath, '--cert', ids.c.certPath, '--network-id', net.pubPath, '--url', a.url])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/revoked by the network.*PERMISSION_DENIED/)

    // B was stopped while the list was issued: started again, it learns it from the mesh
    b = await start(cfg('b'))
    await waitFor(async () => (await names(b)).includes(REVOCATIONS_NAME), 'B has the revocation list', [], 30_000)
    await waitFor(async () => !(await names(b)).includes(nsName) && !(await peersOf(b)).includes(idC), 'B dropped C and its file', [], 30_000)
    expect(existsSync(join(b.stateDir, 'files', nsName))).toBe(false)

    // A restarted: the list is read from its store; C is refused from the first connection
    await stop(a)
    a = await start(cfg('a'))
    expect(a.output()).toContain('network revocation list loaded')
    await waitFor(() => a.output().includes('revoked by the network'), 'restarted A refuses C', [], 30_000)
    expect(await peersOf(a)).not.toContain(idC)
  })
})
