// The gRPC message types in src/proto/generated are generated from the .proto by
// `npm run gen:proto`; the server and the client are typed with them. These tests fail when
// the committed files are not what the generator makes from the .proto now (someone edited
// the contract and did not regenerate, or edited a generated file), and when the generator
// flags and the loader options used at run time (src/proto/loader-options.ts) disagree —
// then the types would describe objects the runtime does not produce.
import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { LOADER_OPTIONS } from '../../src/proto/loader-options.ts'
import { packageDefinition } from '../../src/proto/service.ts'
import { packageRoot } from '../../src/package-root.ts'
import type { MethodDefinition } from '@grpc/proto-loader'

const root = packageRoot()
const COMMITTED = join(root, 'src', 'proto', 'generated')

/** `npm run gen:proto`, split into the generator's arguments (it has no quoting). */
function genArgs (): string[] {
  const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['gen:proto']
  const [bin, ...args] = script.split(/\s+/)
  expect(bin).toBe('proto-loader-gen-types')
  return args
}

function filesUnder (dir: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const path = join(e.parentPath, e.name)
    out.set(relative(dir, path), readFileSync(path, 'utf8'))
  }
  return out
}

describe('gRPC types generated from the .proto', () => {
  it('the committed src/proto/generated is what `npm run gen:proto` makes from the .proto now', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'dm-proto-gen-'))
    try {
      const args = genArgs().map(a => a.startsWith('--outDir=') ? `--outDir=${tmp}` : a)
      expect(args).toContain(`--outDir=${tmp}`)
      execFileSync(join(root, 'node_modules', '.bin', 'proto-loader-gen-types'), args, { cwd: root, stdio: 'pipe' })
      const fresh = filesUnder(tmp)
      const committed = filesUnder(COMMITTED)
      expect(fresh.size).toBeGreaterThan(0)
      const differing = [...new Set([...fresh.keys(), ...committed.keys()])].filter(f => fresh.get(f) !== committed.get(f)).sort()
      expect(differing, `src/proto/generated differs from the .proto in ${differing.join(', ')}: run npm run gen:proto and commit`).toEqual([])
    } finally { rmSync(tmp, { recursive: true, force: true }) }
  })

  it('the generator flags say what the runtime loader options do', () => {
    const args = genArgs()
    const value = (flag: string): string | undefined => args.find(a => a.startsWith(`--${flag}=`))?.slice(flag.length + 3)
    const fromFlags = {
      keepCase: args.includes('--keepCase'),
      longs: value('longs'),
      enums: value('enums'),
      defaults: args.includes('--defaults'),
      oneofs: args.includes('--oneofs')
    }
    expect(fromFlags).toEqual({
      keepCase: LOADER_OPTIONS.keepCase,
      longs: LOADER_OPTIONS.longs.name, // Number → "Number"
      enums: LOADER_OPTIONS.enums.name,
      defaults: LOADER_OPTIONS.defaults,
      oneofs: LOADER_OPTIONS.oneofs
    })
  })

  it('the runtime decodes messages into the shapes the generated types promise', () => {
    const service = packageDefinition['datamesher.v1.DataMesher'] as unknown as Record<string, MethodDefinition<object, object>>
    const roundTrip = (method: string, res: object): unknown =>
      service[method].responseDeserialize(service[method].responseSerialize(res))
    // camelCase names, uint64 as number, enum as its name, absent message as null, defaults filled in
    expect(roundTrip('UpdateFile', { outcome: 'HELD', heldUntil: 1_700_000_000_123 })).toEqual({ outcome: 'HELD', heldUntil: 1_700_000_000_123, version: null })
    const status = roundTrip('GetStatus', { nodeId: 'n', counters: { 'sync.rounds': 3 }, certificateNotAfter: 5, peers: [{ peerId: 'p', latencyMs: 1.5 }] }) as Record<string, unknown>
    expect(status).toMatchObject({ nodeId: 'n', counters: { 'sync.rounds': 3 }, certificateNotAfter: 5, networkId: '', held: [], peers: [{ peerId: 'p', address: '', since: 0, latencyMs: 1.5 }] })
    const files = roundTrip('ListFiles', { files: [{ name: 'a', size: 2, sha256: Buffer.from([1]) }] }) as { files: Array<Record<string, unknown>> }
    expect(files.files[0]).toEqual({ name: 'a', timestamp: 0, expires: 0, tombstone: false, size: 2, sha256: Buffer.from([1]), signer: Buffer.alloc(0), signature: Buffer.alloc(0), delivered: false, path: '', record: Buffer.alloc(0) })
  })
})
