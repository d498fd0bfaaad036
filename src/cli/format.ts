// Human and --json renderings of what the daemon returns.
import type { FileVersion } from '../client/client.js'

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
