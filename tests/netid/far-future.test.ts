// Issue 19 item 6: certificate times outside what the tools can represent (past
// 9999-12-31T23:59:59.999Z, the last instant every common date library and RFC 3339
// can write) are refused when signing and when parsing, with a clear error. Before:
// `certificate sign --validity 100000000d` wrote the file and then exited 1 ("Invalid
// time value"); `certificate show` failed the same way; a daemon with it died with that
// message; the API answered INTERNAL.
import { afterAll, describe, expect, it } from 'vitest'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import type { ClientError } from '../../src/client/client.ts'
import {
  CERT_DOMAIN, certificateProblem, decodeCertificate, issueCertificate, parseCertificate, type Certificate
} from '../../src/crypto/certificate.ts'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord } from '../../src/crypto/record.ts'
import { cli, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { DAY, makeIdentity, makeNetwork } from './helpers.ts'

const work = tempDir('dm-netid-farfuture-')
const running: RunningNode[] = []
afterAll(async () => { await Promise.allSettled(running.map(async n => await n.stop())); work.cleanup() })

/** A certificate signed by `network` with any u64 times: built by hand, as a hostile or buggy signer would. */
function handMade (network: SigningKey, subject: Uint8Array, notBefore: bigint, notAfter: bigint, name = 'far'): Uint8Array {
  const n = Buffer.from(name)
  const times = Buffer.alloc(16)
  times.writeBigUInt64BE(notBefore, 0)
  times.writeBigUInt64BE(notAfter, 8)
  const signed = Buffer.concat([CERT_DOMAIN, subject, network.publicKey, times, Buffer.from([n.length]), n])
  return new Uint8Array(Buffer.concat([signed, network.sign(signed)]))
}

function pem (bytes: Uint8Array): string {
  return `-----BEGIN DATA-MESHER CERTIFICATE-----\n${Buffer.from(bytes).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END DATA-MESHER CERTIFICATE-----\n`
}

/** 9999-12-31T23:59:59.999Z: the last instant a certificate may name */
const MAX_CERT_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
const net = generateSigningKey()
const subject = generateSigningKey().publicKey
const now = BigInt(Date.now())
// 8.64e15 ms is the last instant a JavaScript Date holds; 9e15 still fits a safe integer
const farAfter = handMade(net, subject, now, 9_000_000_000_000_000n)
const justPast = handMade(net, subject, now, BigInt(MAX_CERT_TIME) + 1n)
const farBefore = handMade(net, subject, BigInt(MAX_CERT_TIME) + 1n, BigInt(MAX_CERT_TIME) + 2n)

describe('certificate times past 9999-12-31 (issue 19 item 6)', () => {
  it('the library refuses to sign or parse them, naming the field and the limit', () => {
    expect(new Date(MAX_CERT_TIME).toISOString()).toBe('9999-12-31T23:59:59.999Z')
    expect(() => issueCertificate(net, { subject, name: 'x', validity: 100_000_000 * DAY })).toThrow(/not_after .* later than 9999-12-31T23:59:59\.999Z/)
    expect(() => issueCertificate(net, { subject, name: 'x', validity: DAY, notBefore: MAX_CERT_TIME + 1 })).toThrow(/not_before .* later than 9999-12-31/)
    for (const bytes of [farAfter, justPast, farBefore]) {
      expect(() => decodeCertificate(bytes)).toThrow(/later than 9999-12-31T23:59:59\.999Z/)
      expect(() => parseCertificate(Buffer.from(pem(bytes)))).toThrow(/later than 9999-12-31/)
    }
    // the last representable instant is still a certificate
    const last = decodeCertificate(handMade(net, subject, now, BigInt(MAX_CERT_TIME)))
    expect(last.notAfter).toBe(MAX_CERT_TIME)
    expect(certificateProblem(last, subject, { networks: [net.publicKey], now: Date.now() })).toBeUndefined()
    // a certificate object with such a time (not parsed) is not valid either
    const forged: Certificate = { ...last, notAfter: 9_000_000_000_000_000 }
    expect(certificateProblem(forged, subject, { networks: [net.publicKey], now: Date.now() })).toMatch(/later than 9999-12-31/)
  })

  it('`certificate sign --validity 100000000d` exits 2 (usage) with the reason and writes nothing', async () => {
    const n = makeNetwork(work.dir, 'signnet')
    const id = makeIdentity(work.dir, 'signee')
    const output = join(work.dir, 'far.cert')
    const r = await cli(['certificate', 'sign', '--name', 'far', '--network-key', n.keyPath, '--identity-key', id.pubPath, '--output', output, '--validity', '100000000d'])
    expect(r.stdout).toBe('')
    expect(r.stderr).not.toMatch(/Invalid time value/)
    expect(r.stderr).toMatch(/--validity .* ends .* later than 9999-12-31T23:59:59\.999Z/)
    expect(r.code).toBe(2) // a usage error: the command line asked for it
    expect(existsSync(output)).toBe(false)
    // the longest validity that still fits is signed
    const ok = await cli(['certificate', 'sign', '--name', 'far', '--network-key', n.keyPath, '--identity-key', id.pubPath, '--output', output, '--validity', '2000000d'])
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
  })

  it('`certificate show` refuses a certificate file with such a time, naming the file and the field', async () => {
    const path = join(work.dir, 'hand.cert')
    writeFileSync(path, pem(farAfter))
    const r = await cli(['certificate', 'show', path, '--json'])
    expect(r.stderr).not.toMatch(/Invalid time value/)
    expect(r.stderr).toMatch(/hand\.cert: not_after .* later than 9999-12-31/)
    expect(r.code).toBe(1)
  })

  it('a daemon refuses to start with it, naming cluster.identity_cert; the API refuses one with PERMISSION_DENIED', async () => {
    const n = makeNetwork(work.dir, 'daemonnet')
    const id = makeIdentity(work.dir, 'node')
    const farPath = join(work.dir, 'node-far.cert')
    writeFileSync(farPath, pem(handMade(n.key, id.key.publicKey, now, 9_000_000_000_000_000n, 'node')))
    const cfg = (certPath: string): { cluster: Record<string, unknown>, extra: string, namespaces: string[] } => ({
      namespaces: ['test_ns'],
      cluster: { identity_key: id.keyPath, identity_cert: certPath, certificate_authorities: [] },
      extra: `[network]\nid = ${JSON.stringify(n.pubPath)}\n`
    })
    await expect(startNode(cfg(farPath))).rejects.toThrow(/cluster\.identity_cert: .*node-far\.cert: not_after .* later than 9999-12-31/)

    const good = makeIdentity(work.dir, 'node', n.key, { key: id.key })
    const node = await startNode(cfg(good.certPath))
    running.push(node)
    const signer = generateSigningKey()
    const name = `test_ns/${base64url(signer.publicKey)}`
    const record = signRecord(signer, { name, content: Buffer.from('x'), network: n.key.publicKey })
    const err = await node.client.updateFile(record, Buffer.from('x'), handMade(n.key, signer.publicKey, now, 9_000_000_000_000_000n)).then(() => undefined, (e: unknown) => e as ClientError)
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED)
    expect(err?.message).toMatch(/not_after .* later than 9999-12-31/)
  })
})
