// A metric whose values are read at scrape time from counters the daemon keeps anyway
// (mesh.stats(), the replica): no second bookkeeping. A counter read this way is set to
// the source's value on every scrape (reset, then incremented by it), which is what
// Prometheus sees as a counter as long as the source only grows (a restart resets both).
import { Counter, Gauge, type Registry } from 'prom-client'

export type Labels = Record<string, string>
/** The values of one metric: a single number, or one per label set; undefined = none now */
export type Reading = number | Array<[Labels, number]> | undefined

export interface FamilySpec {
  name: string
  help: string
  type: 'counter' | 'gauge'
  labelNames?: string[]
  read: () => Reading
}

function samples (r: Reading): Array<[Labels, number]> {
  if (r === undefined) return []
  return typeof r === 'number' ? [[{}, r]] : r
}

/**
 * Registers `spec` in `register`; its values are read when Prometheus scrapes. A metric
 * that reads undefined now (no network: no certificate; a counter this mesh does not
 * keep) is not registered: prom-client would show an unlabelled one as 0, which reads as
 * "the certificate ended in 1970".
 */
export function family (register: Registry, spec: FamilySpec): void {
  if (spec.read() === undefined) return
  const labelNames = spec.labelNames ?? []
  if (spec.type === 'counter') {
    // eslint-disable-next-line no-new
    new Counter({
      name: spec.name,
      help: spec.help,
      labelNames,
      registers: [register],
      collect () {
        this.reset()
        for (const [labels, v] of samples(spec.read())) if (Number.isFinite(v) && v >= 0) this.inc(labels, v)
      }
    })
    return
  }
  // eslint-disable-next-line no-new
  new Gauge({
    name: spec.name,
    help: spec.help,
    labelNames,
    registers: [register],
    collect () {
      this.reset()
      for (const [labels, v] of samples(spec.read())) if (Number.isFinite(v)) this.set(labels, v)
    }
  })
}
