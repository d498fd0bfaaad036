// Issue 18, "fair under a member": one member of the network (a valid node certificate, a
// namespace of its own) announces version after version of its own namespace file
// `machines/<its key>`, hands over its genuine certificate when asked, and never serves
// the content (silent), or trickles it just above the fetch's minimum rate. The admin's
// 1 KiB `authorized_keys` update must still reach every honest node about as fast as
// without the attacker, and no honest node may grow much. The phases, as the issue
// measured them on the code before fair scheduling: 64 silent versions (admin's update
// 27–65 s late), 16 trickled 10 MiB versions (49 s), a 40 s burst (~22,000 versions: 600 s,
// +195 MiB). Each phase prints its figures ([member-flood] lines).
//
// The attacker is a real in-process node (it passed admission with its certificate) whose
// fetch and record-cert handlers the test replaces; it writes FULL messages by hand.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Stream } from '@libp2p/interface'
import { afterEach, expect, it } from 'vitest'
import { encodeCertificate, issueCertificate } from '../../src/crypto/certificate.ts'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { encodeRecord, signRecord } from '../../src/crypto/record.ts'
import type { NetworkIdentity } from '../../src/config/network.ts'
import { PROTOCOLS } from '../../src/mesh/settings.ts'
import { StreamReader, frame, u64, concat } from '../../src/mesh/wire.ts'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.ts'
import { fullMessage } from './rogue.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const MiB = 1024 * 1024
const DAY = 86_400_000
const BURST_MS = Number(process.env.MEMBER_FLOOD_BURST_MS ?? 40_000)

let cluster: Cluster | undefined
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map(async c => await c()))
  await cluster?.close(); cluster = undefined
})

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

const net = generateSigningKey()
function identityIn (key: SigningKey): NetworkIdentity {
  const c = issueCertificate(net, { subject: key.publicKey, name: 'n', validity: 90 * DAY })
  return { id: net.publicKey, trusted: [net.publicKey], certificate: c, certificateBytes: encodeCertificate(c) }
}

/** Process memory in use by JS (heap and array buffers), sampled for its peak. */
class Memory {
  private readonly start: number
  private peakBytes: number
  private readonly timer: NodeJS.Timeout
  constructor () {
    gc()
    this.start = Memory.now()
    this.peakBytes = this.start
    this.timer = setInterval(() => { this.peakBytes = Math.max(this.peakBytes, Memory.now()) }, 50)
    cleanups.push(() => clearInterval(this.timer))
  }

