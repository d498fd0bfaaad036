// F11: every name the config accepts can be stored, recovered and delivered; a name (or a
// pair of names) the store's layout cannot hold is refused at config load, naming the key.
import { afterEach, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, parseConfig, policyOf } from '../../src/config/config.ts'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { signRecord } from '../../src/crypto/record.ts'
import { Replica } from '../../src/store/replica.ts'
import { quietLog, tempDir } from '../helpers/fs.ts'

const alice = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
const KEY = base64url(alice.publicKey) // alice's namespace names end in this
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

function config (files: string[], namespaces: string[] = []): string {
  return [`namespaces = ${JSON.stringify(namespaces)}`, '[files]', ...files.map(f => `${JSON.stringify(f)} = ["${A}"]`)].join('\n')
}

/** The names that go in [files]: all but alice's own names in the namespaces (those need no listing). */
const listed = (names: string[], namespaces: string[]): string[] => names.filter(n => !namespaces.some(ns => n === `${ns}/${KEY}`))

/** Stores a version of every name, restarts, and checks each is delivered and an older replay ignored. */
async function roundTrip (names: string[], namespaces: string[]): Promise<void> {
  const c = parseConfig(config(listed(names, namespaces), namespaces))
  const { dir, cleanup } = tempDir()
  cleanups.push(cleanup)
  const t = Date.now()
  let r = await Replica.open(dir, policyOf(c), quietLog)
  try {
    for (const name of names) {
      await r.submit(signRecord(alice, { name, content: text('old ' + name), timestamp: t - 1 }), text('old ' + name), 'test')
      expect(await r.submit(signRecord(alice, { name, content: text(name), timestamp: t }), text(name), 'test'), name).toMatchObject({ outcome: 'accepted' })
    }
  } finally { await r.close() }
  r = await Replica.open(dir, policyOf(c), quietLog)
  try {
    for (const name of names) {
      expect(r.get(name)?.timestamp, `${name} after restart`).toBe(t)
      expect(readFileSync(join(dir, 'files', ...name.split('/')), 'utf8'), name).toBe(name)
      expect(await r.submit(signRecord(alice, { name, content: text('old ' + name), timestamp: t - 1 }), text('old ' + name), 'test'), name).toMatchObject({ outcome: 'ignored' })
    }
  } finally { await r.close() }
}

// Sets of names that a config may list together; each must be refused at load or work for real.
const CASES: Array<{ what: string, files: string[], namespaces?: string[] }> = [
  { what: 'a segment with the store\'s temp prefix', files: ['.dm-tmp-zone'] },
  { what: 'a folder with the store\'s temp prefix', files: ['a/.dm-tmp-b/c'] },
  { what: 'a 253-byte last segment', files: ['z'.repeat(253)] },
  { what: 'a 252-byte last segment', files: ['z'.repeat(252)] },
  { what: 'a 251-byte last segment', files: ['z'.repeat(251)] },
  { what: 'a 251-byte segment under a folder', files: ['d/' + 'z'.repeat(251)] },
  { what: '"x" and "x.rec/y"', files: ['x', 'x.rec/y'] },
  { what: '"x.rec/y" alone', files: ['x.rec/y'] },
  { what: 'names near the reserved ones', files: ['.dm-tmpzone', 'dm-tmp-zone', '...', 'a.rec', 'b/.rec'] },
  { what: '"x" and "x/y"', files: ['x', 'x/y'] },
  { what: 'a name in a namespace', files: [`hosts/${KEY}`], namespaces: ['hosts'] },
  { what: 'a namespace and a file inside one of its names', files: [`hosts/${KEY}/facts`], namespaces: ['hosts'] },
  { what: 'a namespace and a file inside one of its record paths', files: [`hosts/${KEY}.rec/facts`], namespaces: ['hosts'] },
  { what: 'a namespace "x.rec" and a file "x"', files: ['x', `x.rec/${KEY}`], namespaces: ['x.rec'] },
  { what: 'a namespace and a file beside it', files: ['hosts.rec', 'hosts/readme'], namespaces: ['hosts'] },
  { what: 'a namespace with the temp prefix', files: [`.dm-tmp-ns/${KEY}`], namespaces: ['.dm-tmp-ns'] },
  { what: 'a namespace too long for its names', files: [], namespaces: ['n'.repeat(212)] },
  { what: 'the longest namespace', files: [`${'n'.repeat(211)}/${KEY}`], namespaces: ['n'.repeat(211)] }
]

describe('names the disk can hold (F11)', () => {
  it.each(CASES)('$what: refused at config load with the key\'s name, or stored, recovered and delivered', async ({ files, namespaces = [] }) => {
    let refused: unknown
    try { parseConfig(config(listed(files, namespaces), namespaces)) } catch (err) { refused = err }
    if (refused !== undefined) {
      expect(refused).toBeInstanceOf(ConfigError)
      expect((refused as Error).message).toMatch(/^config: (files\."[^"]+"|namespaces(\[\d+\])?): /)
      return
    }
    await roundTrip(files, namespaces)
  })

  it.each([
    [config(['.dm-tmp-zone']), /files\."\.dm-tmp-zone": name segment "\.dm-tmp-zone" starts with "\.dm-tmp-", which the store reserves/],
    [config(['a/.dm-tmp-b/c']), /files\."a\/\.dm-tmp-b\/c": name segment "\.dm-tmp-b" starts with/],
    [config(['z'.repeat(252)]), /files\."z+": the last name segment is 252 bytes, the limit is 251 \(the store adds "\.rec" to it\)/],
    [config(['x', 'x.rec/y']), /files\."x\.rec\/y": needs "x\.rec" as a folder, where the store keeps the record of "x"/],
    [config(['x', 'x/y']), /files\."x": "x" is a file name and a folder of "x\/y"/],
    [config([`hosts/${KEY}`], ['hosts']), /files\."hosts\/[^"]+": is also a name of namespace "hosts"/],
    [config([`hosts/${KEY}/facts`], ['hosts']), /files\."hosts\/[^"]+\/facts": needs "hosts\/[^"]+" as a folder, but that is a file name in namespace "hosts"/],
    [config([`hosts/${KEY}.rec/facts`], ['hosts']), /files\."hosts\/[^"]+\.rec\/facts": needs "hosts\/[^"]+\.rec" as a folder, where the store keeps the record of "hosts\//],
    [config(['x'], ['x.rec']), /namespaces\[0\]: needs "x\.rec" as a folder, where the store keeps the record of "x"/],
    [config([], ['ok', '.dm-tmp-ns']), /namespaces\[1\]: name segment "\.dm-tmp-ns" starts with/],
    [config([], ['n'.repeat(212)]), /namespaces\[0\]: is 212 bytes: its names \("n+\/<43-character key>"\) would be longer than 255 bytes/]
  ])('refuses at config load, naming the key and the reason (case %#)', (text, message) => {
    expect(() => parseConfig(text)).toThrow(message)
  })
})
