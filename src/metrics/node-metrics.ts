// This node's own state, read at scrape time: the files it holds (by state and, for the
// configured names, one series each), floors, namespace quotas in use, and its
// certificate's end.
import type { Registry } from 'prom-client'
import type { Certificate } from '../crypto/certificate.js'
import { isExpired } from '../rule/which-version-wins.js'
import type { Replica } from '../store/replica.js'
import { family, type Labels } from './family.js'

export interface NodeSources {
  replica: Replica
  /** the configured file names (config.files), as reloaded */
  configuredNames: () => Iterable<string>
  /** this node's certificate (undefined without a network) */
  certificate: () => Certificate | undefined
  peerId: string
}

export function registerNode (register: Registry, o: NodeSources): void {
  const { replica } = o
  family(register, {
    name: 'data_mesher_files',
    help: 'Files held here by state: delivered (current version written out), undelivered (current version, content not written out), deleted (a tombstone), expired, held (a version from the future kept aside)',
    type: 'gauge',
    labelNames: ['state'],
    read: () => {
      const now = replica.clock()
      const n = { delivered: 0, undelivered: 0, deleted: 0, expired: 0, held: replica.listHeld().length }
      for (const r of replica.list()) {
        if (r.tombstone) n.deleted++
        else if (isExpired(r, now)) n.expired++
        else if (replica.isDelivered(r.name)) n.delivered++
        else n.undelivered++
      }
      return Object.entries(n).map(([state, v]) => [{ state }, v])
    }
  })
  // one series per configured name (bounded by the config; namespace names are not listed)
  family(register, {
    name: 'data_mesher_file_delivered',
    help: 'For each configured file name: 1 when a valid version of it is delivered here, 0 when none is (never had one, deleted, expired)',
    type: 'gauge',
    labelNames: ['name'],
    read: () => [...o.configuredNames()].map(name => [{ name }, replica.isDelivered(name) ? 1 : 0])
  })
  family(register, {
    name: 'data_mesher_file_version_timestamp_seconds',
    help: 'For each configured file name that has a version here: its signature time (the version\'s timestamp), unix seconds',
    type: 'gauge',
    labelNames: ['name'],
    read: () => {
      const out: Array<[Labels, number]> = []
      for (const name of o.configuredNames()) {
        const r = replica.get(name)
        if (r !== undefined) out.push([{ name }, r.timestamp / 1000])
      }
      return out
    }
  })
  family(register, {
    name: 'data_mesher_floors',
    help: 'Names held or configured here that have a floor (a height below which no version is accepted again: after a revocation or a corrupt file)',
    type: 'gauge',
    read: () => {
      const names = new Set<string>(o.configuredNames())
      for (const r of replica.list()) names.add(r.name)
      for (const r of replica.listHeld()) names.add(r.name)
      let n = 0
      for (const name of names) if (replica.getFloor(name) !== undefined) n++
      return n
    }
  })
  // quotas in use (issue 19 item 4): one series per configured namespace and measure
  family(register, {
    name: 'data_mesher_namespace_usage',
    help: 'For each configured namespace: names (one per key) and content bytes its files hold here (the quotas limits.namespace_max_names and limits.namespace_max_bytes are data_mesher_namespace_quota)',
    type: 'gauge',
    labelNames: ['namespace', 'measure'],
    read: () => {
      const out: Array<[Labels, number]> = []
      for (const namespace of replica.getPolicy().namespaces) {
        const u = replica.getUsage().namespace(namespace)
        out.push([{ namespace, measure: 'names' }, u.names], [{ namespace, measure: 'bytes' }, u.bytes])
      }
      return out
    }
  })
  family(register, {
    name: 'data_mesher_namespace_quota',
    help: 'The namespace quotas in force: names and bytes per namespace, bytes per key (limits.namespace_max_names, namespace_max_bytes, key_max_bytes)',
    type: 'gauge',
    labelNames: ['measure'],
    read: () => {
      const q = replica.getPolicy().quotas
      return q === undefined ? undefined : [[{ measure: 'names' }, q.namespaceMaxNames], [{ measure: 'bytes' }, q.namespaceMaxBytes], [{ measure: 'key_bytes' }, q.keyMaxBytes]]
    }
  })
  family(register, {
    name: 'data_mesher_certificate_expiry_timestamp_seconds',
    help: 'When this node\'s certificate ends (notAfter), unix seconds; absent without a network',
    type: 'gauge',
    read: () => { const c = o.certificate(); return c === undefined ? undefined : c.notAfter / 1000 }
  })
  family(register, {
    name: 'data_mesher_certificate_remaining_seconds',
    help: 'Seconds until this node\'s certificate ends (negative once it has); absent without a network',
    type: 'gauge',
    read: () => { const c = o.certificate(); return c === undefined ? undefined : (c.notAfter - Date.now()) / 1000 }
  })
  family(register, {
    name: 'data_mesher_node_info',
    help: 'Always 1; the node\'s peer id as a label (to join series with status output and logs)',
    type: 'gauge',
    labelNames: ['peer_id'],
    read: () => [[{ peer_id: o.peerId }, 1]]
  })
}
