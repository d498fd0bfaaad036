// `api.listen`: where the gRPC API listens on TCP. Loopback only (DESIGN.md §7): over TCP
// the daemon cannot tell which local user connects, and nothing else should reach it.
import { isIP } from 'node:net'
import { parseHostPort } from './host-port.js'

/** "localhost" binds both loopbacks: clan's CLI calls http://[::1]:7331 and http://localhost:7331. */
export const LOCALHOST_ADDRESSES = ['127.0.0.1', '::1'] as const

/** Why `host` is not a loopback address (127.0.0.0/8, ::1, localhost), or undefined when it is. */
export function loopbackProblem (host: string): string | undefined {
  if (host === 'localhost' || host === '::1') return undefined
  if (isIP(host) === 4 && host.startsWith('127.')) return undefined
  return `"${host}" is not a loopback address: the TCP API accepts only 127.0.0.0/8, ::1 or localhost ` +
    '(anyone who can reach it could submit records and read metadata; use the unix socket or an SSH tunnel for remote access)'
}

/** One `api.listen` entry ("host:port", "[::1]:port") checked; the reason when it is refused. */
export function listenProblem (entry: string): string | undefined {
  const hp = parseHostPort(entry)
  if (hp === undefined) return `must be "host:port" or "[::1]:port" (or "" to disable), got "${entry}"`
  return loopbackProblem(hp.host)
}

/**
 * The grpc-js bind targets of one entry: "localhost:P" is both 127.0.0.1:P and [::1]:P,
 * and so is "127.0.0.1:P" (clan-core's CLI calls http://[::1]:7331 wherever the API is on
 * 127.0.0.1).
 */
export function bindTargets (entry: string): Array<{ target: string, optional: boolean }> {
  const hp = parseHostPort(entry)
  if (hp === undefined) throw new Error(`api.listen: "${entry}" is not host:port`)
  const target = (host: string): string => host.includes(':') ? `[${host}]:${hp.port}` : `${host}:${hp.port}`
  if (hp.host !== 'localhost' && hp.host !== '127.0.0.1') return [{ target: target(hp.host), optional: false }]
  // a host without an IPv6 loopback (ipv6 disabled) still serves on 127.0.0.1
  return LOCALHOST_ADDRESSES.map(a => ({ target: target(a), optional: a === '::1' }))
}
