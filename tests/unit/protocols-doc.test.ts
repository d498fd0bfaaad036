// docs/PROTOCOLS.md §11 lists the mesh's timings and limits; the code's are in
// DEFAULT_MESH_SETTINGS. In the doc, a number followed by a settings key in backticks —
// "30 s (`peerExchangeInterval`)" — states that key's default: this test reads every
// such pair and checks it against the code, and that every key is listed, so the two
// cannot drift apart.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { DEFAULT_MESH_SETTINGS } from '../../src/mesh/settings.ts'

const UNITS: Record<string, number> = { '': 1, bytes: 1, ms: 1, s: 1000, min: 60_000, h: 3_600_000, KiB: 1024, 'KiB/s': 1024, MiB: 1024 * 1024 }

function section (doc: string): string {
  const start = doc.indexOf('## 11. Intervals and limits at a glance')
  const end = doc.indexOf('\n## ', start + 1)
  expect(start, 'docs/PROTOCOLS.md has its section 11').toBeGreaterThan(0)
  return doc.slice(start, end)
}

/** Every settings key, nested ones as "maxInboundStreams.announce", with its default. */
function flatten (o: object, prefix = ''): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'object' && v !== null) for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv)
    else out.set(`${prefix}${k}`, v as number)
  }
  return out
}

/** The "value unit (`key`)" pairs of the table. */
export function documentedSettings (text: string): Array<{ key: string, value: number, as: string }> {
  const pairs: Array<{ key: string, value: number, as: string }> = []
  const re = /(\d[\d .\u202f\u00a0]*?)\s*(KiB\/s|KiB|MiB|bytes|min|ms|s|h)?\s*\(`([A-Za-z]+(?:\.[A-Za-z]+)?)`\)/g
  for (const m of text.matchAll(re)) {
    const number = Number(m[1].replace(/[ \u202f\u00a0]/g, ''))
    pairs.push({ key: m[3], value: Math.round(number * UNITS[m[2] ?? '']), as: m[0] })
  }
  return pairs
}

const table = section(readFileSync(new URL('../../docs/PROTOCOLS.md', import.meta.url), 'utf8'))
const settings = flatten(DEFAULT_MESH_SETTINGS)

it('every number the protocol doc gives for a setting is that setting\'s default', () => {
  const pairs = documentedSettings(table)
  expect(pairs.length).toBeGreaterThan(50)
  for (const { key, value, as } of pairs) {
    expect(settings.has(key), `"${as}": ${key} is not a key of DEFAULT_MESH_SETTINGS`).toBe(true)
    expect(value, `"${as}" in docs/PROTOCOLS.md, but ${key} is ${settings.get(key)}`).toBe(settings.get(key))
  }
})

it('every setting is in the protocol doc\'s table', () => {
  const listed = new Set(documentedSettings(table).map(p => p.key))
  expect([...settings.keys()].filter(k => !listed.has(k))).toEqual([])
})

it('the parser reads what the doc writes (and would see a drift)', () => {
  expect(documentedSettings('after 1.5 s (`a`), ≤ 65 536 (`b`) records, 64 KiB (`c`), 256 KiB/s (`d`), 5 min (`e`)'))
    .toEqual([
      { key: 'a', value: 1500, as: '1.5 s (`a`)' },
      { key: 'b', value: 65536, as: '65 536 (`b`)' },
      { key: 'c', value: 65536, as: '64 KiB (`c`)' },
      { key: 'd', value: 262144, as: '256 KiB/s (`d`)' },
      { key: 'e', value: 300000, as: '5 min (`e`)' }
    ])
})
