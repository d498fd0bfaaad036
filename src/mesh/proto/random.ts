// The random source of the protocol core. The core never calls Math.random: it is handed
// a `Random`, so that the daemon runs it on real randomness and the simulator on a seeded
// one, and a simulated run is replayed exactly from its seed.

/** Uniform in [0, 1). */
export type Random = () => number

/**
 * A seeded generator (a splitmix32-style mix spreads the seed over 128 bits of state, then
 * xoshiro128**): fast, small, good enough for peer choices and jitter. Not cryptographic.
 */
export function seededRandom (seed: number): Random {
  let z = seed >>> 0
  const next32 = (): number => {
    z = (z + 0x9e3779b9) >>> 0
    let t = z
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0
    return (t ^ (t >>> 16)) >>> 0
  }
  let a = next32(); let b = next32(); let c = next32(); let d = next32()
  if ((a | b | c | d) === 0) a = 1
  return () => {
    // xoshiro128** (Blackman, Vigna)
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0
    const t = (b << 9) >>> 0
    c ^= a; d ^= b; b ^= c; a ^= d
    c = (c ^ t) >>> 0
    d = rotl(d, 11)
    a >>>= 0; b >>>= 0
    return result / 4294967296
  }
}

function rotl (x: number, k: number): number { return ((x << k) | (x >>> (32 - k))) >>> 0 }

/** `ms` ± `fraction` of it, uniformly (timers that must not fire in lockstep across a fleet). */
export function jitterWith (random: Random, ms: number, fraction: number): number {
  return Math.max(0, Math.round(ms * (1 - fraction + 2 * fraction * random())))
}
