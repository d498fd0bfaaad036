// Memory of a long run, sampled per process: how fast it grows once warmed up.
// A least-squares slope over the samples after the warm-up, so one garbage collection
// early or late does not decide the figure as a first/last difference would; and, beside
// it, the largest value per window and their slope: a process that climbs to a working
// level, gives a lump back and climbs to the same level again (the 2-hour soak's node 0:
// 121.5 MiB at 69 min, 94.3 at 70, 121.5 at 121) fits a steep slope over its saw-tooth
// while its peaks stay level (docs/DECISIONS.md, "The 2-hour soak again").

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
  /** MiB, the largest RSS in each window of `windowMs` from `from` on (the last window may be shorter) */
  rssPeaksMiB: number[]
  /** MiB per hour, the slope of those peaks over the times they were seen (0 with fewer than two windows) */
  rssPeakMiBPerHour: number
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
export function memoryTrend (samples: MemorySample[], from: number, windowMs = 30 * 60_000): MemoryTrend | undefined {
  const used = samples.filter(s => s.at >= from)
  if (used.length < 2) return undefined
  const at = used.map(s => s.at)
  const round = (x: number): number => Math.round(x * 100) / 100
  return {
    samples: used.length,
    rssMiBPerHour: round(slope(at, used.map(s => s.rss)) * HOUR / MiB),
    anonMiBPerHour: round(slope(at, used.map(s => s.anon)) * HOUR / MiB),
    rssFirstMiB: round(used[0].rss / MiB),
    rssLastMiB: round(used[used.length - 1].rss / MiB),
    ...peaks(used, from, windowMs, round)
  }
}

function peaks (used: MemorySample[], from: number, windowMs: number, round: (x: number) => number): Pick<MemoryTrend, 'rssPeaksMiB' | 'rssPeakMiBPerHour'> {
  const byWindow = new Map<number, MemorySample>()
  for (const s of used) {
    const w = Math.floor((s.at - from) / windowMs)
    const p = byWindow.get(w)
    if (p === undefined || s.rss > p.rss) byWindow.set(w, s)
  }
  const top = [...byWindow.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s)
  return {
    rssPeaksMiB: top.map(s => round(s.rss / MiB)),
    // over the times the peaks were seen (a shorter last window's peak is its last sample)
    rssPeakMiBPerHour: round(slope(top.map(s => s.at), top.map(s => s.rss)) * HOUR / MiB)
  }
}
