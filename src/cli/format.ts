// Human and --json renderings of what the daemon returns.
import type { FileVersion, Status } from '../client/client.js'

export function versionJson (v: FileVersion): Record<string, unknown> {
  return {
    name: v.name,
    timestamp: v.timestamp,
    time: new Date(v.timestamp).toISOString(),
    expires: v.expires === 0 ? null : new Date(v.expires).toISOString(),
    tombstone: v.tombstone,
    size: v.size,
    sha256: Buffer.from(v.sha256).toString('hex'),
    signer: Buffer.from(v.signer).toString('base64'),
    delivered: v.delivered,
    path: v.path
  }
}

export function state (v: FileVersion): string {
  if (v.tombstone) return 'deleted'
  if (v.delivered) return 'delivered'
  if (v.expires !== 0 && v.expires <= Date.now()) return 'expired'
  return 'not delivered'
}

export function versionLine (v: FileVersion): string {
  return [v.name, new Date(v.timestamp).toISOString(), `${v.size}B`, state(v),
    v.expires === 0 ? '' : `expires ${new Date(v.expires).toISOString()}`].filter(s => s !== '').join('  ')
}

export function table (rows: string[][]): string {
  if (rows.length === 0) return ''
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => (r[i] ?? '').length)))
  return rows.map(r => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join('  ')).join('\n')
}

export function statusText (s: Status): string {
  const lines = [`node     ${s.nodeId}`, `key      ${s.publicKey}`, `version  ${s.version}`]
  if (s.networkId !== undefined && s.networkId !== '') {
    lines.push(`network  ${s.networkId}`)
    const left = s.certificateNotAfter - Date.now()
    lines.push(`certificate "${s.certificateName}" ${left > 0 ? 'expires' : 'EXPIRED'} ${new Date(s.certificateNotAfter).toISOString()}` +
      (left > 0 ? ` (in ${Math.floor(left / 86_400_000)} days)` : ''))
  }
  lines.push('addresses:')
  for (const a of s.addresses) lines.push(`  ${a}`)
  lines.push(`peers (${s.peers.length}):`)
  lines.push(table(s.peers.map(p => ['  ' + p.peerId, p.address, `since ${new Date(p.since).toISOString()}`, p.latencyMs > 0 ? `${p.latencyMs.toFixed(1)} ms` : ''])))
  lines.push(`files (${s.files.length}):`)
  lines.push(table(s.files.map(v => ['  ' + v.name, new Date(v.timestamp).toISOString(), `${v.size}B`, state(v)])))
  // configured names with no valid version here, and why (issue 19: e.g. revoked)
  if ((s.missing ?? []).length > 0) {
    lines.push(`no valid version (${s.missing.length}):`)
    for (const m of s.missing) lines.push(`  ${m.name}  ${m.reason}`)
  }
  if (s.held.length > 0) {
    lines.push(`held back, from the future (${s.held.length}):`)
    for (const v of s.held) lines.push(`  ${v.name}  ${new Date(v.timestamp).toISOString()}`)
  }
  const counters = Object.entries(s.counters ?? {}).sort(([a], [b]) => a < b ? -1 : 1)
  if (counters.length > 0) {
    lines.push('mesh counters (since start):')
    lines.push(table(counters.map(([k, v]) => ['  ' + k, String(v)])))
  }
  return lines.filter(l => l !== '').join('\n')
}
