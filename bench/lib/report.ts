// The table on stdout, and the plain statements of where data-mesher loses.
export interface Results {
  schema: number
  date: string
  command: string
  mode: string
  machine: Record<string, unknown>
  versions: Record<string, string>
  method: Record<string, string>
  results: Record<string, {
    datamesher: Record<string, unknown>
    serf: Record<string, unknown>
    ratio: Record<string, unknown>
    noise: Record<string, unknown>
    /** [min, max] of each figure over the runs (bench/lib/aggregate.ts) */
    spread?: Record<'datamesher' | 'serf' | 'ratio' | 'noise', Record<string, unknown>>
    runs?: unknown[]
  }>
  duration_s?: number
}

const fmt = (v: unknown, digits?: number): string => {
  if (v === undefined) return '—'
  if (v === null || (typeof v === 'number' && !Number.isFinite(v))) return 'n/a'
  if (typeof v === 'boolean') return v ? 'yes' : 'NO'
  if (typeof v === 'number') return digits === undefined ? String(v) : v.toFixed(digits)
  return String(v)
}

type Fig = Record<string, unknown>
const n = (v: unknown): string => fmt(v)

/**
 * The targets of issues 14 and 22 (issue 22's where both set one), each checked where the issue sets it (`at`: the cluster sizes;
 * undefined = every size). `value` reads the figure from data-mesher's results (d) and the
 * ratios to serf (q); a target is missed when the value is above `max`.
 */
interface Target { label: string, at?: number[], max: number, value: (d: Fig, q: Fig) => unknown, unit: string }
export const TARGETS: Record<string, Target> = {
  small_update_p50: { label: 'small-update p50', at: [25], max: 0.3, value: (_d, q) => q.small_update_p50, unit: '× serf' },
  small_update_p50_n50: { label: 'small-update p50', at: [50], max: 0.5, value: (_d, q) => q.small_update_p50, unit: '× serf' },
  small_update_cpu_per_node: { label: 'CPU per update per node', at: [25, 50], max: 2, value: (_d, q) => q.small_update_cpu_per_node, unit: '× serf' },
  small_update_wire_bytes_per_node: { label: 'bytes sent per update per node', at: [25], max: 2, value: (_d, q) => q.small_update_wire_bytes_per_node, unit: '× serf' },
  idle_cpu: { label: 'idle CPU', at: [25, 50], max: 1, value: (_d, q) => q.idle_cpu, unit: '× serf' },
  idle_rss: { label: 'idle RSS per node over the floor', max: 15, value: d => d.idle_rss_over_floor_mb, unit: 'MB over the floor' },
  start_all: { label: 'starting all daemons', max: 4, value: (_d, q) => q.start_all, unit: '× serf' },
  large_file_crossings: { label: '10 MiB content on the wire', max: 1.05, value: d => d.large_file_crossings_vs_ideal, unit: '× ideal' },
  catchup: { label: 'catch-up after reconnect', max: 1000, value: d => d.catchup_from_reconnect_ms, unit: 'ms' },
  failed_rounds: { label: 'failed small-update rounds', max: 0, value: d => d.small_update_failed_rounds, unit: '' }
}

/** "≤ 0.3× serf" for the figure `key` at size N, or '' when no target applies there. */
function targetText (N: number, ...keys: string[]): string {
  const t = keys.map(k => TARGETS[k]).find(t => t.at === undefined || t.at.includes(N))
  return t === undefined ? '' : `≤ ${withUnit(t.max, t.unit)}`
}

function withUnit (v: unknown, unit: string): string {
  return unit === '' ? fmt(v) : `${fmt(v)}${unit.startsWith('×') ? '' : ' '}${unit}`
}

