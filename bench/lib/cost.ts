// The cost of one update per node from counter snapshots (CPU seconds, loopback bytes)
// taken around the bench's cost phase: a background window before (a → b), the updates
// (b → c), a background window after (c → d). Pure, so that tests/unit/bench-cost.test.ts
// can check the arithmetic on the readings that once printed a negative figure.

/** Cumulative counters at one moment: CPU seconds of all nodes, bytes sent on lo, ms. */
export interface CostSnap { cpu: number, bytes: number, t: number }

export interface UpdateCost {
  /** ms of CPU per update per node, the background taken out */
  cpuMs: number
  /** bytes sent per update per node, the background taken out; NaN when the background cannot be separated */
  bytes: number
  /** background rates of the two windows (per second), for the JSON: their gap shows how bursty the background was */
  background: { cpuBefore: number, cpuAfter: number, bytesBefore: number, bytesAfter: number }
}

/**
 * Both figures subtract the LOWER of the two background windows' rates. A window that
 * holds a periodic exchange is not background at the rate it shows: serf's push-pull
 * (every 30 s per agent, so every ~6 s somewhere in a 5-agent cluster) carries the
 * agents' recent user events, ~100-170 kB once the bench has sent some 60 events, so a
 * 4 s window with one measures ~22-42 kB/s and one without ~1.3 kB/s (measured at N = 5).
 * Subtracting the first over the whole phase printed serf's bytes per update per node as
 * −2,595 at N = 5. A phase whose traffic is still below the lower background rate cannot
 * be separated from its background: that is NaN (reported as n/a), never a negative cost.
 */
export function updateCost (a: CostSnap, b: CostSnap, c: CostSnap, d: CostSnap, updates: number, nodes: number): UpdateCost {
  const rate = (x: CostSnap, y: CostSnap, k: 'cpu' | 'bytes'): number => (y[k] - x[k]) / ((y.t - x.t) / 1000)
  const background = { cpuBefore: rate(a, b, 'cpu'), cpuAfter: rate(c, d, 'cpu'), bytesBefore: rate(a, b, 'bytes'), bytesAfter: rate(c, d, 'bytes') }
  const seconds = (c.t - b.t) / 1000
  const per = updates * nodes
  const net = (used: number, bgRate: number): number => {
    const v = used - bgRate * seconds
    return v < 0 ? NaN : v / per
  }
  return {
    cpuMs: net(c.cpu - b.cpu, Math.min(background.cpuBefore, background.cpuAfter)) * 1000,
    bytes: net(c.bytes - b.bytes, Math.min(background.bytesBefore, background.bytesAfter)),
    background
  }
}
