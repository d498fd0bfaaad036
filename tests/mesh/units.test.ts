// The mesh's small pieces on their own: identity files, addresses, framing, admission.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Config } from '../../src/config/config.js'
import { encodeBase64Key, generateSigningKey, signingKeyToPem } from '../../src/crypto/keys.js'
import { identityFromKey, loadIdentity, loadOrCreateIdentity, readIdentity } from '../../src/mesh/identity.js'
import { listenAddresses, parseBootstrap } from '../../src/mesh/addresses.js'
import { Admission, allowedPeerIds } from '../../src/mesh/admission.js'
import { encodeVarint, frame } from '../../src/mesh/wire.js'
import { decodePeers } from '../../src/mesh/peer-exchange.js'
import { missingFrom } from '../../src/mesh/sync.js'
import { signRecord, type SignedRecord } from '../../src/crypto/record.js'

const dirs: string[] = []
async function tmp (): Promise<string> { const d = await mkdtemp(join(tmpdir(), 'dm-mesh-unit-')); dirs.push(d); return d }
afterAll(async () => { await Promise.all(dirs.map(async d => await rm(d, { recursive: true, force: true }))) })

const configFor = (stateDir: string, identityKey?: string): Config => ({ stateDir, cluster: { identityKey } }) as unknown as Config

