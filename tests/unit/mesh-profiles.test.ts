// The mesh's named profiles (src/mesh/profiles.ts): each is a complete MeshSettings, the
// default is DEFAULT_MESH_SETTINGS, and the others differ from it only in the keys the
// protocol doc's profile paragraph (docs/PROTOCOLS.md §11) names, with the values it gives.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MESH_SETTINGS, type MeshSettings } from '../../src/mesh/settings.ts'
import { MESH_PROFILES, MESH_PROFILE_NAMES, MESH_PROFILE_OVERRIDES, changedSettings, meshSettingsFor } from '../../src/mesh/profiles.ts'

/** Every settings key, nested ones as "maxInboundStreams.announce", with its value. */
function flatten (o: object, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>()
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'object' && v !== null) for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv)
    else out.set(`${prefix}${k}`, v)
  }
  return out
}

const UNITS: Record<string, number> = { ms: 1, s: 1000 }

/** "`key` to 300 ms" pairs of one profile's clause in the doc's profile paragraph. */
function documented (profile: string): Record<string, number> {
  const doc = readFileSync(new URL('../../docs/PROTOCOLS.md', import.meta.url), 'utf8')
  const start = doc.indexOf('**Profiles.**')
  expect(start, 'docs/PROTOCOLS.md §11 has its profile paragraph').toBeGreaterThan(0)
  const paragraph = doc.slice(start, doc.indexOf('\n\n', start)).replace(/\s+/g, ' ')
  // the clause from "`lan` (" up to the next ";" or the end of the sentence
  const from = paragraph.indexOf(`\`${profile}\` (`)
  expect(from, `the profile paragraph has a clause on "${profile}"`).toBeGreaterThan(0)
  const clause = paragraph.slice(from).split(/; |\. /)[0]
  const out: Record<string, number> = {}
  for (const m of clause.matchAll(/`([A-Za-z]+)` to (\d+(?:\.\d+)?) (ms|s)\b/g)) out[m[1]] = Number(m[2]) * UNITS[m[3]]
  return out
}

describe('mesh profiles', () => {
  it('default is DEFAULT_MESH_SETTINGS, unchanged', () => {
    expect(MESH_PROFILES.default).toEqual(DEFAULT_MESH_SETTINGS)
    expect(MESH_PROFILE_OVERRIDES.default).toEqual({})
  })

  /** settings whose 0 turns a trial off (settings.ts says so at each) */
  const ZERO_IS_OFF = new Set(['floodQuickGap'])
  it.each(MESH_PROFILE_NAMES)('%s is a complete MeshSettings of positive numbers (or 0 where 0 turns a trial off)', (name) => {
    const defaults = flatten(DEFAULT_MESH_SETTINGS)
    const profile = flatten(MESH_PROFILES[name])
    expect([...profile.keys()].sort()).toEqual([...defaults.keys()].sort())
    for (const [key, value] of profile) {
      expect(typeof value, key).toBe('number')
      expect(Number.isFinite(value) && ((value as number) > 0 || (ZERO_IS_OFF.has(key) && value === 0)), `${name}.${key} = ${String(value)}`).toBe(true)
    }
    // the relations settings.ts states between keys hold in every profile
    const s = MESH_PROFILES[name]
    expect(s.quicKeepAliveInterval).toBeLessThan(s.quicMaxIdleTimeout)
    expect(s.backoffBase).toBeLessThanOrEqual(s.backoffMax)
    expect(s.targetPeers).toBeLessThanOrEqual(s.maxPeers)
    expect(s.announceIdleClose).toBeLessThan(s.announceIdleTimeout)
  })

  it.each(['lan', 'test'] as const)('%s differs from the default exactly where docs/PROTOCOLS.md §11 says, by the values it gives', (name) => {
    expect(changedSettings(MESH_PROFILES[name])).toEqual(documented(name))
    expect(Object.keys(MESH_PROFILE_OVERRIDES[name]).length).toBeGreaterThan(0)
  })

  it('a profile changes no limit, message bound or broadcast-tree timing', () => {
    // what a profile may change: reaction times of peer selection and connection keep-alive
    const timings = new Set<keyof MeshSettings>(['maintainInterval', 'backoffBase', 'backoffMax', 'exploreInterval', 'peerExchangeInterval', 'trimGrace', 'joinGrace', 'quicMaxIdleTimeout', 'quicKeepAliveInterval'])
    for (const name of MESH_PROFILE_NAMES) {
      for (const key of Object.keys(MESH_PROFILE_OVERRIDES[name])) expect(timings.has(key as keyof MeshSettings), `${name} changes ${key}`).toBe(true)
    }
  })

  it('meshSettingsFor puts overrides on top of the profile', () => {
    const s = meshSettingsFor('test', { backoffMax: 9_999 })
    expect(s.backoffMax).toBe(9_999)
    expect(s.maintainInterval).toBe(MESH_PROFILES.test.maintainInterval)
    expect(meshSettingsFor()).toEqual(DEFAULT_MESH_SETTINGS)
    // the profile itself is not changed by an override
    expect(MESH_PROFILES.test.backoffMax).toBe(2_000)
  })
})

it('the NixOS module and the clan service offer exactly the daemon\'s profile names (nixos/mesh-profiles.json)', () => {
  const offered = JSON.parse(readFileSync(new URL('../../nixos/mesh-profiles.json', import.meta.url), 'utf8')) as string[]
  expect([...offered].sort()).toEqual([...MESH_PROFILE_NAMES].sort())
  for (const file of ['module.nix', 'clan-service.nix']) {
    expect(readFileSync(new URL(`../../nixos/${file}`, import.meta.url), 'utf8')).toContain('types.enum (builtins.fromJSON (builtins.readFile ./mesh-profiles.json))')
  }
})
