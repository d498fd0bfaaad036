// clan-core's data-mesher VM test, step by step, against three real daemons configured
// as its clan service configures them (network id, identity key and certificate made by
// the CLI, namespaces = ["test_ns"], the API on [::1]), with the exact CLI invocations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, freePort, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { waitFor } from '../mesh/helpers.ts'

const work = tempDir('dm-netid-clan-')
const p = (n: string): string => join(work.dir, n)
const nodes: RunningNode[] = []
const names = ['alpha', 'beta', 'gamma']
const apiPorts: number[] = []
let adminPub = ''

async function ok (args: string[]): Promise<string> {
  const r = await cli(args)
  if (r.code !== 0) throw new Error(`data-mesher ${args.join(' ')} → ${r.code}: ${r.stderr}`)
  return r.stdout
}

const url = (i: number): string => `http://[::1]:${apiPorts[i]}`
const delivered = (i: number, name: string): string => join(nodes[i].stateDir, 'files', name)

beforeAll(async () => {
  // the vars generators of clanServices/data-mesher
  await ok(['generate', 'network', '--public-key-path', p('network.pub'), '--private-key-path', p('network.key')])
  for (const n of names) {
    await ok(['generate', 'identity-key', '--public-key-path', p(`${n}.identity.pub`), '--private-key-path', p(`${n}.identity.key`)])
    writeFileSync(p(`${n}.peer.id`), await ok(['peer', 'id', p(`${n}.identity.pub`)]))
    await ok(['certificate', 'sign', '--name', 'data-mesher', '--network-key', p('network.key'), '--identity-key', p(`${n}.identity.pub`),
      '--output', p(`${n}.identity.cert`), '--validity', '2160h'])
  }
  adminPub = JSON.parse(await ok(['generate', 'signing-key', '--private-key-path', p('admin.key'), '--json'])).publicKey
  const ports = [await freePort(), await freePort(), await freePort()]
  for (let i = 0; i < 3; i++) apiPorts.push(await freePort())
  for (const [i, n] of names.entries()) {
    nodes.push(await startNode({
      files: { test_file: [adminPub] },
      namespaces: ['test_ns'],
      listen: `[::1]:${apiPorts[i]}`,
      cluster: {
        port: ports[i],
        interfaces: ['lo'],
        bootstrap_nodes: [`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`],
        identity_key: p(`${n}.identity.key`),
        identity_cert: p(`${n}.identity.cert`),
        certificate_authorities: []
      },
      extra: `[network]\nid = ${JSON.stringify(p('network.pub'))}\n`
    }))
  }
  await waitFor(async () => (await Promise.all(nodes.map(async n => (await n.client.getStatus()).peers.length))).every(c => c === 2), 'every daemon has 2 peers', [], 60_000)
}, 120_000)
afterAll(async () => { await Promise.allSettled(nodes.map(async n => await n.stop())); work.cleanup() })

