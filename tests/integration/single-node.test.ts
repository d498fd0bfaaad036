// One real daemon process, driven through the CLI and the client library.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, statSync, writeFileSync, existsSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js'
import { encodeRecord, signRecord } from '../../src/crypto/record.ts'
import { encodeBase64Key, generateSigningKey, signingKeyToPem } from '../../src/crypto/keys.ts'
import { ClientError } from '../../src/client/client.ts'
import { packageVersion } from '../../src/package-root.ts'
import { cli, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

const alice = generateSigningKey()
const mallory = generateSigningKey()
const work = tempDir('dm-cli-')
const aliceKey = join(work.dir, 'alice.pem')
const malloryKey = join(work.dir, 'mallory.pem')
writeFileSync(aliceKey, signingKeyToPem(alice), { mode: 0o600 })
writeFileSync(malloryKey, signingKeyToPem(mallory), { mode: 0o600 })
const A = encodeBase64Key(alice.publicKey)
let node: RunningNode

beforeAll(async () => {
  node = await startNode({ files: { motd: [A], 'dns/zone': [A], big: [A] } })
})
afterAll(async () => { await node?.stop(); work.cleanup() })

const file = (name: string, content: string | Buffer): string => {
  const p = join(work.dir, name)
  writeFileSync(p, content)
  return p
}

describe('single node through the CLI', () => {
  it('uploads, delivers under files/, and reads back', async () => {
    const r = await cli(['file', 'update', file('motd.txt', 'hello fleet\n'), '--name', 'motd', '--key-path', aliceKey, '--url', node.url])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^accepted: motd/)
    const delivered = join(node.stateDir, 'files', 'motd')
    expect(readFileSync(delivered, 'utf8')).toBe('hello fleet\n')
    expect(statSync(delivered).mode & 0o777).toBe(0o640)
    expect((await cli(['file', 'get', 'motd', '--url', node.url])).stdout).toBe('hello fleet\n')
    const list = JSON.parse((await cli(['file', 'list', '--json', '--url', node.url])).stdout)
    expect(list).toEqual([expect.objectContaining({ name: 'motd', size: 12, delivered: true, signer: A })])
    const status = JSON.parse((await cli(['status', '--json', '--url', node.url])).stdout)
    expect(status.nodeId).toMatch(/^12D3KooW/)
    expect(status.files.map((f: { name: string }) => f.name)).toEqual(['motd'])
    expect(status.counters['offers.accepted']).toBe(0) // the mesh's counters: nothing came from a peer
    expect(Object.keys(status.counters)).toContain('announce.full_sent')
    const viaEnv = await cli(['file', 'list'], { env: { DATA_MESHER_URL: node.url } })
    expect(viaEnv.stdout).toMatch(/^motd/)
  })

  it('takes content from stdin and the name from the file by default', async () => {
    const r = await cli(['file', 'update', '-', '--name', 'dns/zone', '--key-path', aliceKey, '--url', node.url], { input: 'zone data' })
    expect(r.code).toBe(0)
    expect(readFileSync(join(node.stateDir, 'files', 'dns', 'zone'), 'utf8')).toBe('zone data')
    const byBase = await cli(['file', 'update', file('motd', 'by base name'), '--key-path', aliceKey, '--url', node.url])
    expect(byBase.code).toBe(0)
    expect(readFileSync(join(node.stateDir, 'files', 'motd'), 'utf8')).toBe('by base name')
  })

  it('streams changes with file watch, including deletions', async () => {
    const watch = spawn(process.execPath, ['dist/src/cli/bin.js', 'file', 'watch', 'dns/zone', '--json', '--url', node.url])
    let buf = ''
    const lines: Array<Record<string, unknown>> = []
    const seen = new Promise<void>(resolve => {
      watch.stdout.on('data', d => {
        buf += String(d)
        let i
        while ((i = buf.indexOf('\n')) >= 0) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1) }
        if (lines.some(l => l.kind === 'DELETED')) resolve()
      })
    })
    // the CLI says "watching" on stderr once the daemon has registered the watch
    await new Promise(resolve => watch.stderr.once('data', resolve))
    const registered = await node.client.watchFiles({ names: ['dns/zone'] })
    expect((await cli(['file', 'update', '-', '--name', 'dns/zone', '--key-path', aliceKey, '--url', node.url], { input: 'v2' })).code).toBe(0)
    await registered.next(e => e.kind === 'UPDATED')
    expect((await cli(['file', 'delete', 'dns/zone', '--key-path', aliceKey, '--url', node.url])).code).toBe(0)
    await seen
    registered.cancel()
    watch.kill('SIGINT')
    expect(lines.map(l => l.kind)).toEqual(['UPDATED', 'DELETED'])
    expect(existsSync(join(node.stateDir, 'files', 'dns', 'zone'))).toBe(false)
  })

  it('signs offline and submits later', async () => {
    const rec = join(work.dir, 'motd.rec')
    const content = file('offline.txt', 'signed offline')
    expect((await cli(['file', 'sign', content, '--name', 'motd', '--key-path', aliceKey, '--output', rec])).code).toBe(0)
    const r = await cli(['file', 'submit', rec, content, '--url', node.url, '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).outcome).toBe('ACCEPTED')
    // submitting the same record again is a no-op, replaying it later is refused as not newer
    expect((await cli(['file', 'submit', rec, content, '--url', node.url])).stdout).toMatch(/unchanged/)
    expect((await cli(['file', 'update', file('x', 'newer'), '--name', 'motd', '--key-path', aliceKey, '--url', node.url])).code).toBe(0)
    const replay = await cli(['file', 'submit', rec, content, '--url', node.url])
    expect(replay.code).toBe(1)
    expect(replay.stderr).toMatch(/not newer.*FAILED_PRECONDITION/)
    expect(readFileSync(join(node.stateDir, 'files', 'motd'), 'utf8')).toBe('newer')
  })

  it('accepts exactly 10 MiB and refuses 10 MiB + 1 byte', async () => {
    const ok = await cli(['file', 'update', file('big', Buffer.alloc(10 * 1024 * 1024, 7)), '--key-path', aliceKey, '--url', node.url])
    expect(ok.stderr).toBe('')
    expect(statSync(join(node.stateDir, 'files', 'big')).size).toBe(10 * 1024 * 1024)
    const get = await cli(['file', 'get', 'big', '--url', node.url])
    expect(get.stdout.length).toBe(10 * 1024 * 1024)
    const tooBig = await cli(['file', 'update', file('big', Buffer.alloc(10 * 1024 * 1024 + 1, 8)), '--key-path', aliceKey, '--url', node.url])
    expect(tooBig.code).toBe(1)
    expect(tooBig.stderr).toMatch(/10485761 bytes, the limit is 10485760.*RESOURCE_EXHAUSTED/)
    expect(statSync(join(node.stateDir, 'files', 'big')).size).toBe(10 * 1024 * 1024)
  })

  it('refuses bad input with a clear reason and the right exit code, changing nothing', async () => {
    const before = readFileSync(join(node.stateDir, 'files', 'motd'), 'utf8')
    const unconfigured = await cli(['file', 'update', file('p', 'x'), '--name', 'etc/passwd', '--key-path', aliceKey, '--url', node.url])
    expect([unconfigured.code, unconfigured.stderr]).toEqual([1, expect.stringMatching(/"etc\/passwd" is not a configured file name.*PERMISSION_DENIED/)])
    const wrongKey = await cli(['file', 'update', file('p', 'x'), '--name', 'motd', '--key-path', malloryKey, '--url', node.url])
    expect([wrongKey.code, wrongKey.stderr]).toEqual([1, expect.stringMatching(/not allowed to sign "motd".*PERMISSION_DENIED/)])
    for (const bad of ['../etc/passwd', '/motd', 'motd/', 'a b', 'x'.repeat(256)]) { // (NUL cannot be in argv: see the API test)
      const r = await cli(['file', 'update', file('p', 'x'), '--name', bad, '--key-path', aliceKey, '--url', node.url])
      expect(r.code, bad).toBe(2)
      expect(r.stderr).toMatch(/invalid name/)
    }
    const noKey = await cli(['file', 'update', file('p', 'x'), '--name', 'motd', '--key-path', join(work.dir, 'missing.pem'), '--url', node.url])
    expect([noKey.code, noKey.stderr]).toEqual([1, expect.stringMatching(/cannot read key file .*missing.pem: ENOENT/)])
    const unreadable = join(work.dir, 'garbage.pem')
    writeFileSync(unreadable, 'garbage')
    const garbageKey = await cli(['file', 'update', file('p', 'x'), '--name', 'motd', '--key-path', unreadable, '--url', node.url])
    expect([garbageKey.code, garbageKey.stderr]).toEqual([1, expect.stringMatching(/not a PKCS#8 PEM key/)])
    const usage = await cli(['file', 'update', '--url', node.url])
    expect(usage.code).toBe(2)
    const unknown = await cli(['file', 'frobnicate'])
    expect(unknown.code).toBe(2)
    const noDaemon = await cli(['file', 'list', '--url', 'unix:///nonexistent/dm.sock'])
    expect([noDaemon.code, noDaemon.stderr]).toEqual([1, expect.stringMatching(/cannot reach the daemon|UNAVAILABLE/)])
    expect(readFileSync(join(node.stateDir, 'files', 'motd'), 'utf8')).toBe(before)
  })

  it('the API refuses forged, tampered, truncated and far-future records with proper status codes', async () => {
    const c = node.client
    const expectCode = async (p: Promise<unknown>, code: GrpcStatus, msg: RegExp): Promise<void> => {
      const err = await p.then(() => undefined, e => e)
      expect(err).toBeInstanceOf(ClientError)
      expect(GrpcStatus[(err as ClientError).code]).toBe(GrpcStatus[code])
      expect((err as Error).message).toMatch(msg)
    }
    const good = signRecord(alice, { name: 'motd', content: Buffer.from('good'), timestamp: Date.now() + 1000 })
    await expectCode(c.updateFile({ ...good, timestamp: good.timestamp + 1 }, Buffer.from('good')), GrpcStatus.INVALID_ARGUMENT, /signature/)
    await expectCode(c.updateFile(good, Buffer.from('evil')), GrpcStatus.INVALID_ARGUMENT, /does not match|bytes/)
    await expectCode(c.updateFile(encodeRecord(good).subarray(0, 50), Buffer.from('good')), GrpcStatus.INVALID_ARGUMENT, /malformed record/)
    await expectCode(c.updateFile(Buffer.from('garbage'), Buffer.from('good')), GrpcStatus.INVALID_ARGUMENT, /malformed record/)
    await expectCode(c.deleteFile(good), GrpcStatus.INVALID_ARGUMENT, /tombstone/)
    await expectCode(c.getFile('nothing'), GrpcStatus.NOT_FOUND, /no version/)
    await expectCode(c.getFile('a\0b'), GrpcStatus.INVALID_ARGUMENT, /characters/)
    await expectCode(c.getFile('../etc/passwd'), GrpcStatus.INVALID_ARGUMENT, /"\.\." segment/)
    const future = signRecord(alice, { name: 'motd', content: Buffer.from('future'), timestamp: Date.now() + 24 * 3600_000 })
    const held = await c.updateFile(future, Buffer.from('future'))
    expect(held.outcome).toBe('HELD')
    expect(readFileSync(join(node.stateDir, 'files', 'motd'), 'utf8')).not.toBe('future')
    expect((await c.getStatus()).held.map(h => h.name)).toEqual(['motd'])
  })

  it('garbage protobuf on the wire gets an error and the daemon keeps serving', async () => {
    const grpc = await import('@grpc/grpc-js')
    const raw = new grpc.Client(node.url, grpc.credentials.createInsecure())
    const err = await new Promise<ServiceError | null>(resolve => {
      raw.makeUnaryRequest('/datamesher.v1.DataMesher/UpdateFile', (b: Buffer) => b, (b: Buffer) => b,
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), (e) => resolve(e))
    })
    raw.close()
    expect(err).not.toBeNull()
    expect(err!.code).not.toBe(GrpcStatus.OK)
    expect((await node.client.listFiles()).length).toBeGreaterThan(0)
  })
})

describe('key generation', () => {
  it('writes a 0600 PEM, prints the public key, and refuses to overwrite', async () => {
    const p = join(work.dir, 'gen.pem')
    const r = await cli(['generate', 'signing-key', '--private-key-path', p, '--public-key-path', p + '.pub'])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    expect(statSync(p).mode & 0o777).toBe(0o600)
    expect(readFileSync(p, 'utf8')).toMatch(/BEGIN PRIVATE KEY/)
    expect(readFileSync(p + '.pub', 'utf8').trim()).toBe(r.stdout.trim())
    const again = await cli(['generate', 'signing-key', '--private-key-path', p])
    expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/exists/)])
    expect((await cli(['generate', 'signing-key'])).code).toBe(2)
    const id = await cli(['generate', 'identity-key', '--private-key-path', join(work.dir, 'id.pem'), '--json'])
    const { peerId, publicKey } = JSON.parse(id.stdout)
    expect(peerId).toMatch(/^12D3KooW/)
    const back = JSON.parse((await cli(['peer', 'id', '--key-path', join(work.dir, 'id.pem'), '--json'])).stdout)
    expect(back).toEqual({ peerId, publicKey })
  })

  it('every command answers --help', async () => {
    for (const c of ['daemon', 'generate signing-key', 'file update', 'file delete', 'file sign', 'file submit', 'file get', 'file list', 'file watch', 'status', 'peer id']) {
      const r = await cli([...c.split(' '), '--help'])
      expect(r.code, c).toBe(0)
      expect(r.stdout).toMatch(/^usage: data-mesher/)
    }
  })

  it('--version prints the package version', async () => {
    const r = await cli(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`data-mesher ${packageVersion()}\n`)
  })
})

