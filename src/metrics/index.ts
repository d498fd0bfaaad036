// The Prometheus metrics of one daemon (README "Metrics"): off unless metrics.listen is
// set. DaemonMetrics starts observing the replica before the mesh and the API start (so
// no offered version is missed), and serves once the mesh is up.
import { collectDefaultMetrics, Registry } from 'prom-client'
import type { Certificate } from '../crypto/certificate.js'
import type { Mesh } from '../mesh/index.js'
import type { Replica } from '../store/replica.js'
import { registerMesh } from './mesh-metrics.js'
import { registerNode } from './node-metrics.js'
import { MetricsServer } from './server.js'
import { UpdateMetrics } from './updates.js'

export { LAG_BUCKETS } from './updates.js'

/**
 * prom-client's process defaults, with the event loop's delay sampled once a second:
 * its default (every 10 ms, a libuv timer through node's monitorEventLoopDelay) wakes an
 * idle daemon 100 times a second, ~0.35% of a core, twice the rest of an idle daemon
 * (docs/DECISIONS.md, "Metrics on, idle"). A stall of the loop still shows in
 * nodejs_eventloop_lag_* within a second of it.
 */
export const DEFAULT_METRICS_OPTIONS = { eventLoopMonitoringPrecision: 1_000 }

export interface ServeOptions {
  mesh: Mesh
  configuredNames: () => Iterable<string>
  certificate: () => Certificate | undefined
}

export class DaemonMetrics {
  readonly register = new Registry()
  private readonly updates: UpdateMetrics
  private server?: MetricsServer

  constructor (private readonly replica: Replica, private readonly listen: string) {
    this.updates = new UpdateMetrics(replica, this.register)
  }

  /** Registers the mesh's and the node's metrics and the process defaults, and listens. */
  async serve (o: ServeOptions): Promise<string> {
    registerMesh(this.register, o.mesh)
    registerNode(this.register, { replica: this.replica, configuredNames: o.configuredNames, certificate: o.certificate, peerId: o.mesh.peerId })
    collectDefaultMetrics({ register: this.register, ...DEFAULT_METRICS_OPTIONS })
    this.server = await MetricsServer.listen(this.listen, this.register)
    return this.server.bound
  }

  async stop (): Promise<void> {
    this.updates.stop()
    await this.server?.close()
  }
}
