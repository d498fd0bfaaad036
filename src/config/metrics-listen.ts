// `metrics.listen`: where the Prometheus endpoint listens (src/metrics/). Off unless set.
// Unlike the API it may be any address of this host: it serves counters and names, never
// file content, keys or anything that lets a caller change the node (README "Metrics").
import { isIP } from 'node:net'
import { parseHostPort } from './host-port.js'

/** One `metrics.listen` value checked; the reason when it is refused. */
export function metricsListenProblem (entry: string): string | undefined {
  const hp = parseHostPort(entry)
  if (hp === undefined) return `must be "host:port" or "[v6]:port" (or "" to disable), got "${entry}"`
  if (hp.host !== 'localhost' && isIP(hp.host) === 0) return `"${hp.host}" is not an IP address or localhost (give the address to listen on, e.g. "127.0.0.1:9464" or "[::]:9464")`
  return undefined
}
