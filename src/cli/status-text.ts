// `data-mesher status` for a person: who this node is, its certificate, its peers (verified
// or not, with their certificates' ends), every file's version (when it was signed, by
// whom, whether it is delivered), what is held back and what was refused and why. The
// --json form (statusJson) carries the same for scripts.
import type { FileVersion, Status } from '../client/client.js'
import type { Peer, Refusal } from '../proto/messages.js'
import { state, table as padded, versionJson } from './format.js'

const DAY = 86_400_000

/** "in 3 days", "5 min ago": how far `t` is from `now`, roughly. */
export function relative (t: number, now: number): string {
  const d = t - now
  const a = Math.abs(d)
  const amount = a < 60_000 ? `${Math.round(a / 1000)} s` : a < 3_600_000 ? `${Math.round(a / 60_000)} min` : a < 2 * DAY ? `${Math.round(a / 3_600_000)} h` : `${Math.floor(a / DAY)} days`
  return d >= 0 ? `in ${amount}` : `${amount} ago`
}

/** columns aligned; a row's empty last cells are left out (no trailing blanks) */
function table (rows: string[][]): string {
  return padded(rows.map(r => {
    let n = r.length
    while (n > 1 && r[n - 1] === '') n--
    return r.slice(0, n)
  }))
}

const iso = (t: number): string => new Date(t).toISOString()
/** a signer key shortened for reading (the full key is in --json) */
const shortKey = (k: Uint8Array): string => Buffer.from(k).toString('base64').slice(0, 12) + '…'

function certificateEnd (name: string, notAfter: number, now: number): string {
  if (notAfter === 0) return ''
  return notAfter > now ? `certificate "${name}" ends ${iso(notAfter)} (${relative(notAfter, now)})` : `certificate "${name}" ENDED ${iso(notAfter)}`
}

function peerRow (p: Peer, verified: boolean, now: number): string[] {
  return ['  ' + p.peerId, verified ? 'verified' : 'UNVERIFIED', p.address, `since ${iso(p.since)}`,
    p.latencyMs > 0 ? `${p.latencyMs.toFixed(1)} ms` : '-', certificateEnd(p.certificateName, p.certificateNotAfter, now)]
}

function fileRow (v: FileVersion, now: number): string[] {
  return ['  ' + v.name, `${iso(v.timestamp)} (${relative(v.timestamp, now)})`, `signer ${shortKey(v.signer)}`, state(v),
    v.tombstone ? '' : `${v.size} B`, v.expires === 0 ? '' : `${v.expires > now ? 'expires' : 'expired'} ${iso(v.expires)}`]
}

function refusalRow (r: Refusal, now: number): string[] {
  return ['  ' + r.name, r.code, `×${r.count}`, `last ${relative(r.at, now)}`, `from ${r.origin}`, `signer ${shortKey(r.signer)}`, r.reason]
}

export function statusText (s: Status, now = Date.now()): string {
  const lines = [`node     ${s.nodeId}`, `key      ${s.publicKey}`, `version  ${s.version}`]
  if (s.networkId !== '') {
    lines.push(`network  ${s.networkId}`)
    const left = s.certificateNotAfter - now
    lines.push(`certificate "${s.certificateName}" ${left > 0 ? 'expires' : 'EXPIRED'} ${iso(s.certificateNotAfter)}` +
      (left > 0 ? ` (in ${Math.floor(left / DAY)} days)` : ''))
  }
  lines.push('addresses:')
  for (const a of s.addresses) lines.push(`  ${a}`)
  const unverified = s.unverified ?? []
  lines.push(`peers: ${s.peers.length} verified` + (unverified.length > 0 ? `, ${unverified.length} connected and not verified` : '') + (s.peers.length === 0 ? ' (none: this node replicates nothing until it has one)' : ''))
  lines.push(table([...s.peers.map(p => peerRow(p, true, now)), ...unverified.map(p => peerRow(p, false, now))]))
  const delivered = s.files.filter(v => v.delivered).length
  lines.push(`files: ${s.files.length} (${delivered} delivered)`)
  lines.push(table(s.files.map(v => fileRow(v, now))))
  // configured names with no valid version here, and why (issue 19: e.g. revoked, below a floor)
  const missing = s.missing ?? []
  if (missing.length > 0) {
    lines.push(`no valid version (${missing.length}):`)
    for (const m of missing) lines.push(`  ${m.name}  ${m.reason}`)
  }
  if (s.held.length > 0) {
    lines.push(`held back, signed in the future (${s.held.length}; each is judged again when its time comes):`)
    lines.push(table(s.held.map(v => ['  ' + v.name, `${iso(v.timestamp)} (${relative(v.timestamp, now)})`, `signer ${shortKey(v.signer)}`])))
  }
  const refused = s.refused ?? []
  if (refused.length > 0) {
    lines.push(`refused lately (${refused.length}; the latest per name and reason, newest first):`)
    lines.push(table(refused.map(r => refusalRow(r, now))))
  }
  const counters = Object.entries(s.counters ?? {}).sort(([a], [b]) => a < b ? -1 : 1)
  if (counters.length > 0) {
    lines.push('mesh counters (since start):')
    lines.push(table(counters.map(([k, v]) => ['  ' + k, String(v)])))
  }
  return lines.filter(l => l !== '').join('\n')
}

/** --json: the daemon's answer with times also as ISO strings, keys as base64, hashes as hex. */
export function statusJson (s: Status): Record<string, unknown> {
  return {
    ...s,
    files: s.files.map(versionJson),
    held: s.held.map(versionJson),
    refused: (s.refused ?? []).map(r => ({ ...r, signer: Buffer.from(r.signer).toString('base64'), time: iso(r.timestamp), lastRefused: iso(r.at) }))
  }
}
