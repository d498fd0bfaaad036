// What happens to the versions offered to this node, counted as they happen: every call
// of Replica.submit (API and mesh alike) by outcome and reason, and the delivery lag of
// every version stored here. The replica is observed from outside (submissions.ts, and
// its change events), so the store keeps no metrics code.
import { Counter, Histogram, type Registry } from 'prom-client'
import type { Change, Replica, SubmitResult } from '../store/replica.js'
import { observeSubmissions } from './submissions.js'

/** Delivery lag buckets, seconds: gossip on a LAN takes tens of ms, a sync round seconds, an offline node hours. */
export const LAG_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400]

/** Where a submission came from, as a bounded label: "api", "peer" (mesh) or "other". */
function via (origin: string): string {
  return origin === 'api' ? 'api' : origin.startsWith('peer:') ? 'peer' : 'other'
}

function reasonOf (r: SubmitResult): string {
  switch (r.outcome) {
    case 'refused': return r.code
    case 'ignored': return r.why
    default: return ''
  }
}

export class UpdateMetrics {
  private readonly updates: Counter<'outcome' | 'reason' | 'via'>
  private readonly failures: Counter<'via'>
  private readonly lag: Histogram<'via'>
  private readonly restore: () => void

  /** Starts observing `replica`: before the mesh and the API start, so nothing offered is missed. */
  constructor (replica: Replica, register: Registry) {
    this.updates = new Counter({
      name: 'data_mesher_updates_total',
      help: 'Versions offered to this node (API and peers), by outcome (accepted, held, ignored, refused), reason (refusal code or why ignored) and via (api, peer, other)',
      labelNames: ['outcome', 'reason', 'via'],
      registers: [register]
    })
    this.failures = new Counter({
      name: 'data_mesher_update_errors_total',
      help: 'Versions that could not be judged or stored (content fetch failed, disk error), by via',
      labelNames: ['via'],
      registers: [register]
    })
    this.lag = new Histogram({
      name: 'data_mesher_delivery_lag_seconds',
      help: 'From a version\'s signature time (its timestamp) to its being stored on this node, by via (api, peer, other: a held version released by the clock); negative (a signer clock ahead) counts as 0',
      labelNames: ['via'],
      buckets: LAG_BUCKETS,
      registers: [register]
    })
    const stopObserving = observeSubmissions(replica, s => {
      if ('result' in s) this.updates.inc({ outcome: s.result.outcome, reason: reasonOf(s.result), via: via(s.origin) })
      else this.failures.inc({ via: via(s.origin) })
    })
    const unsubscribe = replica.onChange(c => this.onChange(c, replica.clock()))
    this.restore = () => {
      unsubscribe()
      stopObserving()
    }
  }

  private onChange (c: Change, now: number): void {
    if (c.kind !== 'updated' && c.kind !== 'deleted') return // a deletion is a version delivered too
    this.lag.observe({ via: via(c.origin) }, Math.max(0, now - c.record.timestamp) / 1000)
  }

  stop (): void { this.restore() }
}
