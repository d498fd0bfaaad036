// F4: the loopback TCP listener serves signed writes, metadata and status, never file
// content (it cannot tell which local user asks); the unix socket, guarded by its mode,
// does. "localhost" listens on 127.0.0.1 and [::1], the two spellings clan's CLI uses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { status as GrpcStatus } from '@grpc/grpc-js'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect, ClientError } from '../../src/client/client.ts'
import { encodeBase64Key, generateSigningKey, signingKeyToPem } from '../../src/crypto/keys.ts'
import { cli, freePort, startNode, type RunningNode } from '../helpers/daemon.ts'

const alice = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
let node: RunningNode
let port: number

beforeAll(async () => {
  port = await freePort()
  node = await startNode({ files: { 'secrets/wg.key': [A], motd: [A] }, listen: `localhost:${port}` })
  await node.client.publish(alice, 'secrets/wg.key', Buffer.from('PRIVATE KEY MATERIAL'))
}, 60_000)
afterAll(async () => { await node?.stop() })

describe('the TCP API (F4)', () => {
  it('refuses file content over TCP with PERMISSION_DENIED, naming the unix socket and files/<name>; the socket serves it', async () => {
    const tcp = connect(`http://127.0.0.1:${port}`)
    try {
      const err = await tcp.getFile('secrets/wg.key').then(() => undefined, e => e as ClientError)
      expect(err).toBeInstanceOf(ClientError)
      expect(err?.code).toBe(GrpcStatus.PERMISSION_DENIED)
      expect(err?.message).toMatch(/not served over TCP/)
      expect(err?.message).toContain(`unix://${join(node.dir, 'api.sock')}`)
      expect(err?.message).toContain(join(node.stateDir, 'files', 'secrets', 'wg.key'))
      expect(err?.message).not.toMatch(/PRIVATE/)
    } finally { tcp.close() }
    expect((await node.client.getFile('secrets/wg.key')).content.toString()).toBe('PRIVATE KEY MATERIAL')
  })

  it('the CLI prints no secret over TCP, and exits 1 with the reason', async () => {
    const r = await cli(['file', 'get', 'secrets/wg.key', '--url', `http://[::1]:${port}`])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/not served over TCP.*PERMISSION_DENIED/s)
  })

  it('accepts signed writes and serves metadata and status over 127.0.0.1, [::1] and localhost', async () => {
    for (const [i, url] of [`http://127.0.0.1:${port}`, `http://[::1]:${port}`, `http://localhost:${port}`, `[::1]:${port}`].entries()) {
      const c = connect(url)
      try {
        const res = await c.publish(alice, 'motd', Buffer.from(`v${i}`))
        expect(res.outcome).toBe('ACCEPTED')
        expect((await c.listFiles()).map(f => f.name)).toEqual(['motd', 'secrets/wg.key'])
        const status = await c.getStatus()
        expect(status.addresses).toEqual(expect.arrayContaining([`grpc://127.0.0.1:${port}`, `grpc://[::1]:${port}`]))
        expect((await c.remove(alice, 'motd')).outcome).toBe('ACCEPTED')
      } finally { c.close() }
    }
  })

  it('20 concurrent uploads from one client all succeed: over the cap they wait for a slot, they are not refused', async () => {
    const c = connect(`http://127.0.0.1:${port}`)
    try {
      const t = Date.now()
      const results = await Promise.allSettled(Array.from({ length: 20 }, async (_, i) => await c.publish(alice, 'motd', Buffer.from(`burst ${i}`), { timestamp: t + i })))
      // each one is judged: accepted, or not newer than one that landed before it; none is turned away
      const codes = results.map(r => r.status === 'fulfilled' ? r.value.outcome : GrpcStatus[(r.reason as ClientError).code])
      expect(codes.filter(c => c !== 'ACCEPTED' && c !== 'FAILED_PRECONDITION')).toEqual([])
      expect(codes).toContain('ACCEPTED')
    } finally { c.close() }
  })

  it('clan-core\'s calls work over [::1]: file update and file delete with --url http://[::1]:PORT and http://localhost:PORT', async () => {
    const keyPath = join(node.dir, 'alice.pem')
    writeFileSync(keyPath, signingKeyToPem(alice), { mode: 0o600 })
    const up = await cli(['file', 'update', '-', '--name', 'motd', '--key-path', keyPath, '--url', `http://[::1]:${port}`], { input: 'hello' })
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    const del = await cli(['file', 'delete', 'motd', '--key-path', keyPath, '--url', `http://localhost:${port}`])
    expect(del.code).toBe(0)
  })
})
