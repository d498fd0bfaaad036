// K runs of one cluster size into one result: every number the median over the runs, with
// its spread (min, max); the ratios to serf taken per run (both systems measured in the
// same minutes) and then their median, never a ratio of medians.
import { median, spread } from './stats.js'

export type Fig = Record<string, unknown>
export interface SizeRun { datamesher: Fig, serf: Fig, noise: Fig, ratio: Fig }
export interface SizeResult extends SizeRun {
  /** per figure: [min, max] over the runs (only numbers) */
  spread: { datamesher: Fig, serf: Fig, noise: Fig, ratio: Fig }
  runs: SizeRun[]
}

/**
 * The median of each figure: numbers → median of the finite values (null when no run had
 * one), booleans → true only when every run said true, anything else (strings, samples)
 * → the first run's (each run's own values stay in `runs`).
 */
export function medianFigures (figs: Fig[]): { value: Fig, spread: Fig } {
  const value: Fig = {}; const sp: Fig = {}
  const keys = [...new Set(figs.flatMap(f => Object.keys(f)))]
  for (const k of keys) {
    const vs = figs.map(f => f[k]).filter(v => v !== undefined)
    if (vs.length > 0 && vs.every(v => typeof v === 'number' || v === null)) {
      const nums = vs.map(v => v === null ? NaN : v as number)
      const m = median(nums)
      value[k] = Number.isFinite(m) ? Number(m.toPrecision(6)) : null
      const s = spread(nums)
      if (Number.isFinite(s.min)) sp[k] = [s.min, s.max]
    } else if (vs.length > 0 && vs.every(v => typeof v === 'boolean')) {
      value[k] = vs.every(v => v === true)
    } else if (vs.length > 0 && !Array.isArray(vs[0])) {
      value[k] = vs[0]
    }
  }
  return { value, spread: sp }
}

export function aggregateRuns (runs: SizeRun[]): SizeResult {
  const part = (k: keyof SizeRun): { value: Fig, spread: Fig } => medianFigures(runs.map(r => r[k]))
  const d = part('datamesher'); const s = part('serf'); const n = part('noise'); const q = part('ratio')
  return {
    datamesher: d.value,
    serf: s.value,
    noise: n.value,
    ratio: q.value,
    spread: { datamesher: d.spread, serf: s.spread, noise: n.spread, ratio: q.spread },
    runs
  }
}
