// Issue 19 item 5: the signer chooses the network, never the server. Before, `file update`
// and `file delete` without --network-id bound the record to whatever network id the
// daemon at --url reported: a process squatting the loopback port (here: a real node of
// another network B, which is what "valid in network B" needs) got an admin's upload meant
// for network A signed for B, and B took it. Now the id comes from --network-id or
// DATA_MESHER_NETWORK_ID; learnt only from the server, it is refused with what to pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateSigningKey, signingKeyToPem } from '../../src/crypto/keys.ts'
import { cli, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { makeIdentity, makeNetwork, type NetworkFiles } from './helpers.ts'

const work = tempDir('dm-netid-signer-')
const p = (n: string): string => join(work.dir, n)
let nodeB: RunningNode
let netA: NetworkFiles
let netB: NetworkFiles
const env = { DATA_MESHER_NETWORK_ID: '' } // as if unset (the variable may be set where the tests run)

beforeAll(async () => {
  netA = makeNetwork(work.dir, 'netA')
  netB = makeNetwork(work.dir, 'netB')
  const admin = generateSigningKey()
  writeFileSync(p('admin.key'), signingKeyToPem(admin), { mode: 0o600 })
  writeFileSync(p('motd'), 'meant for network A')
  const id = makeIdentity(work.dir, 'squatter', netB.key)
  // the same admin key is trusted for motd in B: the record would be valid there
  nodeB = await startNode({
    files: { motd: [Buffer.from(admin.publicKey).toString('base64')] },
    cluster: { identity_key: id.keyPath, identity_cert: id.certPath, certificate_authorities: [] },
    extra: `[network]\nid = ${JSON.stringify(netB.pubPath)}\n`
  })
}, 60_000)
afterAll(async () => { await nodeB?.stop(); work.cleanup() })

describe('the signer chooses the network (issue 19 item 5)', () => {
  it('file update without a network id of its own is refused, says what to pass, and nothing reaches the server', async () => {
    const r = await cli(['file', 'update', p('motd'), '--url', nodeB.url, '--key-path', p('admin.key')], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`reports network id ${netB.id}`)
    expect(r.stderr).toMatch(/pass --network-id .*DATA_MESHER_NETWORK_ID/)
    expect(await nodeB.client.listFiles()).toEqual([])
  })

  it('file delete likewise', async () => {
    const r = await cli(['file', 'delete', 'motd', '--url', nodeB.url, '--key-path', p('admin.key')], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/pass --network-id/)
    expect(await nodeB.client.listFiles()).toEqual([])
  })

  it('the network the signer names is the one signed for: A\'s record is refused by B', async () => {
    const r = await cli(['file', 'update', p('motd'), '--url', nodeB.url, '--key-path', p('admin.key'), '--network-id', netA.pubPath], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/bound to network .* this node is in network .*PERMISSION_DENIED/)
    // from the environment (what the NixOS module sets on a node), as a key file or base64
    for (const value of [netA.pubPath, netA.id]) {
      const e = await cli(['file', 'update', p('motd'), '--url', nodeB.url, '--key-path', p('admin.key')], { env: { DATA_MESHER_NETWORK_ID: value } })
      expect(e.code).toBe(1)
      expect(e.stderr).toMatch(/bound to network .* this node is in network .*PERMISSION_DENIED/)
    }
    expect(await nodeB.client.listFiles()).toEqual([])
    // and B's own id, given by the signer, is taken
    const ok = await cli(['file', 'update', p('motd'), '--url', nodeB.url, '--key-path', p('admin.key')], { env: { DATA_MESHER_NETWORK_ID: netB.pubPath } })
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
    expect((await nodeB.client.listFiles()).map(v => v.name)).toEqual(['motd'])
  })

  it('a bad DATA_MESHER_NETWORK_ID is named in the error', async () => {
    const r = await cli(['file', 'update', p('motd'), '--url', nodeB.url, '--key-path', p('admin.key')], { env: { DATA_MESHER_NETWORK_ID: p('nope.pub') } })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/DATA_MESHER_NETWORK_ID: .*nope\.pub/)
  })
})
