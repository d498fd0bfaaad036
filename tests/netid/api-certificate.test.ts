// Review 11-R1: a certificate sent with an API upload is checked before it is kept, and
// written only once the store takes the record. A local user re-submitting a certified
// namespace record (as ListFiles shows it) with a junk certificate must not make the
// stored record point at junk (which the next reload or restart would revoke).
import { afterAll, describe, expect, it } from 'vitest'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { encodeCertificate, issueCertificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord } from '../../src/crypto/record.ts'
import { startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { waitFor } from '../mesh/helpers.ts'
import { DAY, makeIdentity, makeNetwork } from './helpers.ts'

const work = tempDir('dm-netid-apicert-')
let node: RunningNode | undefined
afterAll(async () => { await node?.stop(); work.cleanup() })

const certFiles = (n: RunningNode): Record<string, string> => {
  const dir = join(n.stateDir, 'certificates')
  return Object.fromEntries(readdirSync(dir).filter(f => f.endsWith('.cert')).map(f => [f, readFileSync(join(dir, f)).toString('hex')]))
}

describe('a certificate sent with an API upload (review 11-R1)', () => {
  it('junk sent with a stored namespace record is refused and replaces nothing; the file survives a reload', async () => {
    const net = makeNetwork(work.dir, 'net')
    const id = makeIdentity(work.dir, 'alpha', net.key)
    node = await startNode({
      namespaces: ['test_ns'],
      cluster: { identity_key: id.keyPath, identity_cert: id.certPath, certificate_authorities: [] },
      extra: `[network]\nid = ${JSON.stringify(net.pubPath)}\n`
    })
    const signer = generateSigningKey()
    const name = `test_ns/${base64url(signer.publicKey)}`
    const good = issueCertificate(net.key, { subject: signer.publicKey, name: 'signer', validity: 90 * DAY })
    const record = signRecord(signer, { name, content: Buffer.from('facts'), network: net.key.publicKey })
    expect((await node.client.updateFile(record, Buffer.from('facts'), encodeCertificate(good))).outcome).toBe('ACCEPTED')
    const stored = certFiles(node)
    expect(Object.keys(stored)).toHaveLength(1)
    const before = statSync(join(node.stateDir, 'certificates', Object.keys(stored)[0])).mtimeMs

    // decodable junk: of the network but for another key; for the key but of another
    // network; for the key but ended before the record was signed
    const other = generateSigningKey()
    const junk = [
      issueCertificate(net.key, { subject: other.publicKey, name: 'other', validity: 90 * DAY }),
      issueCertificate(generateSigningKey(), { subject: signer.publicKey, name: 'foreign', validity: 90 * DAY }),
      issueCertificate(net.key, { subject: signer.publicKey, name: 'old', validity: DAY, notBefore: Date.now() - 3 * DAY })
    ]
    for (const cert of junk) {
      await expect(node.client.updateFile(record, Buffer.from('facts'), encodeCertificate(cert))).rejects.toThrow(/certificate sent with .* is not taken/)
    }
    // the good certificate again with the identical record: IDENTICAL, nothing written
    expect((await node.client.updateFile(record, Buffer.from('facts'), encodeCertificate(good))).outcome).toBe('IDENTICAL')
    // an older version with a valid certificate: not newer, nothing written
    const older = signRecord(signer, { name, content: Buffer.from('old'), network: net.key.publicKey, timestamp: record.timestamp - 1000 })
    await expect(node.client.updateFile(older, Buffer.from('old'), encodeCertificate(good))).rejects.toThrow(/not newer/)
    // a configured file sent with a certificate: the certificate is ignored, not kept
    const admin = generateSigningKey()
    node.writeConfig({
      namespaces: ['test_ns'],
      files: { motd: [Buffer.from(admin.publicKey).toString('base64')] },
      cluster: { identity_key: id.keyPath, identity_cert: id.certPath, certificate_authorities: [] },
      extra: `[network]\nid = ${JSON.stringify(net.pubPath)}\n`
    })
    let reloads = node.output().split('configuration reloaded').length
    node.proc.kill('SIGHUP')
    await waitFor(() => node!.output().split('configuration reloaded').length > reloads, 'the reload', [], 30_000)
    const motd = signRecord(admin, { name: 'motd', content: Buffer.from('hi'), network: net.key.publicKey })
    expect((await node.client.updateFile(motd, Buffer.from('hi'), encodeCertificate(good))).outcome).toBe('ACCEPTED')
    expect(certFiles(node)).toEqual(stored)
    expect(statSync(join(node.stateDir, 'certificates', Object.keys(stored)[0])).mtimeMs).toBe(before)

    // a reload judges the stored file again with its stored certificate: still served
    reloads = node.output().split('configuration reloaded').length
    node.proc.kill('SIGHUP')
    await waitFor(() => node!.output().split('configuration reloaded').length > reloads, 'the reload', [], 30_000)
    expect(node.output()).not.toContain('"revoked"')
    expect((await node.client.getFile(name)).content.toString()).toBe('facts')
    expect((await node.client.listFiles()).map(f => f.name)).toContain(name)
  })
})