describe('clan-core VM test flow', () => {
  it('the peer ids of the vars are the daemons\' ids', async () => {
    for (const [i, n] of names.entries()) expect(readFileSync(p(`${n}.peer.id`), 'utf8').trim()).toBe((await nodes[i].client.getStatus()).nodeId)
  })

  it('test 1 and 2: upload with --network-id --url http://[::1]:PORT --key, spreads; delete from another node, spreads', async () => {
    writeFileSync(p('test_file'), 'hello world')
    const up = await cli(['file', 'update', p('test_file'), '--network-id', p('network.pub'), '--url', url(0), '--key', p('admin.key')])
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    await waitFor(() => nodes.every((_, i) => existsSync(delivered(i, 'test_file')) && readFileSync(delivered(i, 'test_file'), 'utf8') === 'hello world'), 'test_file on every node', [], 60_000)
    const del = await cli(['file', 'delete', 'test_file', '--network-id', p('network.pub'), '--url', url(1), '--key', p('admin.key')])
    expect(del.stderr).toBe('')
    expect(del.code).toBe(0)
    await waitFor(() => nodes.every((_, i) => !existsSync(delivered(i, 'test_file'))), 'test_file deleted on every node', [], 60_000)
  })

  it('test 3 and 4: a namespace file with --cert spreads; without --cert it is refused (exit 1, says a certificate is needed)', async () => {
    // as the VM test computes it: the last 32 DER bytes of identity.pub, base64url unpadded
    const pem = readFileSync(p('alpha.identity.pub'), 'utf8')
    const der = Buffer.from(pem.split('\n').filter(l => l !== '' && !l.startsWith('-----')).join(''), 'base64')
    const nsName = `test_ns/${der.subarray(der.length - 32).toString('base64url')}`
    writeFileSync(p('ns_file'), 'namespace_data')
    const up = await cli(['file', 'update', p('ns_file'), '--name', nsName, '--url', url(0), '--key', p('alpha.identity.key'),
      '--network-id', p('network.pub'), '--cert', p('alpha.identity.cert')])
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    await waitFor(() => nodes.every((_, i) => existsSync(delivered(i, nsName)) && readFileSync(delivered(i, nsName), 'utf8') === 'namespace_data'), 'the namespace file on every node', [], 60_000)

    writeFileSync(p('ns_nocert'), 'no_cert')
    const bare = await cli(['file', 'update', p('ns_nocert'), '--name', nsName, '--url', url(0), '--key', p('alpha.identity.key'), '--network-id', p('network.pub')])
    expect(bare.code).toBe(1)
    expect(bare.stderr).toMatch(/needs a certificate of this network.*PERMISSION_DENIED/)
    // a certificate for another key (beta's) does not do either
    const wrong = await cli(['file', 'update', p('ns_nocert'), '--name', nsName, '--url', url(0), '--key', p('alpha.identity.key'), '--network-id', p('network.pub'), '--cert', p('beta.identity.cert')])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/different key/)
    for (const i of [0, 1, 2]) expect(readFileSync(delivered(i, nsName), 'utf8')).toBe('namespace_data')
  })

  it('without --network-id, file update is refused (the daemon does not choose the network); DATA_MESHER_NETWORK_ID names it; a record for another network is refused', async () => {
    writeFileSync(p('test_file'), 'bound by default')
    const bare = await cli(['file', 'update', p('test_file'), '--url', url(2), '--key-path', p('admin.key')], { env: { DATA_MESHER_NETWORK_ID: '' } })
    expect(bare.code).toBe(1)
    expect(bare.stderr).toMatch(/pass --network-id/)
    const up = await cli(['file', 'update', p('test_file'), '--url', url(2), '--key-path', p('admin.key')], { env: { DATA_MESHER_NETWORK_ID: p('network.pub') } })
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    await waitFor(() => nodes.every((_, i) => existsSync(delivered(i, 'test_file')) && readFileSync(delivered(i, 'test_file'), 'utf8') === 'bound by default'), 'spread', [], 60_000)

    await ok(['generate', 'network', '--public-key-path', p('other.pub'), '--private-key-path', p('other.key')])
    writeFileSync(p('test_file'), 'for another network')
    const foreign = await cli(['file', 'update', p('test_file'), '--network-id', p('other.pub'), '--url', url(0), '--key', p('admin.key')])
    expect(foreign.code).toBe(1)
    expect(foreign.stderr).toMatch(/bound to network .* this node is in network .*PERMISSION_DENIED/)
    // offline signing needs the network id explicitly: without it the record is unbound and refused
    await ok(['file', 'sign', p('test_file'), '--name', 'test_file', '--key', p('admin.key'), '--output', p('unbound.rec')])
    const unbound = await cli(['file', 'submit', p('unbound.rec'), p('test_file'), '--url', url(0)])
    expect(unbound.code).toBe(1)
    expect(unbound.stderr).toMatch(/not bound to a network/)
    expect(readFileSync(delivered(0, 'test_file'), 'utf8')).toBe('bound by default')
  })
})

describe('a stranger daemon', () => {
  it('with a certificate of another network: refused by the members, learns nothing', async () => {
    await ok(['generate', 'network', '--public-key-path', p('rogue-net.pub'), '--private-key-path', p('rogue-net.key')])
    await ok(['generate', 'identity-key', '--public-key-path', p('rogue.pub'), '--private-key-path', p('rogue.key')])
    await ok(['certificate', 'sign', '--name', 'rogue', '--network-key', p('rogue-net.key'), '--identity-key', p('rogue.pub'), '--output', p('rogue.cert')])
    const before = (await nodes[0].client.getStatus()).counters['certificates.refused_inbound'] ?? 0
    const stranger = await startNode({
      files: { test_file: [adminPub] },
      namespaces: ['test_ns'],
      // it trusts the real network too, so only the members' refusal keeps it out
      cluster: { interfaces: ['lo'], bootstrap_nodes: [`127.0.0.1:${nodes[0].port}`], identity_key: p('rogue.key'), identity_cert: p('rogue.cert'), certificate_authorities: [p('network.pub')] },
      extra: `[network]\nid = ${JSON.stringify(p('rogue-net.pub'))}\n`
    })
    try {
      await waitFor(async () => ((await nodes[0].client.getStatus()).counters['certificates.refused_inbound'] ?? 0) > before, 'alpha refused the stranger', [], 30_000)
      const s = await stranger.client.getStatus()
      expect(s.peers).toEqual([])
      expect(s.files).toEqual([])
      for (const n of nodes) expect((await n.client.getStatus()).peers.map(x => x.peerId)).not.toContain(s.nodeId)
    } finally { await stranger.stop() }
  })
})

describe('a node without a network (the seed\'s flow)', () => {
  it('takes unbound records and refuses bound ones', async () => {
    const plain = await startNode({ files: { motd: [adminPub] } })
    try {
      writeFileSync(p('motd'), 'unbound')
      const up = await cli(['file', 'update', p('motd'), '--url', plain.url, '--key-path', p('admin.key')])
      expect(up.stderr).toBe('')
      expect(up.code).toBe(0)
      expect(readFileSync(join(plain.stateDir, 'files', 'motd'), 'utf8')).toBe('unbound')
      const bound = await cli(['file', 'update', p('motd'), '--url', plain.url, '--key-path', p('admin.key'), '--network-id', p('network.pub')])
      expect(bound.code).toBe(1)
      expect(bound.stderr).toMatch(/this node has no network/)
    } finally { await plain.stop() }
  })
})
