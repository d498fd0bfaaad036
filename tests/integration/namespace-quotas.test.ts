// Issue 19 item 4, the API path: namespace files have quotas — per namespace a count of
// names (one per key: a name is exactly "<ns>/<base64url(key)>") and of bytes, per key a
// count of bytes over all namespaces. A real daemon, uploads over its socket and over
// loopback TCP (the door any local user has, without a network). Over quota is
// RESOURCE_EXHAUSTED with a message naming the quota; nothing stored is lost; an owner
// may always replace its own file (the net change is counted).
import { status as GrpcStatus } from '@grpc/grpc-js'
import { afterEach, describe, expect, it } from 'vitest'
import { connect, ClientError, type DataMesherClient } from '../../src/client/client.ts'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { freePort, startNode, type NodeOptions, type RunningNode } from '../helpers/daemon.ts'

const MiB = 1024 * 1024
let node: RunningNode | undefined
let tcpClient: DataMesherClient | undefined
afterEach(async () => {
  tcpClient?.close(); tcpClient = undefined
  await node?.stop(); node = undefined
})

const nameOf = (ns: string, k: SigningKey): string => `${ns}/${base64url(k.publicKey)}`
const fill = (n: number, byte = 0x61): Buffer => Buffer.alloc(n, byte)

/** The upload's outcome, or the gRPC status name and message it was refused with. */
async function upload (client: DataMesherClient, k: SigningKey, name: string, content: Uint8Array, o: { timestamp?: number } = {}): Promise<string> {
  try { return (await client.publish(k, name, content, o)).outcome } catch (err) {
    if (err instanceof ClientError) return `${GrpcStatus[err.code]}: ${err.message}`
    throw err
  }
}

async function remove (client: DataMesherClient, k: SigningKey, name: string): Promise<string> {
  try { return (await client.remove(k, name)).outcome } catch (err) {
    if (err instanceof ClientError) return `${GrpcStatus[err.code]}: ${err.message}`
    throw err
  }
}

async function namesIn (client: DataMesherClient, ns: string): Promise<string[]> {
  return (await client.listFiles()).map(f => f.name).filter(n => n.startsWith(`${ns}/`)).sort()
}

async function start (o: NodeOptions & { limits?: string } = {}): Promise<RunningNode> {
  const port = await freePort()
  node = await startNode({ ...o, listen: `127.0.0.1:${port}`, extra: o.limits === undefined ? '' : `[limits]\n${o.limits}` })
  tcpClient = connect(`127.0.0.1:${port}`)
  await tcpClient.waitForReady(10_000)
  return node
}

