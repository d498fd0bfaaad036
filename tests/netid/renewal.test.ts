// Issue 19 item 1: live renewal. Two real daemons of one network; A's certificate ends
// 20 s after it was issued. While they are connected, A's certificate is replaced on
// disk (write-and-rename, as clan vars and NixOS do): first by an invalid one (for
// another key: refused, the old one kept, the reason logged), then by a renewed one
// (picked up by the file watch, no restart). Past the old end, the connection that was
// up before the renewal is still up on both sides: B learnt the new end from A (a repeat
// of the certificate exchange on the open connection) instead of closing it at the old
// end. Then a SIGHUP with the config pointing at another certificate file takes that one.
// Before: A never read the file again and B closed the connection at the old end.
import { afterAll, describe, expect, it } from 'vitest'
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { certificateToPem, issueCertificate, type Certificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey } from '../../src/crypto/keys.ts'
import { startNode, type NodeOptions, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { waitFor } from '../mesh/helpers.ts'
import { DAY, makeIdentity, makeNetwork } from './helpers.ts'

const work = tempDir('dm-netid-renewal-')
const running: RunningNode[] = []
afterAll(async () => { await Promise.allSettled(running.map(async n => await n.stop())); work.cleanup() })

/** writes `cert` next to `path` and renames it over `path`, as vars / NixOS activation do */
function replace (path: string, cert: Certificate): void {
  writeFileSync(path + '.new', certificateToPem(cert))
  renameSync(path + '.new', path)
}

async function peerSince (n: RunningNode, peerId: string): Promise<number | undefined> {
  return (await n.client.getStatus()).peers.find(p => p.peerId === peerId)?.since
}

const lines = (n: RunningNode, text: string): string[] => n.output().split('\n').filter(l => l.includes(text))

describe('live certificate renewal (issue 19 item 1)', () => {
  it('a certificate ending in 20 s is renewed on disk at ~5 s: no connection drops, the node is still admitted after the old end', async () => {
    const net = makeNetwork(work.dir, 'net')
    const b = makeIdentity(work.dir, 'bravo', net.key)
    const issued = Date.now()
    const a = makeIdentity(work.dir, 'alpha', net.key, { validity: 20_000, notBefore: issued })
    const oldEnd = a.cert!.notAfter
    const cfg = (certPath: string, bootstrap: string[]): NodeOptions => ({
      cluster: { interfaces: ['lo'], bootstrap_nodes: bootstrap, identity_key: a.keyPath, identity_cert: certPath, certificate_authorities: [] },
      extra: `[network]\nid = ${JSON.stringify(net.pubPath)}\n`
    })
    const nodeB = await startNode({
      cluster: { interfaces: ['lo'], identity_key: b.keyPath, identity_cert: b.certPath, certificate_authorities: [] },
      extra: `[network]\nid = ${JSON.stringify(net.pubPath)}\n`
    })
    running.push(nodeB)
    const bootstrap = [`127.0.0.1:${nodeB.port}`]
    const nodeA = await startNode(cfg(a.certPath, bootstrap))
    running.push(nodeA)
    const idA = (await nodeA.client.getStatus()).nodeId
    const idB = (await nodeB.client.getStatus()).nodeId
    await waitFor(async () => (await peerSince(nodeB, idA)) !== undefined && (await peerSince(nodeA, idB)) !== undefined, 'A and B connected', [], 15_000)
    const sinceOnB = await peerSince(nodeB, idA)
    const sinceOnA = await peerSince(nodeA, idB)
    expect(Date.now(), 'the daemons took too long to start for this test').toBeLessThan(oldEnd - 8_000)

    // an invalid replacement (for another key): refused, the running certificate kept
    const stranger = issueCertificate(net.key, { subject: generateSigningKey().publicKey, name: 'alpha', validity: 90 * DAY })
    replace(a.certPath, stranger)
    await waitFor(() => lines(nodeA, 'keeping the running certificate').length > 0, 'the invalid replacement refused', [], 10_000)
    expect(lines(nodeA, 'keeping the running certificate')[0]).toMatch(/certifies key/)
    expect((await nodeA.client.getStatus()).certificateNotAfter).toBe(oldEnd)

    // the renewed one, written and renamed in place: taken without a restart
    const renewed = issueCertificate(net.key, { subject: a.key.publicKey, name: 'alpha', validity: 90 * DAY })
    replace(a.certPath, renewed)
    await waitFor(async () => (await nodeA.client.getStatus()).certificateNotAfter === renewed.notAfter, 'A shows the renewed certificate', [], 10_000)
    expect(Date.now(), 'renewal reached A only after the old end').toBeLessThan(oldEnd)
    expect(lines(nodeA, 'certificate renewed').map(l => JSON.parse(l).why)).toEqual(['file changed']) // the watch, not the 60 s re-read

    // past the old end (with a margin): the same connection, on both sides
    await waitFor(() => Date.now() > oldEnd + 3_000, 'the old certificate\'s end', [], 30_000)
    expect(await peerSince(nodeB, idA)).toBe(sinceOnB)
    expect(await peerSince(nodeA, idB)).toBe(sinceOnA)
    expect((await nodeB.client.getStatus()).counters['certificates.expired'] ?? 0).toBe(0)
    expect(lines(nodeB, 'peer certificate expired')).toEqual([])
    expect(lines(nodeB, 'peer refused')).toEqual([])
    expect(lines(nodeB, 'peer showed a renewed certificate')).toHaveLength(1)

    // SIGHUP with cluster.identity_cert pointing elsewhere (what a changed path in the
    // NixOS config leads to: a reload, not a restart)
    const third = issueCertificate(net.key, { subject: a.key.publicKey, name: 'alpha', validity: 80 * DAY })
    const thirdPath = join(work.dir, 'alpha-2.cert')
    writeFileSync(thirdPath, certificateToPem(third))
    nodeA.writeConfig(cfg(thirdPath, bootstrap))
    nodeA.proc.kill('SIGHUP')
    await waitFor(async () => (await nodeA.client.getStatus()).certificateNotAfter === third.notAfter, 'A shows the certificate of the new path', [], 10_000)
    expect(lines(nodeA, 'takes effect on restart')).toEqual([])
    expect(await peerSince(nodeB, idA)).toBe(sinceOnB)
    expect(readFileSync(a.certPath, 'utf8')).toBe(certificateToPem(renewed))
  })

  it('certificate authorities replaced on disk: a garbage file is refused (kept), a dropped authority disconnects the peers it certified', async () => {
    const net = makeNetwork(work.dir, 'net2')
    const old = makeNetwork(work.dir, 'old2') // the previous network key, still accepted during a rotation
    const other = makeNetwork(work.dir, 'other2')
    const b = makeIdentity(work.dir, 'b2', net.key)
    const a = makeIdentity(work.dir, 'a2', old.key) // still certified by the previous key
    const caOfB = join(work.dir, 'b2-ca.pub')
    writeFileSync(caOfB, readFileSync(old.pubPath))
    const nodeB = await startNode({
      cluster: { interfaces: ['lo'], identity_key: b.keyPath, identity_cert: b.certPath, certificate_authorities: [caOfB] },
      extra: `[network]\nid = ${JSON.stringify(net.pubPath)}\n`
    })
    running.push(nodeB)
    const nodeA = await startNode({
      cluster: { interfaces: ['lo'], bootstrap_nodes: [`127.0.0.1:${nodeB.port}`], identity_key: a.keyPath, identity_cert: a.certPath, certificate_authorities: [old.pubPath] },
      extra: `[network]\nid = ${JSON.stringify(net.pubPath)}\n`
    })
    running.push(nodeA)
    const idA = (await nodeA.client.getStatus()).nodeId
    await waitFor(async () => (await peerSince(nodeB, idA)) !== undefined, 'A admitted by B', [], 15_000)

    // garbage in place of the authority: refused, B keeps accepting A
    writeFileSync(caOfB + '.new', 'not a key')
    renameSync(caOfB + '.new', caOfB)
    await waitFor(() => lines(nodeB, 'keeping the running certificate').length > 0, 'the garbage refused', [], 10_000)
    expect(lines(nodeB, 'keeping the running certificate')[0]).toMatch(/certificate_authorities\[0\]/)
    expect(await peerSince(nodeB, idA)).toBeDefined()

    // the rotation ends: the old key is replaced by another one; A's certificate is no longer accepted
    writeFileSync(caOfB + '.new', readFileSync(other.pubPath))
    renameSync(caOfB + '.new', caOfB)
    await waitFor(() => lines(nodeB, 'peer certificate no longer accepted').length > 0, 'B drops A', [], 10_000)
    await waitFor(async () => (await peerSince(nodeB, idA)) === undefined, 'A disconnected from B', [], 10_000)
    expect(lines(nodeB, 'certificate renewed')).toHaveLength(1)
  })

  it('a secrets manager switching a symbolic link to a new generation (no watch sees it): SIGHUP takes the renewed certificate', async () => {
    const net = makeNetwork(work.dir, 'net3')
    const a = makeIdentity(work.dir, 'a3', net.key)
    // <dir>/secrets -> secrets.d/1, as sops-nix lays out /run/secrets
    for (const g of ['1', '2']) mkdirSync(join(work.dir, 'secrets.d', g), { recursive: true })
    writeFileSync(join(work.dir, 'secrets.d', '1', 'identity.cert'), readFileSync(a.certPath))
    symlinkSync(join(work.dir, 'secrets.d', '1'), join(work.dir, 'secrets'))
    const node = await startNode({
      cluster: { identity_key: a.keyPath, identity_cert: join(work.dir, 'secrets', 'identity.cert'), certificate_authorities: [] },
      extra: `[network]\nid = ${JSON.stringify(net.pubPath)}\n`
    })
    running.push(node)
    expect((await node.client.getStatus()).certificateNotAfter).toBe(a.cert!.notAfter)
    const renewed = issueCertificate(net.key, { subject: a.key.publicKey, name: 'a3', validity: 60 * DAY })
    writeFileSync(join(work.dir, 'secrets.d', '2', 'identity.cert'), certificateToPem(renewed))
    symlinkSync(join(work.dir, 'secrets.d', '2'), join(work.dir, 'secrets.new'))
    renameSync(join(work.dir, 'secrets.new'), join(work.dir, 'secrets'))
    node.proc.kill('SIGHUP')
    await waitFor(async () => (await node.client.getStatus()).certificateNotAfter === renewed.notAfter, 'the renewed certificate after SIGHUP', [], 10_000)
    expect(lines(node, 'certificate renewed').map(l => JSON.parse(l).why)).toEqual(['reload'])
  })
})
