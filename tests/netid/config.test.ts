// Config keys of the network identity: [network] id, cluster.identity_cert,
// cluster.certificate_authorities — shapes (parseConfig) and files (loadNetworkIdentity).
import { afterAll, describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseConfig } from '../../src/config/config.ts'
import { loadNetworkIdentity } from '../../src/config/network.ts'
import { tempDir } from '../helpers/fs.ts'
import { DAY, makeIdentity, makeNetwork } from './helpers.ts'

const work = tempDir('dm-netid-config-')
afterAll(() => work.cleanup())

const config = (net: string, cert: string, cas: string[] = []): ReturnType<typeof parseConfig> =>
  parseConfig(`[network]\nid = ${JSON.stringify(net)}\n[cluster]\nidentity_cert = ${JSON.stringify(cert)}\ncertificate_authorities = ${JSON.stringify(cas)}\n`)

describe('network identity config', () => {
  it('refuses incomplete or malformed keys, naming them', () => {
    expect(() => parseConfig('[network]\nid = "/etc/net.pub"\n')).toThrow(/cluster\.identity_cert: is required when network\.id is set/)
    expect(() => parseConfig('[cluster]\nidentity_cert = "/etc/node.cert"\n')).toThrow(/network\.id: is required/)
    expect(() => parseConfig('[cluster]\ncertificate_authorities = ["AAAA"]\n')).toThrow(/network\.id: is required/)
    expect(() => parseConfig('[network]\nid = ""\n')).toThrow(/network\.id: must be a public key file path or a base64 key/)
    expect(() => parseConfig('[network]\nid = 3\n')).toThrow(/network\.id: must be a string/)
    expect(() => parseConfig('[network]\nidd = "x"\n')).toThrow(/network\.idd: unknown key/)
    expect(() => parseConfig('[network]\nid = "x"\n[cluster]\nidentity_cert = "/c"\ncertificate_authorities = "x"\n')).toThrow(/cluster\.certificate_authorities: must be a list of strings/)
    const ok = config('/etc/net.pub', 'node.cert', ['/etc/old.pub'])
    expect(ok.network).toEqual({ id: '/etc/net.pub' })
    expect(ok.cluster.identityCert).toBe(join(process.cwd(), 'node.cert'))
    expect(ok.cluster.certificateAuthorities).toEqual(['/etc/old.pub'])
    expect(parseConfig('').network).toBeUndefined()
  })

  it('accepts its own certificate from network.id (path or base64) or from a certificate authority', async () => {
    const net = makeNetwork(work.dir, 'n1')
    const old = makeNetwork(work.dir, 'old')
    const a = makeIdentity(work.dir, 'a', net.key)
    const b = makeIdentity(work.dir, 'b', old.key)
    const viaPath = await loadNetworkIdentity(config(net.pubPath, a.certPath), a.key.publicKey)
    expect(Buffer.from(viaPath!.id).toString('base64')).toBe(net.id)
    expect(viaPath!.certificate.name).toBe('a')
    expect((await loadNetworkIdentity(config(net.id, a.certPath), a.key.publicKey))!.trusted).toHaveLength(1)
    const rotated = await loadNetworkIdentity(config(net.pubPath, b.certPath, [old.pubPath]), b.key.publicKey)
    expect(rotated!.trusted.map(k => Buffer.from(k).toString('base64'))).toEqual([net.id, old.id])
  })

  it('refuses a certificate for another key or of another network, and unreadable files, naming the key', async () => {
    const net = makeNetwork(work.dir, 'n2')
    const other = makeNetwork(work.dir, 'other')
    const a = makeIdentity(work.dir, 'a2', net.key)
    const b = makeIdentity(work.dir, 'b2', other.key)
    await expect(loadNetworkIdentity(config(net.pubPath, a.certPath), b.key.publicKey)).rejects.toThrow(/cluster\.identity_cert: .* certifies key .* but this node's identity key is/)
    await expect(loadNetworkIdentity(config(net.pubPath, b.certPath), b.key.publicKey)).rejects.toThrow(/cluster\.identity_cert: .* is signed by network .* neither network\.id/)
    await expect(loadNetworkIdentity(config(join(work.dir, 'missing.pub'), a.certPath), a.key.publicKey)).rejects.toThrow(/network\.id: .*missing\.pub.* ENOENT/)
    await expect(loadNetworkIdentity(config(net.pubPath, a.certPath, [a.certPath]), a.key.publicKey)).rejects.toThrow(/cluster\.certificate_authorities\[0\]: .*not a PEM public key/)
    await expect(loadNetworkIdentity(config(net.pubPath, join(work.dir, 'none.cert')), a.key.publicKey)).rejects.toThrow(/cluster\.identity_cert: .*none\.cert: ENOENT/)
    writeFileSync(join(work.dir, 'bad.cert'), 'hello')
    await expect(loadNetworkIdentity(config(net.pubPath, join(work.dir, 'bad.cert')), a.key.publicKey)).rejects.toThrow(/cluster\.identity_cert: .*bad prefix/)
    // an expired certificate does not stop the daemon (its local API keeps serving); peers refuse it
    const old = makeIdentity(work.dir, 'c2', net.key, { validity: DAY, notBefore: Date.now() - 2 * DAY })
    expect((await loadNetworkIdentity(config(net.pubPath, old.certPath), old.key.publicKey))!.certificate.notAfter).toBeLessThan(Date.now())
  })
})
