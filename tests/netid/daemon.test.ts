// A real daemon with a network identity: it refuses to start with a certificate that is
// not its own or not of its network, and shows (and warns about) its certificate's end.
import { afterAll, describe, expect, it } from 'vitest'
import { cli, freePort, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { DAY, makeIdentity, makeNetwork } from './helpers.ts'

const work = tempDir('dm-netid-daemon-')
const running: RunningNode[] = []
afterAll(async () => { await Promise.allSettled(running.map(async n => await n.stop())); work.cleanup() })

function netConfig (networkId: string, id: { keyPath: string, certPath: string }, cas: string[] = []): { cluster: Record<string, unknown>, extra: string } {
  return {
    cluster: { identity_key: id.keyPath, identity_cert: id.certPath, certificate_authorities: cas },
    extra: `[network]\nid = ${JSON.stringify(networkId)}\n`
  }
}

describe('daemon with a network identity', () => {
  it('shows its network and certificate expiry in status, and warns from 14 days before', async () => {
    const net = makeNetwork(work.dir, 'net')
    const id = makeIdentity(work.dir, 'alpha', net.key, { validity: 10 * DAY })
    const node = await startNode(netConfig(net.pubPath, id))
    running.push(node)
    const s = await node.client.getStatus()
    expect(s.networkId).toBe(net.id)
    expect(s.certificateName).toBe('alpha')
    expect(s.certificateNotAfter).toBe(id.cert!.notAfter)
    const text = await cli(['status', '--url', node.url])
    expect(text.stdout).toContain(`network  ${net.id}`)
    expect(text.stdout).toMatch(/certificate "alpha" expires \S+ \(in (9|10) days\)/)
    const json = JSON.parse((await cli(['status', '--url', node.url, '--json'])).stdout)
    expect(json.certificateNotAfter).toBe(id.cert!.notAfter)
    const warn = node.output().split('\n').filter(l => l.includes('certificate expires soon'))
    expect(warn).toHaveLength(1)
    expect(JSON.parse(warn[0])).toMatchObject({ level: 40, notAfter: new Date(id.cert!.notAfter).toISOString() })
  })

  it('does not warn about a certificate valid for 90 days; a node without a network shows none', async () => {
    const net = makeNetwork(work.dir, 'net90')
    const id = makeIdentity(work.dir, 'beta', net.key)
    const node = await startNode(netConfig(net.id, id)) // network.id as base64 this time
    running.push(node)
    expect((await node.client.getStatus()).networkId).toBe(net.id)
    expect(node.output()).not.toContain('certificate expires soon')
    const plain = await startNode({})
    running.push(plain)
    const s = await plain.client.getStatus()
    expect(s.networkId).toBe('')
    expect(s.certificateNotAfter).toBe(0)
  })

  it('refuses to start with a certificate for another key or of another network', async () => {
    const net = makeNetwork(work.dir, 'net3')
    const other = makeNetwork(work.dir, 'other3')
    const a = makeIdentity(work.dir, 'a3', net.key)
    const b = makeIdentity(work.dir, 'b3', net.key)
    const foreign = makeIdentity(work.dir, 'f3', other.key)
    await expect(startNode(netConfig(net.pubPath, { keyPath: a.keyPath, certPath: b.certPath }))).rejects.toThrow(/cluster\.identity_cert: .*certifies key/)
    await expect(startNode(netConfig(net.pubPath, foreign))).rejects.toThrow(/cluster\.identity_cert: .*neither network\.id/)
    // with the other network as a certificate authority, the same certificate is accepted
    const rotated = await startNode(netConfig(net.pubPath, foreign, [other.pubPath]))
    running.push(rotated)
    expect((await rotated.client.getStatus()).networkId).toBe(net.id)
  })
})

describe('the API on loopback', () => {
  it('listening on 127.0.0.1 also listens on [::1] (clan-core calls --url http://[::1]:7331)', async () => {
    const port = await freePort()
    const node = await startNode({ listen: `127.0.0.1:${port}` })
    running.push(node)
    for (const url of [`http://127.0.0.1:${port}`, `http://[::1]:${port}`, `[::1]:${port}`]) {
      const r = await cli(['status', '--json', '--url', url])
      expect(r.stderr, url).toBe('')
      expect(JSON.parse(r.stdout).nodeId).toBe((await node.client.getStatus()).nodeId)
    }
    expect((await node.client.getStatus()).addresses).toContain(`grpc://[::1]:${port}`)
  })
})
