// Memory of a long run, sampled per process: how fast it grows once warmed up.
// A least-squares slope over the samples after the warm-up, so one garbage collection
// early or late does not decide the figure as a first/last difference would.

export interface MemorySample {
  /** ms since the run started */
  at: number
  /** resident set, bytes */
  rss: number
  /** the private part of it (RssAnon), bytes */
  anon: number
}

export interface MemoryTrend {
  samples: number
  /** MiB per hour, fitted over the samples at or after `from` */
  rssMiBPerHour: number
  anonMiBPerHour: number
  /** MiB, at the first and last sample used */
  rssFirstMiB: number
  rssLastMiB: number
}

const MiB = 1024 * 1024
const HOUR = 3_600_000

/** Least-squares slope of y over x (0 with fewer than two distinct x). */
export function slope (xs: number[], ys: number[]): number {
  const n = xs.length
  if (n < 2) return 0
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

/** The trend of the samples taken at or after `from` (ms); undefined with fewer than two. */
export function memoryTrend (samples: MemorySample[], from: number): MemoryTrend | undefined {
  const used = samples.filter(s => s.at >= from)
  if (used.length < 2) return undefined
  const at = used.map(s => s.at)
  const round = (x: number): number => Math.round(x * 100) / 100
  return {
    samples: used.length,
    rssMiBPerHour: round(slope(at, used.map(s => s.rss)) * HOUR / MiB),
    anonMiBPerHour: round(slope(at, used.map(s => s.anon)) * HOUR / MiB),
    rssFirstMiB: round(used[0].rss / MiB),
    rssLastMiB: round(used[used.length - 1].rss / MiB)
  }
}