  static now (): number { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
  peak (): number { return Math.round((this.peakBytes - this.start) / MiB) }
}

it('a member announcing versions it never serves (silent, trickled, a 40 s burst) does not hold up the admin\'s update, and is finally cut off', async () => {
  cluster = new Cluster({ transports: ['tcp'], names: ['authorized_keys'], syncInterval: 5_000 })
  const keys = Array.from({ length: 5 }, () => generateSigningKey())
  const nodes: TestNode[] = []
  for (const [i, key] of keys.slice(0, 4).entries()) {
    nodes.push(await cluster.add(`h${i}`, { identityKey: key, network: identityIn(key), namespaces: ['machines'], bootstrap: nodes.map(n => n.hostPort) }))
  }
  const mKey = keys[4]
  const mIdentity = identityIn(mKey)
  const member = await cluster.add('member', { identityKey: mKey, network: mIdentity, namespaces: ['machines'], bootstrap: nodes.map(n => n.hostPort) })
  await connected([...nodes, member], 4)
  const [h0, ...others] = nodes
  const honestIds = new Set(nodes.map(n => n.peerId))

  // the member's own handlers: its genuine certificate for any record, content per the phase
  let mode: 'silent' | 'trickle' | 'not-here' = 'silent'
  const fetchAsks = new Map<string, number>() // honest peer → fetch requests
  const held: Stream[] = []
  cleanups.push(() => { for (const s of held) s.abort(new Error('test over')) })
  const lib = member.mesh.libp2p
  await lib.unhandle(PROTOCOLS.recordCert)
  await lib.handle(PROTOCOLS.recordCert, async (stream) => {
    const reader = new StreamReader(stream, Date.now() + 5000, 64)
    try {
      await reader.frame(32)
      stream.send(frame(mIdentity.certificateBytes))
      await stream.close()
    } catch (err) { stream.abort(err as Error) }
  }, { maxInboundStreams: 1024 })
  await lib.unhandle(PROTOCOLS.fetch)
  await lib.handle(PROTOCOLS.fetch, async (stream, conn) => {
    const peer = conn.remotePeer.toString()
    fetchAsks.set(peer, (fetchAsks.get(peer) ?? 0) + 1)
    held.push(stream)
    if (mode === 'silent') return // never answers
    if (mode === 'not-here') {
      stream.send(frame(Uint8Array.of(1)))
      await stream.close().catch(() => {})
      return
    }
    // header at once, then 16 KiB every 50 ms (320 KiB/s: just above fetchMinRate)
    const reader = new StreamReader(stream, Date.now() + 5000, 1024)
    try {
      await reader.frame(1024)
      stream.send(frame(concat([Uint8Array.of(0), u64(10 * MiB)])))
      const chunk = new Uint8Array(16 * 1024)
      while (stream.status === 'open') { stream.send(chunk); await sleep(50) }
    } catch {}
  }, { maxInboundStreams: 1024 })

  const name = `machines/${base64url(mKey.publicKey)}`
  let ts = Date.now()
  const version = (size: number): Uint8Array => {
    const content = new Uint8Array(size)
    content[0] = ts & 0xff
    return encodeRecord(signRecord(mKey, { name, network: net.publicKey, content, timestamp: ++ts }))
  }
  // one announce stream per honest node, written by hand
  const streams = new Map<string, Stream>()
  const announceTo = async (n: TestNode, records: Uint8Array[]): Promise<void> => {
    let s = streams.get(n.peerId)
    if (s === undefined || s.status !== 'open') {
      const conn = lib.getConnections().find(c => c.remotePeer.toString() === n.peerId && c.status === 'open')
      if (conn === undefined) return // cut off
      s = await conn.newStream(PROTOCOLS.announce, { signal: AbortSignal.timeout(5000) })
      streams.set(n.peerId, s)
    }
    for (const r of records) {
      for (const m of fullMessage(r)) if (!s.send(m)) await s.onDrain({ signal: AbortSignal.timeout(60_000) }).catch(() => {})
    }
  }
  cleanups.push(() => { for (const s of streams.values()) s.abort(new Error('test over')) })

  /** ms from the admin's update being stored at h0 (its API) until every other honest node has it */
  let seq = 0
  const adminUpdate = async (): Promise<number> => {
    const r = await h0.upload({ name: 'authorized_keys', content: new Uint8Array(1024).fill(++seq), timestamp: Date.now() })
    const t0 = performance.now()
    await converged(r, others, 120_000)
    return Math.round(performance.now() - t0)
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const baseline = median([await adminUpdate(), await adminUpdate(), await adminUpdate()])
  const memory = new Memory()
  const asked = (min: number): boolean => others.every(n => (fetchAsks.get(n.peerId) ?? 0) >= min)

  // 1. 64 silent versions
  const silent = Array.from({ length: 64 }, () => version(100 * 1024))
  await Promise.all(nodes.map(async n => await announceTo(n, silent)))
  await waitFor(() => asked(1), 'every honest node asked the member for content')
  const tSilent = await adminUpdate()

  // 2. 16 trickled 10 MiB versions
  mode = 'trickle'
  const before = new Map(fetchAsks)
  const trickled = Array.from({ length: 16 }, () => version(10 * MiB))
  await Promise.all(nodes.map(async n => await announceTo(n, trickled)))
  await waitFor(() => others.every(n => (fetchAsks.get(n.peerId) ?? 0) > (before.get(n.peerId) ?? 0)), 'every honest node fetches a trickled version')
  const tTrickle = await adminUpdate()

  // 3. a burst of ~550 versions a second (as measured: ~22,000 in 40 s), the admin's update
  // in the middle. Signed ahead (1 KiB each, announced without content, so each needs a
  // fetch): the member shares this process's CPU with the honest nodes, and signing is its
  // own cost, not theirs.
  mode = 'silent'
  const burstVersions = Array.from({ length: Math.round(BURST_MS * 0.55) }, () => version(1024))
  let sent = 0
  let burstOn = true
  const cpu0 = process.cpuUsage()
  const burst = (async () => {
    const t0 = Date.now()
    while (burstOn && sent < burstVersions.length) {
      const due = Math.min(burstVersions.length, Math.round((Date.now() - t0) * 0.55))
      const batch = burstVersions.slice(sent, Math.max(due, sent + 1))
      await Promise.all(nodes.map(async n => await announceTo(n, batch).catch(() => {})))
      sent += batch.length
      await sleep(20)
    }
  })()
  cleanups.push(() => { burstOn = false })
  // three updates during the burst (a quarter, half and three quarters in): their median
  const during: number[] = []
  for (let i = 1; i <= 3; i++) {
    await sleep(BURST_MS / 4 - (during[i - 2] ?? 0))
    during.push(await adminUpdate())
  }
  const tBurst = median(during)
  await burst
  const cpu = process.cpuUsage(cpu0)
  const peak = memory.peak()
  const stats = nodes.map(n => n.mesh.stats())
  console.log(`[member-flood] admin's 1 KiB update: ${baseline} ms without attack; ${tSilent} ms with 64 silent versions; ${tTrickle} ms with 16 trickled 10 MiB versions; ` +
    `${tBurst} ms (median of ${during.join(', ')}) in a ${BURST_MS / 1000} s burst of ${sent} versions; JS memory peak +${peak} MiB over all nodes; CPU of the whole process (member included) during the burst ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; ` +
    `strikes ${stats.map(s => s.fetch.strikes).join('/')}, ` +
    `shed ${stats.map(s => s.offers.shed).join('/')}, hedged ${stats.map(s => s.fetch.hedged).join('/')}`)
  for (const t of [tSilent, tTrickle, tBurst]) expect(t).toBeLessThan(Math.max(5_000, 2 * baseline))
  // all four honest nodes and the member share this process: 30 MiB a node on average, far
  // below the issue's 50 MB for one node (most of it the trickled fetches: up to
  // fetchPerPeerSlots × 10 MiB buffered per node until they fail)
  expect(peak).toBeLessThan(120)
  // its silence cost it standing (a strike per version it left unserved) ...
  for (const s of stats) expect(s.fetch.strikes).toBeGreaterThan(0)

  // 4. ... and announcing what it cannot serve, again and again, is a fault: answering
  // "not here" for versions it just announced, it is cut off by every honest node
  mode = 'not-here'
  const t0 = performance.now()
  // (its fetch slots may still be held by silent fetches of the burst: those end at their deadline)
  const heard = (): boolean => nodes.some(n => n.mesh.status().peers.some(p => p.peerId === member.peerId))
  for (let i = 0; i < 600 && heard(); i++) {
    await Promise.all(nodes.map(async n => await announceTo(n, [version(1024)]).catch(() => {})))
    await sleep(100)
  }
  await waitFor(() => nodes.every(n => n.mesh.stats().peers.penalized > 0), 'every honest node cut the member off', [], 10_000)
  console.log(`[member-flood] answering "not here" to its own announcements: cut off by every honest node after ${Math.round(performance.now() - t0)} ms`)
  expect(nodes.every(n => !n.mesh.status().peers.some(p => p.peerId === member.peerId))).toBe(true)
  // the honest nodes punished nobody else
  expect(nodes.every(n => n.mesh.stats().peers.penalized === 1)).toBe(true)
  expect(honestIds.size).toBe(4)
}, 240_000)