describe('the README worked example', () => {
  it('a record made with openssl and perl alone is accepted', async () => {
    const { execFileSync } = await import('node:child_process')
    const pem = join(work.dir, 'openssl.pem')
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', pem])
    const pub = execFileSync('sh', ['-c', `openssl pkey -in ${pem} -pubout -outform DER | tail -c 32 | base64`]).toString().trim()
    const n = await startNode({ files: { 'demo/hello.txt': [pub] } })
    try {
      const content = file('hello.txt', 'hello from openssl\n')
      execFileSync('bash', ['docs/examples/sign-with-openssl.sh', pem, 'demo/hello.txt', content, join(work.dir, 'record.bin')])
      const r = await cli(['file', 'submit', join(work.dir, 'record.bin'), content, '--url', n.url])
      expect(r.stderr).toBe('')
      expect(readFileSync(join(n.stateDir, 'files', 'demo', 'hello.txt'), 'utf8')).toBe('hello from openssl\n')
    } finally { await n.stop() }
  })
})

describe('standard gRPC services', () => {
  it('answers grpc.health.v1 Check with SERVING and lists its services through reflection (so grpcurl works)', async () => {
    const grpc = await import('@grpc/grpc-js')
    const raw = new grpc.Client(node.url, grpc.credentials.createInsecure())
    try {
      const health = await new Promise<Buffer>((resolve, reject) => {
        raw.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e, res) => e !== null ? reject(e) : resolve(res!))
      })
      expect([...health]).toEqual([0x08, 0x01]) // status = SERVING
      // ServerReflectionRequest { list_services = "*" } (field 7)
      const stream = raw.makeBidiStreamRequest('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', (b: Buffer) => b, (b: Buffer) => b)
      const answer = new Promise<string>((resolve, reject) => { stream.once('data', (b: Buffer) => resolve(b.toString('latin1'))); stream.once('error', reject) })
      stream.write(Buffer.from([0x3a, 0x01, 0x2a]))
      stream.end()
      expect(await answer).toContain('datamesher.v1.DataMesher')
    } finally { raw.close() }
  })
})