describe('namespace quotas at the API', () => {
  it('with the defaults, a local user flooding one namespace over loopback TCP with fresh keys fills at most namespace_max_bytes (64 MiB)', async () => {
    await start({ namespaces: ['machines'] })
    const outcomes: string[] = []
    // 9 MiB each (under max_file_size): 7 fit in 64 MiB, the 8th would make 72 MiB
    for (let i = 0; i < 9; i++) {
      const k = generateSigningKey()
      outcomes.push(await upload(tcpClient!, k, nameOf('machines', k), fill(9 * MiB, 0x30 + i)))
    }
    console.log(`  [quotas] 9 × 9 MiB from fresh keys over TCP: ${outcomes.map(o => o.split(':')[0]).join(', ')}`)
    expect(outcomes.slice(0, 7)).toEqual(Array(7).fill('ACCEPTED'))
    for (const o of outcomes.slice(7)) {
      expect(o).toMatch(/^RESOURCE_EXHAUSTED: .*namespace "machines" would hold 75497472 bytes, its quota \(limits\.namespace_max_bytes\) is 67108864/)
    }
    expect(await namesIn(node!.client, 'machines')).toHaveLength(7)
  })

  it('with the defaults, one key holds at most key_max_bytes (16 MiB) over all namespaces', async () => {
    await start({ namespaces: ['machines', 'hosts'] })
    const k = generateSigningKey()
    expect(await upload(node!.client, k, nameOf('machines', k), fill(9 * MiB))).toBe('ACCEPTED')
    const second = await upload(node!.client, k, nameOf('hosts', k), fill(9 * MiB))
    expect(second).toMatch(/^RESOURCE_EXHAUSTED: .*key .* would hold 18874368 bytes, its quota \(limits\.key_max_bytes\) is 16777216/)
    // another key is not held back by it
    const other = generateSigningKey()
    expect(await upload(node!.client, other, nameOf('hosts', other), fill(9 * MiB))).toBe('ACCEPTED')
  })

  it('counts names per namespace; a flood of fresh keys fills exactly the quota; the owners keep, replace and delete their files at quota', async () => {
    await start({ namespaces: ['machines', 'other'], limits: 'namespace_max_names = 3\nnamespace_max_bytes = 3000\nkey_max_bytes = 1500' })
    const owners = [generateSigningKey(), generateSigningKey(), generateSigningKey()]
    for (const k of owners) expect(await upload(node!.client, k, nameOf('machines', k), fill(500))).toBe('ACCEPTED')

    // the flood: 30 fresh keys over loopback TCP, small files (one after the other: the
    // API's own limit on uploads at once is not what this is about)
    const flood: string[] = []
    for (let i = 0; i < 30; i++) {
      const k = generateSigningKey()
      flood.push(await upload(tcpClient!, k, nameOf('machines', k), fill(10)))
    }
    expect(flood.filter(o => o !== 'ACCEPTED')).toHaveLength(30)
    expect(flood[0]).toMatch(/^RESOURCE_EXHAUSTED: .*namespace "machines" holds 3 names, its quota \(limits\.namespace_max_names\) is 3/)
    // another namespace has its own count
    const elsewhere = generateSigningKey()
    expect(await upload(tcpClient!, elsewhere, nameOf('other', elsewhere), fill(10))).toBe('ACCEPTED')

    // at quota: an owner replaces its file by a larger one (net +1000: 2500 of 3000 bytes)
    const [a, b, c] = owners
    expect(await upload(node!.client, a, nameOf('machines', a), fill(1500, 0x62))).toBe('ACCEPTED')
    // more than the namespace's bytes: 2500 + 1000 > 3000
    expect(await upload(node!.client, b, nameOf('machines', b), fill(1500, 0x62))).toMatch(/^RESOURCE_EXHAUSTED: .*limits\.namespace_max_bytes/)
    // more than the key's bytes (1500), whatever the namespace holds
    expect(await upload(node!.client, a, nameOf('machines', a), fill(1501, 0x63))).toMatch(/^RESOURCE_EXHAUSTED: .*limits\.key_max_bytes/)
    // nothing stored was lost by the refusals
    expect((await node!.client.getFile(nameOf('machines', a))).content).toEqual(fill(1500, 0x62))
    expect((await node!.client.getFile(nameOf('machines', b))).content).toEqual(fill(500))
    // a smaller version and a deletion shrink the count of bytes; the deleted name keeps its place (its tombstone)
    expect(await upload(node!.client, a, nameOf('machines', a), fill(100, 0x64))).toBe('ACCEPTED')
    expect(await remove(node!.client, c, nameOf('machines', c))).toBe('ACCEPTED')
    expect(await upload(node!.client, b, nameOf('machines', b), fill(1500, 0x65))).toBe('ACCEPTED')
    const late = generateSigningKey()
    expect(await upload(tcpClient!, late, nameOf('machines', late), fill(10))).toMatch(/^RESOURCE_EXHAUSTED: .*limits\.namespace_max_names/)
    expect(await namesIn(node!.client, 'machines')).toEqual(owners.map(k => nameOf('machines', k)).sort())
  })

  it('a quota lowered by a reload below what is stored loses nothing; an owner may still shrink its file, not grow it', async () => {
    const files = { namespaces: ['machines'] }
    await start({ ...files, limits: 'namespace_max_names = 3\nnamespace_max_bytes = 3000' })
    const owners = [generateSigningKey(), generateSigningKey(), generateSigningKey()]
    for (const k of owners) expect(await upload(node!.client, k, nameOf('machines', k), fill(900))).toBe('ACCEPTED')
    node!.writeConfig({ ...files, extra: '[limits]\nnamespace_max_names = 1\nnamespace_max_bytes = 1000' })
    const before = node!.output().split('configuration reloaded').length
    node!.proc.kill('SIGHUP')
    const deadline = Date.now() + 10_000
    while (node!.output().split('configuration reloaded').length === before) {
      if (Date.now() > deadline) throw new Error('the reload was not logged')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    expect(await namesIn(node!.client, 'machines')).toHaveLength(3)
    for (const k of owners) expect((await node!.client.getFile(nameOf('machines', k))).content).toEqual(fill(900))
    const [a, b] = owners
    expect(await upload(node!.client, a, nameOf('machines', a), fill(901))).toMatch(/^RESOURCE_EXHAUSTED: .*limits\.namespace_max_bytes/)
    expect(await upload(node!.client, b, nameOf('machines', b), fill(800))).toBe('ACCEPTED')
    // the same size again: no growth
    expect(await upload(node!.client, b, nameOf('machines', b), fill(800, 0x7a))).toBe('ACCEPTED')
  })
})
