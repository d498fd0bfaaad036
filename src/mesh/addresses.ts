// Addresses: where to listen (cluster.interfaces, cluster.port, cluster.transports) and
// what a bootstrap entry means ("host:port", "[v6]:port" or a multiaddr).
import { networkInterfaces } from 'node:os'
import { isIP } from 'node:net'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Transport } from '../config/config.js'
import { parseHostPort } from '../config/config.js'

export interface BootstrapTarget {
  /** the entry as configured */
  entry: string
  /** addresses to dial (libp2p orders them: TCP, then QUIC) */
  addrs: Multiaddr[]
  /** when the entry names the peer (/p2p/<id>) */
  peerId?: string
}

/**
 * Both transports when both are enabled. The order is not a preference: libp2p's dialer
 * sorts a peer's addresses itself and tries TCP first (a closed TCP port fails at once,
 * while a QUIC dial to a dead host waits for the handshake timeout), then QUIC.
 */
function ordered (transports: Transport[]): Transport[] {
  return (['quic', 'tcp'] as const).filter(t => transports.includes(t))
}

function hostPart (host: string): string {
  const v = isIP(host)
  return v === 4 ? `/ip4/${host}` : v === 6 ? `/ip6/${host}` : `/dns/${host}`
}

function withTransport (host: string, port: number, t: Transport): string {
  return t === 'quic' ? `${hostPart(host)}/udp/${port}/quic-v1` : `${hostPart(host)}/tcp/${port}`
}

/** Whether a multiaddr uses one of the enabled transports. */
export function usesTransport (ma: Multiaddr, transports: Transport[]): boolean {
  const names = ma.getComponents().map(c => c.name)
  if (names.includes('p2p-circuit') || names.includes('ws') || names.includes('wss') || names.includes('webtransport') || names.includes('webrtc')) return false
  if (names.includes('quic-v1')) return transports.includes('quic')
  if (names.includes('tcp')) return transports.includes('tcp')
  return false
}

export function parseBootstrap (entry: string, transports: Transport[]): BootstrapTarget {
  if (entry.startsWith('/')) {
    const ma = multiaddr(entry)
    const peerId = ma.getComponents().findLast(c => c.name === 'p2p')?.value
    const names = ma.getComponents().map(c => c.name)
    const hasTransport = names.includes('tcp') || names.includes('udp')
    if (hasTransport) return { entry, addrs: [ma], peerId }
    throw new Error(`bootstrap node "${entry}": a multiaddr needs /tcp/<port> or /udp/<port>/quic-v1`)
  }
  const hp = parseHostPort(entry)
  if (hp === undefined) throw new Error(`bootstrap node "${entry}" is not "host:port", "[v6]:port" or a multiaddr`)
  return { entry, addrs: ordered(transports).map(t => multiaddr(withTransport(hp.host, hp.port, t))) }
}

/**
 * Listen addresses: every IPv4 and IPv6 address of the named interfaces (link-local IPv6
 * skipped: it needs a zone), or the wildcards 0.0.0.0 and :: when none are named.
 * Throws, naming the key, when an interface does not exist or has no usable address.
 */
export function listenAddresses (interfaces: string[], port: number, transports: Transport[]): string[] {
  const hosts: string[] = []
  if (interfaces.length === 0) {
    hosts.push('0.0.0.0', '::')
  } else {
    const all = networkInterfaces()
    for (const name of interfaces) {
      const addrs = all[name]
      if (addrs === undefined) {
        throw new Error(`cluster.interfaces: no network interface "${name}" (present: ${Object.keys(all).join(', ')})`)
      }
      const usable = addrs.filter(a => !(a.family === 'IPv6' && (a.scopeid ?? 0) !== 0) && !a.address.toLowerCase().startsWith('fe80:'))
      if (usable.length === 0) throw new Error(`cluster.interfaces: interface "${name}" has no usable IPv4 or global IPv6 address`)
      for (const a of usable) if (!hosts.includes(a.address)) hosts.push(a.address)
    }
  }
  const out: string[] = []
  for (const host of hosts) for (const t of ordered(transports)) out.push(withTransport(host, port, t))
  return out
}