/** Why data-mesher can lose on a figure: the mechanism, with this run's own numbers where they show it. */
export const WHY: Record<string, (d: Fig, s: Fig, q: Fig) => string> = {
  small_update_p50: (d, s) => `CPU, not the network, sets the pace here: a node spends ${n(d.small_update_cpu_ms_per_node)} ms of CPU per update (serf's agent ${n(s.small_update_cpu_ms_per_node)} ms): it receives the announcement with the content inline about ${n(d.small_update_full_copies_per_node)} times (one per eager link of the broadcast tree; short notices from its other ${n(d.peers_mean)} peers), verifies it, passes it on to the peers not known to have it, and writes content and record durably; all N nodes share this machine's 2 cores, so one update costs about N × that CPU before the last node has it (${n(d.small_update_per_hop_ms)} ms per hop measured)`,
  small_update_p99: () => 'as for p50; the slowest rounds are the ones where the CPU was also wanted by other work on the machine',
  small_update_cpu_per_node: (d, _s, q) => `per update and node data-mesher handles ~${n(d.small_update_full_copies_per_node)} full copies of the announcement (the broadcast tree) and about one notice per lazy link (of ~${n(d.peers_mean)} peers; a notice waits 250 ms and skips peers known to hold the version) over Noise-encrypted, yamux-multiplexed TCP in JavaScript, verifies an Ed25519 signature once, writes content and record durably (4 fsyncs, ~17 asynchronous file operations, each a round trip to libuv's thread pool) and notifies its watchers; every message on TCP costs a Noise encryption, a yamux frame and a socket write, all in JavaScript, at ~250 µs of CPU on each side (docs/DECISIONS.md, "Fewer frames and writes per message"); serf decodes a UDP packet and queues it for gossip. The floor measured in this run — relays of the same libp2p stack moving the same kinds of messages on the daemons' links, with the verify and the durable write, no daemon — took ${n(d.small_update_cpu_floor_ms_per_node)} ms per update per node (${n(q.small_update_cpu_floor)}× serf; the daemon ${n(q.small_update_cpu_over_floor)}× that floor), ${n(d.small_update_cpu_floor_without_store_ms_per_node)} ms without the durable write`,
  small_update_wire_bytes_per_node: (d) => `a node sends the record (~250 B) with the content (1 KiB, twice serf's payload) on its eager links (about one per receiver) and a ~50 B notice (${n(d.small_update_notice_bytes_per_node)} B per node in all) to its other ~${n(d.peers_mean)} peers, with yamux and Noise framing and TCP acknowledgements; serf's gossip piggybacks a ~500 B message on its periodic UDP packets, a few retransmissions per node`,
  idle_cpu: (d) => `each node is a Node.js process running libp2p with ~${n(d.peers_mean)} connections: a yamux keep-alive every 10 min on each and a ping (a new stream) only on one that carried nothing for 120 s, an anti-entropy digest exchange every ~5 s (fewer when peers start them; two frames on a kept stream, sync/5.0.0) and a peer exchange every ~30 s on a new stream, and the timers and garbage collection of a Node.js process; an idle serf agent sends one UDP probe per second and a push-pull every 30 s`,
  idle_rss: (d) => `a Node.js process (V8 heap, libp2p, gRPC, the QUIC native module) against one Go binary: an idle \`node\` with nothing loaded is already 40 MB (34 MB of it the code pages of its own binary, shared by every node process), a process that loads the daemon's packages and does nothing (the floor, measured in this run) holds ${n(d.floor_rss_mb)} MB (${n(d.floor_rss_anon_mb)} MB private); ${n(d.idle_rss_anon_mb)} MB of the ${n(d.idle_rss_mb)} MB are private (RssAnon); ${n(d.rss_before_large_mb)} MB before the 10 MiB file, ${n(d.idle_rss_mb)} MB after it (V8 keeps the heap it grew)`,
  idle_tx_bytes_per_s: (d) => `the anti-entropy digest every sync_interval (two frames on a kept stream), a peer exchange every ~30 s, keep-alives on the ~${n(d.peers_mean)} libp2p connections per node; serf's idle traffic is one probe/ack per node per second and a periodic push-pull`,
  idle_tx_packets_per_s: (d) => `each exchange (a sync round every ~5 s, a peer exchange on a new stream every ~30 s) is several TCP segments and acknowledgements, against serf's one UDP probe per second`,
  start_all: (d, s) => `a Node.js daemon compiles one 2 MB file holding libp2p, gRPC and protobufjs, loads the QUIC module, re-verifies its store and starts listening, and N of them start on 2 cores while the ones started already form the mesh; only loading the file N times (the start floor, measured in this run) took ${n(d.start_floor_ms)} ms against serf's ${n(s.start_all_ms)} ms for all N agents; serf is one static binary`
}

/** "32.3 [30.1–35.0]" when there were several runs, else "32.3". */
function withSpread (v: unknown, sp: unknown): string {
  if (!Array.isArray(sp) || sp.length !== 2 || sp[0] === sp[1]) return fmt(v)
  return `${fmt(v)} [${fmt(sp[0])}–${fmt(sp[1])}]`
}

