// `data-mesher status` for a person and --json for scripts, on two real daemons of a
// network: peers verified with their certificates' ends, files with version time, signer
// and delivery state, and the versions refused lately with the reason.
import { afterAll, describe, expect, it } from 'vitest'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { signRecord } from '../../src/crypto/record.ts'
import { cli, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { DAY, makeIdentity, makeNetwork } from '../netid/helpers.ts'

const work = tempDir('dm-status-')
const running: RunningNode[] = []
afterAll(async () => { await Promise.allSettled(running.map(async n => await n.stop())); work.cleanup() })

const alice = generateSigningKey()
const mallory = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)

async function waitFor (what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

describe('data-mesher status', () => {
  it('shows peers verified with their certificate end, files with time, signer and state, and refusals with their reason', async () => {
    const net = makeNetwork(work.dir, 'net')
    const ids = [makeIdentity(work.dir, 'alpha', net.key, { validity: 30 * DAY }), makeIdentity(work.dir, 'beta', net.key, { validity: 20 * DAY })]
    const config = (i: number, bootstrap: string[]): Parameters<typeof startNode>[0] => ({
      files: { motd: [A] },
      cluster: { identity_key: ids[i].keyPath, identity_cert: ids[i].certPath, bootstrap_nodes: bootstrap },
      extra: `[network]\nid = ${JSON.stringify(net.pubPath)}\n`
    })
    const a = await startNode(config(0, []))
    running.push(a)
    const b = await startNode(config(1, [`127.0.0.1:${a.port}`]))
    running.push(b)
    await waitFor('a and b verified each other', async () => (await a.client.getStatus()).peers.length === 1 && (await b.client.getStatus()).peers.length === 1)

    const content = new TextEncoder().encode('hello\n')
    const good = signRecord(alice, { name: 'motd', content, network: net.key.publicKey })
    expect((await a.client.updateFile(good, content)).outcome).toBe('ACCEPTED')
    await waitFor('b has motd delivered', async () => (await b.client.getStatus()).files.some(f => f.name === 'motd' && f.delivered))
    // twice refused on b: a version of motd signed by a key that is not motd's
    for (const t of [1, 2]) {
      const bad = signRecord(mallory, { name: 'motd', content, network: net.key.publicKey, timestamp: Date.now() + t })
      await b.client.updateFile(bad, content).catch(() => undefined)
    }

    const text = (await cli(['status', '--url', b.url])).stdout
    const bId = (await b.client.getStatus()).nodeId
    const aId = (await a.client.getStatus()).nodeId
    expect(text).toContain(`node     ${bId}`)
    expect(text).toMatch(/certificate "beta" expires \S+ \(in (19|20) days\)/)
    expect(text).toMatch(/^peers: 1 verified$/m)
    // the peer's line: verified, and when its certificate ("alpha", 30 days) ends
    expect(text).toMatch(new RegExp(`^  ${aId}\\s+verified\\s+/ip4/127\\.0\\.0\\.1/\\S+\\s+since \\S+\\s+\\S+( ms)?\\s+certificate "alpha" ends ${new Date(ids[0].cert!.notAfter).toISOString()} \\(in (29|30) days\\)$`, 'm'))
    // the file: version time, signer (shortened), state and size
    expect(text).toMatch(/^files: 1 \(1 delivered\)$/m)
    expect(text).toMatch(new RegExp(`^  motd\\s+${new Date(good.timestamp).toISOString()} \\(\\d+ s ago\\)\\s+signer ${A.slice(0, 12).replace(/[+/]/g, c => '\\' + c)}…\\s+delivered\\s+6 B$`, 'm'))
    // the refusal: name, code, count, from the API, the signer, the reason in words
    expect(text).toMatch(/^refused lately \(1; the latest per name and reason, newest first\):$/m)
    expect(text).toMatch(new RegExp(`^  motd\\s+not-signer\\s+×2\\s+last \\d+ s ago\\s+from api\\s+signer ${encodeBase64Key(mallory.publicKey).slice(0, 12).replace(/[+/]/g, c => '\\' + c)}…\\s+\\S.*$`, 'm'))

    const json = JSON.parse((await cli(['status', '--json', '--url', b.url])).stdout)
    expect(json.peers).toEqual([expect.objectContaining({ peerId: aId, certificateName: 'alpha', certificateNotAfter: ids[0].cert!.notAfter })])
    expect(json.unverified).toEqual([])
    expect(json.files).toEqual([expect.objectContaining({ name: 'motd', signer: A, delivered: true, timestamp: good.timestamp })])
    expect(json.refused).toEqual([expect.objectContaining({ name: 'motd', code: 'not-signer', count: 2, origin: 'api', signer: encodeBase64Key(mallory.publicKey) })])
    expect(json.refused[0].reason).toMatch(/\S/)
  })

  it('says so when a node has no peer, and lists no refusals when there were none', async () => {
    const n = await startNode({ files: { motd: [A] } })
    running.push(n)
    const text = (await cli(['status', '--url', n.url])).stdout
    expect(text).toMatch(/^peers: 0 verified \(none: this node replicates nothing until it has one\)$/m)
    expect(text).toMatch(/^files: 0 \(0 delivered\)$/m)
    expect(text).not.toContain('refused lately')
    expect(JSON.parse((await cli(['status', '--json', '--url', n.url])).stdout).refused).toEqual([])
  })
})
