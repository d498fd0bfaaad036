/** Nearest-rank percentile (p in 0..100) of the finite values; NaN when there are none. */
export function percentile (values: number[], p: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const rank = Math.max(1, Math.ceil(p / 100 * v.length))
  return v[rank - 1]
}

export function mean (values: number[]): number {
  const v = values.filter(Number.isFinite)
  return v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length
}

/** Least-squares fit y = a + b·x. */
export function linearFit (xs: number[], ys: number[]): { a: number, b: number } {
  const n = xs.length
  if (n < 2) return { a: NaN, b: NaN }
  const mx = mean(xs); const my = mean(ys)
  let sxy = 0; let sxx = 0
  for (let i = 0; i < n; i++) { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) ** 2 }
  const b = sxx === 0 ? NaN : sxy / sxx
  return { a: my - b * mx, b }
}

/** A deterministic PRNG (mulberry32), so a run's topology and origins can be repeated. */
export function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const round = (x: number, digits = 1): number => Number.isFinite(x) ? Number(x.toFixed(digits)) : NaN

/** Median of the finite values (the mean of the middle two for an even count); NaN when there are none. */
export function median (values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const m = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2
}

/** Lowest and highest finite value (NaN, NaN when there are none): the spread reported next to a median. */
export function spread (values: number[]): { min: number, max: number } {
  const v = values.filter(Number.isFinite)
  return v.length === 0 ? { min: NaN, max: NaN } : { min: Math.min(...v), max: Math.max(...v) }
}