export function printReport (r: Results): void {
  const lines: string[] = []
  lines.push('', `data-mesher vs serf — ${r.mode} run, ${r.date}`)
  lines.push(`machine: ${String(r.machine.cpus)} × ${String(r.machine.cpu_model)}, ${String(r.machine.memory_gb)} GB, kernel ${String(r.machine.kernel)}; load ${String(r.machine.loadavg_1m_start)} → ${String(r.machine.loadavg_1m_end)}`)
  lines.push(`versions: data-mesher ${r.versions.datamesher} (${r.versions.datamesher_commit}), serf ${r.versions.serf} (Debian ${r.versions.serf_package}), node ${r.versions.node}`)
  const losses: string[] = []
  const targets: string[] = []
  for (const [key, res] of Object.entries(r.results)) {
    const sp = res.spread
    // a figure's median with its spread over the runs: d('small_update_p50_ms'), s(…), q(…)
    const d = res.datamesher; const s = res.serf; const q = res.ratio
    const ds = (k: string): string => withSpread(d[k], sp?.datamesher[k])
    const ss = (k: string): string => withSpread(s[k], sp?.serf[k])
    const qs = (k: string): string => withSpread(q[k], sp?.ratio[k])
    const N = Number(key)
    const row = (label: string, dv: unknown, sv: unknown, ratio: unknown, target = ''): void => {
      lines.push(`  ${label.padEnd(44)} ${fmt(dv).padStart(22)} ${fmt(sv).padStart(22)} ${(ratio === undefined ? '' : fmt(ratio)).padStart(22)}  ${target}`)
    }
    const runs = res.runs?.length ?? 1
    lines.push('', `N = ${N}${runs > 1 ? ` (median of ${runs} runs [min–max])` : ''}`.padEnd(47) + 'data-mesher'.padStart(22) + ' ' + 'serf'.padStart(22) + ' ' + 'dm/serf'.padStart(22) + '  target')
    row('small update p50 (ms)', ds('small_update_p50_ms'), ss('small_update_p50_ms'), qs('small_update_p50'), targetText(N, 'small_update_p50', 'small_update_p50_n50'))
    row('small update p99 (ms)', ds('small_update_p99_ms'), ss('small_update_p99_ms'), qs('small_update_p99'))
    row('  payload (bytes) [serf: its largest]', d.small_update_bytes, s.small_update_bytes, undefined)
    row('  rounds (failed)', `${fmt(d.small_update_rounds)} (${fmt(d.small_update_failed_rounds)})`, `${fmt(s.small_update_rounds)} (${fmt(s.small_update_failed_rounds)})`, undefined, 'no failed round')
    row('  hops to the last node (p50); ms/hop', `${fmt(d.small_update_hops_max_p50)}; ${fmt(d.small_update_per_hop_ms)}`, undefined, undefined)
    row('  CPU per update per node (ms) [serf: agent]', ds('small_update_cpu_ms_per_node'), ss('small_update_cpu_ms_per_node'), qs('small_update_cpu_per_node'), targetText(N, 'small_update_cpu_per_node'))
    row('  floor: same messages, same stack (ms)', ds('small_update_cpu_floor_ms_per_node'), undefined, qs('small_update_cpu_floor'), `relays without the daemon (verify, durable write); data-mesher ${qs('small_update_cpu_over_floor')}× the floor`)
    row('    the same without the durable write (ms)', ds('small_update_cpu_floor_without_store_ms_per_node'), undefined, undefined, 'the messages, the verify and the stdout line only')
    row('  floor: full copies / notices sent per node', `${fmt(d.small_update_floor_full_copies_per_node)} / ${fmt(d.small_update_floor_notices_sent_per_node)}`, undefined, undefined, `data-mesher: ${fmt(d.small_update_full_copies_per_node)} / ${fmt(d.small_update_notices_sent_per_node)}`)
    row('  bytes sent per update per node', ds('small_update_wire_bytes_per_node'), ss('small_update_wire_bytes_per_node'), qs('small_update_wire_bytes_per_node'), targetText(N, 'small_update_wire_bytes_per_node'))
    row('  full copies received per update per node', d.small_update_full_copies_per_node, undefined, undefined, `ideal 1; ${fmt(d.small_update_duplicates_per_node)} duplicates`)
    row('  notice bytes sent per update per node', d.small_update_notice_bytes_per_node, undefined, undefined)
    row('10 MiB to all N: time (ms)', d.large_file_ms, undefined, undefined)
    row('  aggregate delivery (MiB/s)', d.large_file_mib_s, undefined, undefined)
    row(`  content on the wire (× 10 MiB; ideal ${N - 1})`, d.large_file_crossings, undefined, undefined, `${fmt(d.large_file_crossings_vs_ideal)} × ideal (${targetText(N, 'large_file_crossings')})`)
    row('catch-up from first connection (ms)', d.catchup_from_reconnect_ms, undefined, undefined, targetText(N, 'catchup'))
    row('catch-up from process start (ms)', d.catchup_from_start_ms, undefined, undefined)
    row('burst: accepted (updates/s)', d.burst_accepted_per_s, undefined, undefined, d.burst_truncated === true ? `submitting stopped at ${fmt(d.burst_submit_ms)} ms: ${fmt(d.burst_accepted)} of ${fmt(d.burst_updates)} accepted` : '')
    row('burst: CPU per update per node (ms)', d.burst_cpu_ms_per_update_per_node, undefined, undefined)
    row('burst: until all N agree (ms)', d.burst_converge_ms ?? `> ${fmt(Number(d.burst_submit_ms) + Number(d.burst_converge_limit_ms))}`, undefined, undefined, `${fmt(d.burst_nodes_agreeing)}/${N} agree at the end`)
    row('idle CPU per node (% of a core)', ds('idle_cpu_pct'), ss('idle_cpu_pct'), qs('idle_cpu'), targetText(N, 'idle_cpu'))
    row('idle RSS per node (MB)', ds('idle_rss_mb'), ss('idle_rss_mb'), qs('idle_rss'))
    row('  of which private (RssAnon, MB)', ds('idle_rss_anon_mb'), ss('idle_rss_anon_mb'), undefined, 'the rest: the binary\'s shared code pages')
    row('  floor: the packages loaded, idle (MB)', ds('floor_rss_mb'), undefined, undefined, `RssAnon ${ds('floor_rss_anon_mb')} MB`)
    row('  over the floor (MB)', ds('idle_rss_over_floor_mb'), undefined, undefined, `${targetText(N, 'idle_rss')}; RssAnon ${ds('idle_rss_anon_over_floor_mb')} MB over`)
    row('idle sent per node (bytes/s)', d.idle_tx_bytes_per_s, s.idle_tx_bytes_per_s, q.idle_tx_bytes_per_s)
    row('idle sent per node (packets/s)', d.idle_tx_packets_per_s, s.idle_tx_packets_per_s, q.idle_tx_packets_per_s)
    row('start all N (ms)', ds('start_all_ms'), ss('start_all_ms'), qs('start_all'), targetText(N, 'start_all'))
    row('  floor: loading the one file N times (ms)', ds('start_floor_ms'), undefined, qs('start_floor'), '`data-mesher --version`, 4 at a time, as the daemons start')
    row('formed after start (ms)', d.formed_ms, s.formed_ms, undefined)
    row('peers per node min/mean/max; serf alive', `${fmt(d.peers_min)}/${fmt(d.peers_mean)}/${fmt(d.peers_max)}`, `${fmt(s.members_alive_min)}/${N}`, undefined)
    row('converged after idle', d.converged_after_idle, s.converged_after_idle, undefined)
    row('other load during idle window (% core)', res.noise.idle_window_other_cpu_pct, undefined, undefined)
    for (const [k, why] of Object.entries(WHY)) {
      const v = q[k]
      if (typeof v === 'number' && v > 1) losses.push(`  N=${N}: ${k.replace(/_/g, ' ')} is ${v}× serf's — ${why(d, s, q)}.`)
    }
    const miss = (cond: boolean, what: string): void => { if (cond) losses.push(`  N=${N}: target missed: ${what}`) }
    for (const t of Object.values(TARGETS)) {
      if (t.at !== undefined && !t.at.includes(N)) continue
      const v = t.value(d, q)
      const measured = typeof v === 'number' && Number.isFinite(v)
      miss(measured && v > t.max, `${t.label} ${withUnit(v, t.unit)} (target ≤ ${withUnit(t.max, t.unit)})`)
      targets.push(`  N=${N}: ${t.label} ${withUnit(v, t.unit)}, target ≤ ${withUnit(t.max, t.unit)}: ${!measured ? 'not measured' : v > t.max ? 'MISSED' : 'met'}`)
    }
    miss(d.converged_after_idle !== true || d.burst_nodes_agreeing !== N, 'the cluster did not stay converged')
  }
  lines.push('', 'Targets (the medians above):', ...targets)
  if (losses.length > 0) lines.push('', 'Where data-mesher loses, and why:', ...losses)
  else lines.push('', 'data-mesher is ahead of serf on every comparable figure and meets every target in this run.')
  lines.push('', 'Absolute times on a shared 2-core machine are noise; compare the dm/serf ratios (both systems ran interleaved in the same minutes).', '')
  console.log(lines.join('\n'))
}