describe('identity', () => {
  it('is created once, mode 0600, in the state dir, and read back the same', async () => {
    const dir = await tmp()
    const state = join(dir, 'state')
    await expect(readIdentity(configFor(state))).rejects.toThrow(/cannot read identity key .*ENOENT/) // the CLI never creates it
    const a = await loadIdentity(configFor(state))
    expect(a.path).toBe(join(state, 'identity.key'))
    expect((await stat(a.path)).mode & 0o777).toBe(0o600)
    expect(await readFile(a.path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    const b = await readIdentity(configFor(state))
    expect(b.peerId.toString()).toBe(a.peerId.toString())
    expect(b.publicKey).toBe(a.publicKey)
    // the peer id embeds the public key that allowed_nodes takes
    expect(encodeBase64Key(peerIdFromString(a.peerId.toString()).publicKey!.raw)).toBe(a.publicKey)
  })

  it('accepts a given key as PKCS#8 PEM or a base64 seed, and never creates a missing given key', async () => {
    const dir = await tmp()
    const key = generateSigningKey()
    const pem = join(dir, 'id.pem'); await writeFile(pem, signingKeyToPem(key))
    const seed = join(dir, 'id.b64'); await writeFile(seed, Buffer.from(key.seed).toString('base64') + '\n')
    const expected = identityFromKey(key).peerId.toString()
    expect((await loadIdentity(configFor(dir, pem))).peerId.toString()).toBe(expected)
    expect((await loadOrCreateIdentity(seed)).peerId.toString()).toBe(expected)
    await expect(loadIdentity(configFor(dir, join(dir, 'missing.key')))).rejects.toThrow(/ENOENT/)
    const bad = join(dir, 'bad'); await writeFile(bad, 'not a key')
    await expect(loadOrCreateIdentity(bad)).rejects.toThrow(/identity key .*bad/)
  })
})

describe('addresses', () => {
  it('turns bootstrap entries into multiaddrs for the enabled transports', () => {
    const both = parseBootstrap('10.0.0.1:7946', ['quic', 'tcp']).addrs.map(String)
    expect(both.sort()).toEqual(['/ip4/10.0.0.1/tcp/7946', '/ip4/10.0.0.1/udp/7946/quic-v1'])
    expect(parseBootstrap('[fd00::1]:7946', ['tcp']).addrs.map(String)).toEqual(['/ip6/fd00::1/tcp/7946'])
    expect(parseBootstrap('node1.example:7946', ['quic']).addrs.map(String)).toEqual(['/dns/node1.example/udp/7946/quic-v1'])
    const id = identityFromKey(generateSigningKey()).peerId.toString()
    const full = parseBootstrap(`/ip4/10.0.0.1/tcp/7946/p2p/${id}`, ['tcp'])
    expect(full.peerId).toBe(id)
    expect(parseBootstrap('/dns4/a.example/udp/1/quic-v1', ['quic']).peerId).toBeUndefined()
    expect(() => parseBootstrap('/ip4/10.0.0.1', ['tcp'])).toThrow(/needs \/tcp/)
    expect(() => parseBootstrap('nope', ['tcp'])).toThrow(/not "host:port"/)
  })

  it('listens on every address of the named interfaces, or on the wildcards', () => {
    expect(listenAddresses([], 7946, ['quic', 'tcp']).sort()).toEqual([
      '/ip4/0.0.0.0/tcp/7946', '/ip4/0.0.0.0/udp/7946/quic-v1', '/ip6/::/tcp/7946', '/ip6/::/udp/7946/quic-v1'
    ])
    const lo = listenAddresses(['lo'], 1234, ['tcp'])
    expect(lo).toContain('/ip4/127.0.0.1/tcp/1234')
    expect(() => listenAddresses(['no-such-if0'], 1, ['tcp'])).toThrow(/cluster.interfaces: no network interface "no-such-if0"/)
  })
})

describe('admission', () => {
  it('admits listed keys and peer ids only, and refuses a penalized peer until its time is up', () => {
    const a = identityFromKey(generateSigningKey())
    const b = identityFromKey(generateSigningKey())
    const c = identityFromKey(generateSigningKey())
    expect([...allowedPeerIds([a.publicKey, b.peerId.toString()])].sort()).toEqual([a.peerId.toString(), b.peerId.toString()].sort())
    let now = 1000
    const adm = new Admission([a.publicKey, b.peerId.toString()], a.peerId.toString(), () => now)
    expect(adm.admits(b.peerId)).toBe(true)
    expect(adm.admits(c.peerId)).toBe(false)
    const open = new Admission([], a.peerId.toString(), () => now)
    expect(open.admits(c.peerId)).toBe(true)
    open.penalize(c.peerId, 500)
    expect(open.admits(c.peerId)).toBe(false)
    expect(open.gater().denyDialPeer!(c.peerId)).toBe(true)
    now += 501
    expect(open.admits(c.peerId)).toBe(true)
  })
})

describe('framing', () => {
  it('varint lengths', () => {
    expect([...encodeVarint(0)]).toEqual([0])
    expect([...encodeVarint(127)]).toEqual([127])
    expect([...encodeVarint(300)]).toEqual([0xac, 0x02])
    expect([...frame(Uint8Array.of(7, 8))]).toEqual([2, 7, 8])
  })

  it('a peer list is validated', () => {
    const id = identityFromKey(generateSigningKey()).peerId.toString()
    const ok = Buffer.from(JSON.stringify({ peers: [{ id, addrs: [`/ip4/1.2.3.4/tcp/1/p2p/${id}`] }] }))
    const peers = decodePeers(ok, 32, 8)
    expect(peers[0].peerId.toString()).toBe(id)
    expect(peers[0].addrs.map(String)).toEqual(['/ip4/1.2.3.4/tcp/1'])
    expect(() => decodePeers(Buffer.from('{'), 32, 8)).toThrow(/not JSON/)
    expect(() => decodePeers(Buffer.from(JSON.stringify({ peers: [{ id: 'x', addrs: [] }] })), 32, 8)).toThrow(/bad peer id/)
    expect(() => decodePeers(Buffer.from(JSON.stringify({ peers: new Array(33).fill({ id, addrs: [] }) })), 32, 8)).toThrow(/limit/)
  })
})

describe('sync send-back (issue 11, F1)', () => {
  const key = generateSigningKey()
  const now = Date.now()
  const at = (timestamp: number, text: string): SignedRecord => signRecord(key, { name: 'a.txt', content: new TextEncoder().encode(text), timestamp })
  const v1 = at(now - 2_000, 'v1')
  const v2 = at(now - 1_000, 'v2')
  const scheduled = at(now + 3_600_000, 'later')
  const present = now + 5 * 60_000

  it('a peer holding the same future record still gets my newer current version; an older one is not sent back', () => {
    expect(missingFrom([v2, scheduled], [v1, scheduled], present)).toEqual([v2])
    expect(missingFrom([v1, scheduled], [v2, scheduled], present)).toEqual([])
    expect(missingFrom([v2, scheduled], [v2], present)).toEqual([scheduled])
    expect(missingFrom([v2], [scheduled], present)).toEqual([v2]) // a held record alone is not their current one
    expect(missingFrom([v2, scheduled], [v2, scheduled], present)).toEqual([])
  })
})
