// Named sets of the mesh's timings (settings.ts), chosen by the config's
// `[cluster] profile` (docs/DECISIONS.md, "Mesh profiles"). A profile changes only the
// reaction times of peer selection and connection keep-alive, never a limit, a protocol
// bound or the broadcast tree's timings: nodes of different profiles interoperate, and a
// profile cannot make a node easier to overload. Each override says why it differs.
import { DEFAULT_MESH_SETTINGS, type MeshSettings } from './settings.js'

export const MESH_PROFILE_NAMES = ['default', 'lan', 'test'] as const
export type MeshProfile = typeof MESH_PROFILE_NAMES[number]

/**
 * A fleet on one low-latency network (one site, one L2/L3 domain): a dial answers or is
 * refused within milliseconds, so failing fast and trying again soon costs nothing and a
 * node reaches its peer target sooner after a start or a lost peer.
 */
const LAN: Partial<MeshSettings> = {
  // The membership loop (proto/overlay.ts) is an in-memory pass over at most maxKnownPeers
  // peers; it also runs on every disconnect, so this bounds only how soon a node below
  // target dials the peers it learnt by peer exchange (at most maxParallelDials at once,
  // learnt addresses still rate-limited by learnedDialsPerMinute). 2 s → 0.5 s: a
  // starting node takes each step towards its target 4× sooner.
  maintainInterval: 500,
  // The first redial of a lost peer: a restarted daemon is back within a second or two,
  // and a refused dial on a LAN is one SYN/RST. 1 s → 250 ms (still doubling to
  // backoffMax, jittered ±50%, so a dead peer is not hammered).
  backoffBase: 250
  // Unchanged on purpose: announceIhaveDelay (250 ms) is a CPU/traffic trade measured on
  // a loaded host (9.4 → 5.3 notices per node per update), not a network delay; and
  // announceGraftTimeout (250 ms) covers a tree hop on a loaded host (tens of ms) plus the
  // notice batching (docs/DECISIONS.md): neither gets shorter on a faster network.
  // trimGrace, joinGrace and exploreInterval shape how nodes join (issue 23, item 5).
}

/**
 * Many nodes on one host over loopback: the mesh tests' clusters and `npm run demo`.
 * Short intervals so that a cluster forms, heals and finds a dead peer in seconds; the
 * protocol is the same.
 */
const TEST: Partial<MeshSettings> = {
  maintainInterval: 300,
  backoffBase: 200,
  backoffMax: 2_000,
  exploreInterval: 3_000,
  peerExchangeInterval: 2_000,
  trimGrace: 5_000,
  quicMaxIdleTimeout: 3_000,
  quicKeepAliveInterval: 1_000
}

/** What each profile changes from the default. */
export const MESH_PROFILE_OVERRIDES: Readonly<Record<MeshProfile, Readonly<Partial<MeshSettings>>>> = {
  default: {},
  lan: LAN,
  test: TEST
}

/** Each profile, complete. */
export const MESH_PROFILES: Readonly<Record<MeshProfile, Readonly<MeshSettings>>> = {
  default: DEFAULT_MESH_SETTINGS,
  lan: { ...DEFAULT_MESH_SETTINGS, ...LAN },
  test: { ...DEFAULT_MESH_SETTINGS, ...TEST }
}

/** The settings of `profile`, with `overrides` on top (startMesh, tests). */
export function meshSettingsFor (profile: MeshProfile = 'default', overrides: Partial<MeshSettings> = {}): MeshSettings {
  return { ...MESH_PROFILES[profile], ...overrides }
}

export function isMeshProfile (name: string): name is MeshProfile {
  return (MESH_PROFILE_NAMES as readonly string[]).includes(name)
}

/** The settings whose values differ from the default (logged at start: what a node runs with). */
export function changedSettings (s: MeshSettings): Partial<MeshSettings> {
  const d = DEFAULT_MESH_SETTINGS as unknown as Record<string, unknown>
  return Object.fromEntries(Object.entries(s).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(d[k])))
}
