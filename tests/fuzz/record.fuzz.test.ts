// Property-based fuzzing of the record decoder and the acceptance rule: a stranger's bytes
// never crash the decoder, never get past the rule, and never change what is stored.
import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodeRecord, encodeRecord, RecordFormatError, signRecord } from '../../src/crypto/record.ts'
import { judge } from '../../src/rule/which-version-wins.ts'
import { Replica } from '../../src/store/replica.ts'
import { keys, policy } from '../helpers/keys.ts'
import { quietLog, tempDir } from '../helpers/fs.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 500)
const SEED = Number(process.env.FUZZ_SEED ?? 20261121)
const [alice] = keys(1)
const P = policy({ motd: [alice] })
const valid = encodeRecord(signRecord(alice, { name: 'motd', content: new Uint8Array([1, 2, 3]), timestamp: 1_700_000_000_000 }))
const dir = tempDir('dm-fuzz-')
afterAll(() => dir.cleanup())

describe('fuzz: record decoder and rule', () => {
  it('arbitrary bytes either decode or fail with a RecordFormatError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), bytes => {
      try { decodeRecord(bytes) } catch (err) { expect(err).toBeInstanceOf(RecordFormatError) }
    }), { seed: SEED, numRuns: RUNS })
  })

  it('any mutation of a valid record is refused (format or signature), never accepted', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
      const bytes = Uint8Array.from(valid)
      bytes[at] ^= xor
      let r
      try { r = decodeRecord(bytes) } catch (err) { expect(err).toBeInstanceOf(RecordFormatError); return }
      const v = judge(r, undefined, P, 1_700_000_000_000, new Uint8Array([1, 2, 3]))
      expect(v.action).toBe('refuse')
    }), { seed: SEED, numRuns: RUNS })
  })

  it('truncations and extensions are format errors', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 40 }), (cut, extra) => {
      expect(() => decodeRecord(valid.subarray(0, cut))).toThrow(RecordFormatError)
      expect(() => decodeRecord(Uint8Array.from([...valid, ...extra]))).toThrow(RecordFormatError)
    }), { seed: SEED, numRuns: Math.min(RUNS, 200) })
  })

  it('invalid submissions never change the stored state', async () => {
    const replica = await Replica.open(dir.dir, P, quietLog)
    const good = signRecord(alice, { name: 'motd', content: new Uint8Array([9]), timestamp: Date.now() })
    expect((await replica.submit(good, new Uint8Array([9]), 'test')).outcome).toBe('accepted')
    const before = encodeRecord(replica.get('motd')!)
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: before.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.uint8Array({ maxLength: 8 }),
      async (at, xor, content) => {
        const bytes = Uint8Array.from(encodeRecord(signRecord(alice, { name: 'motd', content, timestamp: Date.now() + 1 })))
        bytes[at] ^= xor
        let r
        try { r = decodeRecord(bytes) } catch { return }
        const res = await replica.submit(r, content, 'fuzz')
        expect(res.outcome).not.toBe('accepted')
        expect(encodeRecord(replica.get('motd')!)).toEqual(before)
      }), { seed: SEED, numRuns: Math.min(RUNS, 300) })
    await replica.close()
  })
})
