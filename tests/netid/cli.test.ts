// The network-identity commands with clan-core's exact spellings (its data-mesher vars
// generators): generate network, generate identity-key, peer id PUBFILE, certificate sign/show.
import { afterAll, describe, expect, it } from 'vitest'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { cli } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

const work = tempDir('dm-netid-cli-')
afterAll(() => work.cleanup())
const p = (n: string): string => join(work.dir, n)

/** What clan-core's VM test does with identity.pub: the raw key is the last 32 DER bytes. */
function rawOfPem (pem: string): Buffer {
  const der = Buffer.from(pem.split('\n').filter(l => l !== '' && !l.startsWith('-----')).join(''), 'base64')
  return der.subarray(der.length - 32)
}

describe('network identity commands', () => {
  it('generate network, generate identity-key, peer id PUBFILE, certificate sign and show', async () => {
    const net = await cli(['generate', 'network', '--public-key-path', p('network.pub'), '--private-key-path', p('network.key')])
    expect(net.stderr).toBe('')
    expect(net.code).toBe(0)
    expect(statSync(p('network.key')).mode & 0o777).toBe(0o600)
    expect(readFileSync(p('network.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    const netPub = readFileSync(p('network.pub'), 'utf8')
    expect(netPub).toMatch(/^-----BEGIN PUBLIC KEY-----/)
    // openssl reads both files as an Ed25519 key pair
    expect(execFileSync('openssl', ['pkey', '-in', p('network.key'), '-pubout']).toString().replace(/\s/g, '')).toBe(netPub.replace(/\s/g, ''))

    const id = await cli(['generate', 'identity-key', '--public-key-path', p('identity.pub'), '--private-key-path', p('identity.key'), '--json'])
    expect(id.code).toBe(0)
    const { publicKey, peerId } = JSON.parse(id.stdout)
    expect(statSync(p('identity.key')).mode & 0o777).toBe(0o600)
    const idPub = readFileSync(p('identity.pub'), 'utf8')
    expect(rawOfPem(idPub).toString('base64')).toBe(publicKey)

    const pid = await cli(['peer', 'id', p('identity.pub')])
    expect(pid.stderr).toBe('')
    expect(pid.code).toBe(0)
    expect(pid.stdout).toBe(peerId + '\n')
    // the private key file and the base64 form name the same peer
    expect((await cli(['peer', 'id', p('identity.key')])).stdout).toBe(peerId + '\n')
    expect((await cli(['peer', 'id', '--key-path', p('identity.key')])).stdout).toBe(peerId + '\n')
    const bad = await cli(['peer', 'id', p('nope.pub')])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/nope\.pub/)

    const sign = await cli(['certificate', 'sign', '--name', 'data-mesher', '--network-key', p('network.key'), '--identity-key', p('identity.pub'),
      '--output', p('identity.cert'), '--validity', '2160h'])
    expect(sign.stderr).toBe('')
    expect(sign.code).toBe(0)
    expect(readFileSync(p('identity.cert'), 'utf8')).toMatch(/^-----BEGIN DATA-MESHER CERTIFICATE-----/)

    const show = await cli(['certificate', 'show', p('identity.cert'), '--json'])
    expect(show.code).toBe(0)
    const j = JSON.parse(show.stdout)
    expect(j).toMatchObject({ name: 'data-mesher', subjectKey: publicKey, peerId, networkId: rawOfPem(netPub).toString('base64') })
    const days = (Date.parse(j.notAfter) - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(89.9)
    expect(days).toBeLessThanOrEqual(90)
    const text = await cli(['certificate', 'show', p('identity.cert')])
    for (const label of ['subject key', 'peer id', 'network id', 'name', 'not before', 'not after']) expect(text.stdout).toContain(label)

    // openssl alone verifies what the CLI issued
    expect(execFileSync('bash', ['docs/examples/verify-certificate-with-openssl.sh', p('identity.cert'), p('network.pub'), p('identity.pub')]).toString()).toBe('certificate OK\n')

    // renewing in place overwrites the certificate
    const renew = await cli(['certificate', 'sign', '--name', 'data-mesher', '--network-key', p('network.key'), '--identity-key', p('identity.pub'),
      '--output', p('identity.cert'), '--validity', '24h'])
    expect(renew.code).toBe(0)
    expect(Date.parse(JSON.parse((await cli(['certificate', 'show', p('identity.cert'), '--json'])).stdout).notAfter) - Date.now()).toBeLessThanOrEqual(86_400_000)

        // bad input: a clear reason, exit 1 or 2, nothing written
    const noKey = await cli(['certificate', 'sign', '--name', 'x', '--network-key', p('missing.key'), '--identity-key', p('identity.pub'), '--output', p('x.cert')])
    expect(noKey.code).toBe(1)
    expect(noKey.stderr).toMatch(/missing\.key/)
    const badValidity = await cli(['certificate', 'sign', '--name', 'x', '--network-key', p('network.key'), '--identity-key', p('identity.pub'), '--output', p('x.cert'), '--validity', 'soon'])
    expect(badValidity.code).toBe(2)
    const notCert = await cli(['certificate', 'show', p('identity.pub')])
    expect(notCert.code).toBe(1)
    expect(notCert.stderr).toMatch(/DATA-MESHER CERTIFICATE/)
  })
})
