// Fuzzing the gRPC API of a real daemon: random bytes as request messages of every method,
// and random records/content in well-formed UpdateFile requests. Properties: the daemon
// never crashes, every refusal carries a readable message, nothing stored changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as grpc from '@grpc/grpc-js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { encodeRecord, signRecord } from '../../src/crypto/record.ts'
import { startNode, type RunningNode } from '../helpers/daemon.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
const SEED = Number(process.env.FUZZ_SEED ?? 20261121)
const alice = generateSigningKey()
const METHODS = ['UpdateFile', 'DeleteFile', 'GetFile', 'ListFiles', 'GetStatus']
let node: RunningNode
let raw: grpc.Client
let before: string

beforeAll(async () => {
  node = await startNode({ files: { motd: [encodeBase64Key(alice.publicKey)] } })
  await node.client.publish(alice, 'motd', Buffer.from('stored'))
  before = JSON.stringify(await node.client.listFiles())
  raw = new grpc.Client(node.url, grpc.credentials.createInsecure())
})
afterAll(async () => { raw?.close(); await node?.stop() })

function call (method: string, body: Buffer): Promise<grpc.ServiceError | null> {
  return new Promise(resolve => {
    raw.makeUnaryRequest(`/datamesher.v1.DataMesher/${method}`, (b: Buffer) => b, (b: Buffer) => b, body,
      { deadline: Date.now() + 10_000 }, err => resolve(err))
  })
}

/** protobuf encoding of UpdateFileRequest { bytes record = 1; bytes content = 2; } */
function updateRequest (record: Uint8Array, content: Uint8Array): Buffer {
  const field = (tag: number, b: Uint8Array): Buffer => Buffer.concat([Buffer.from([tag]), varint(b.length), Buffer.from(b)])
  return Buffer.concat([field(0x0a, record), field(0x12, content)])
}
function varint (n: number): Buffer {
  const out: number[] = []
  do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7 } while (n > 0)
  return Buffer.from(out)
}

describe('fuzz: gRPC API', () => {
  it('random bytes as any request: an error or an answer, never a crash', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...METHODS), fc.uint8Array({ maxLength: 512 }), async (method, bytes) => {
      const err = await call(method, Buffer.from(bytes))
      if (err !== null) {
        expect(err.code).not.toBe(grpc.status.UNAVAILABLE) // the daemon is still there
        expect(err.details.length).toBeGreaterThan(0)
      }
    }), { seed: SEED, numRuns: RUNS })
  })

  it('random and mutated records in UpdateFile are refused with a reason, and change nothing', async () => {
    const valid = encodeRecord(signRecord(alice, { name: 'motd', content: Buffer.from('x'), timestamp: 1 }))
    const records = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, x]) => { const b = Uint8Array.from(valid); b[at] ^= x; return b })
    )
    await fc.assert(fc.asyncProperty(records, fc.uint8Array({ maxLength: 64 }), async (record, content) => {
      const err = await call('UpdateFile', updateRequest(record, content))
      expect(err).not.toBeNull()
      expect([grpc.status.INVALID_ARGUMENT, grpc.status.PERMISSION_DENIED, grpc.status.FAILED_PRECONDITION, grpc.status.RESOURCE_EXHAUSTED]).toContain(err!.code)
      expect(err!.details).toMatch(/[a-z]{3,}/)
    }), { seed: SEED, numRuns: RUNS })
    expect(JSON.stringify(await node.client.listFiles())).toBe(before)
    expect(readFileSync(join(node.stateDir, 'files', 'motd'), 'utf8')).toBe('stored')
    expect(node.proc.exitCode).toBeNull()
  })
})
