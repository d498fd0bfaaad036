// Issue 19 item 3: `data-mesher status` (and a log line) names each configured name that
// has no valid version, and why — a real daemon, a real reload (SIGHUP), the real CLI.
import { afterEach, describe, expect, it } from 'vitest'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { cli, startNode, type NodeOptions, type RunningNode } from '../helpers/daemon.ts'

const k1 = generateSigningKey()
const k2 = generateSigningKey()
const K1 = encodeBase64Key(k1.publicKey)
const K2 = encodeBase64Key(k2.publicKey)
const both: NodeOptions = { files: { motd: [K1, K2], 'never/sent': [K1] } }
const withoutK2: NodeOptions = { files: { motd: [K1], 'never/sent': [K1] } }
let node: RunningNode | undefined
afterEach(async () => { await node?.stop(); node = undefined })

async function until (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

describe('names without a valid version (status, log)', () => {
  it('a revoked name is listed with "revoked: signer no longer allowed" and its floor; one never sent, as such', async () => {
    node = await startNode(both)
    const n = node
    const v1 = await n.client.publish(k2, 'motd', Buffer.from('by K2'), { timestamp: Date.now() - 60_000 })
    const before = (await n.client.getStatus()).missing.map(m => m.name)
    expect(before).toEqual(['never/sent'])

    n.writeConfig(withoutK2)
    n.proc.kill('SIGHUP')
    await until('the revocation', async () => (await n.client.getStatus()).files.length === 0)
    const s = await n.client.getStatus()
    expect(s.missing.map(m => m.name)).toEqual(['motd', 'never/sent'])
    const motd = s.missing.find(m => m.name === 'motd')!
    expect(motd.reason).toMatch(/^revoked: signer no longer allowed/)
    expect(motd.floor).toBe(v1.version.timestamp - 1)
    expect(s.missing.find(m => m.name === 'never/sent')!.reason).toBe('no version received yet')
    await until('the log line', () => /configured name has no valid version/.test(n.output()) && n.output().includes('"name":"motd"'))

    const text = (await cli(['status', '--url', n.url])).stdout
    expect(text).toMatch(/no valid version \(2\):\n {2}motd {2}revoked: signer no longer allowed/)
    const json = JSON.parse((await cli(['status', '--json', '--url', n.url])).stdout)
    expect(json.missing[0]).toMatchObject({ name: 'motd', floor: v1.version.timestamp - 1 })
  })
})
