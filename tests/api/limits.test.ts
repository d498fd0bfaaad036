// F7 through gRPC: hostile local clients (raw HTTP/2, tests/api/raw-grpc.ts) that never read
// or never finish sending, against a real daemon process. Each attack must leave the
// daemon under 300 MB RSS and serving honest clients; the figures are printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { status as GrpcStatus } from '@grpc/grpc-js'
import { constants as http2 } from 'node:http2'
import { readFileSync } from 'node:fs'
import type { ClientHttp2Session } from 'node:http2'
import { connect, type DataMesherClient } from '../../src/client/client.ts'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { API_LIMITS } from '../../src/api/limits.ts'
import { freePort, startNode, type RunningNode } from '../helpers/daemon.ts'
import { call, field, frame, outcome, session } from './raw-grpc.ts'

const MiB = 1024 * 1024
const EVENTS = 300
const RSS_LIMIT = 300 * MiB
const alice = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
let node: RunningNode
let tcp: string
let tcpClient: DataMesherClient

function rss (): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${node.proc.pid!}/status`, 'utf8'))
  return Number(m![1]) * 1024
}

/** Samples RSS every 50 ms until stopped; `peak` so far. Stops the attack early (fails) past 2x the limit. */
function sampler (abort: () => void): { peak: () => number, stop: () => number } {
  let peak = rss()
  const t = setInterval(() => {
    peak = Math.max(peak, rss())
    if (peak > 2 * RSS_LIMIT) abort() // spare the shared machine: the test has failed already
  }, 50)
  return { peak: () => peak, stop: () => { clearInterval(t); return peak } }
}

const fmt = (b: number): string => `${(b / MiB).toFixed(0)} MiB`
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** What an honest client must still get during an attack: status, and an upload, on the socket. */
async function honestClientServed (label: string): Promise<void> {
  const t0 = Date.now()
  const status = await node.client.getStatus()
  expect(status.nodeId).toMatch(/^12D3KooW/)
  const res = await node.client.publish(alice, 'tick', Buffer.from(`${label} ${Date.now()}`))
  expect(res.outcome).toBe('ACCEPTED')
  console.log(`  ${label}: honest status + upload on the socket answered in ${Date.now() - t0} ms`)
}

type Outcome = Awaited<ReturnType<typeof outcome>>

/** The outcomes of `reqs` as they end; `settled` waits until all have or `ms` pass. */
function track (reqs: ReturnType<typeof call>[]): { ended: Outcome[], settled: (ms: number) => Promise<Outcome[]>, summary: () => string } {
  const ended: Outcome[] = []
  const all = Promise.all(reqs.map(async r => { const o = await outcome(r); ended.push(o); return o }))
  return {
    ended,
    settled: async ms => { await Promise.race([all, sleep(ms)]); return [...ended] },
    summary: () => {
      const counts = new Map<string, number>()
      for (const o of ended) { const k = o.grpcStatus !== undefined ? `status ${GrpcStatus[o.grpcStatus]}` : `reset ${o.rstCode ?? '?'}`; counts.set(k, (counts.get(k) ?? 0) + 1) }
      return `${ended.length}/${reqs.length} ended: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`
    }
  }
}

/** RESOURCE_EXHAUSTED, as a status or as the HTTP/2 reset grpc-js clients read as that status */
function refusedForResources (o: Outcome): boolean {
  return o.grpcStatus === GrpcStatus.RESOURCE_EXHAUSTED || o.rstCode === http2.NGHTTP2_ENHANCE_YOUR_CALM
}

function closeAll (sessions: ClientHttp2Session[]): void {
  for (const s of sessions) s.destroy()
}

beforeAll(async () => {
  const port = await freePort()
  tcp = `127.0.0.1:${port}`
  node = await startNode({ files: { big: [A], tick: [A] }, listen: tcp })
  tcpClient = connect(`http://${tcp}`)
  await node.client.publish(alice, 'big', Buffer.alloc(10 * MiB, 1))
  await sleep(1000)
  console.log(`F7 daemon RSS at rest with a 10 MiB file: ${fmt(rss())}`)
}, 60_000)
afterAll(async () => { tcpClient?.close(); await node?.stop() })

describe('gRPC memory bounds (F7)', () => {
  it('40 GetFile streams of a 10 MiB file that are never read (unix socket): bounded, slots taken back, honest clients served', async () => {
    const before = rss()
    const sessions = Array.from({ length: 4 }, () => session(node.url))
    const s = sampler(() => closeAll(sessions))
    const reqs = Array.from({ length: 40 }, (_, i) => {
      const req = call(sessions[i % sessions.length], 'GetFile')
      req.end(frame(field(1, 'big'))) // and never read the answer
      return req
    })
    const t = track(reqs)
    await sleep(3000)
    const during = s.peak()
    await honestClientServed('unread GetFile')
    // the admitted ones are cut off after sendTimeoutMs; the waiting ones are refused after waitTimeoutMs
    const ended = await t.settled(API_LIMITS.sendTimeoutMs + API_LIMITS.waitTimeoutMs + 15_000)
    console.log('  ' + t.summary())
    const peak = s.stop()
    closeAll(sessions)
    const exhausted = ended.filter(refusedForResources).length
    const cut = ended.filter(o => !refusedForResources(o)).length
    console.log(`  unread GetFile x40: RSS ${fmt(before)} -> peak ${fmt(peak)} (${fmt(during)} in the first 3 s); ${cut} cut off after ${API_LIMITS.sendTimeoutMs / 1000} s, ${exhausted} refused after waiting ${API_LIMITS.waitTimeoutMs / 1000} s`)
    expect(peak).toBeLessThan(RSS_LIMIT)
    expect(ended.length).toBe(40)
    expect(cut).toBeGreaterThanOrEqual(API_LIMITS.maxContentReads)
    expect(exhausted).toBeGreaterThan(0)
    // the slots are back: an honest read of the big file works
    expect((await node.client.getFile('big')).content.length).toBe(10 * MiB)
  }, 120_000)

  it('40 GetFile streams of a 10 MiB file over TCP, never read: refused at once (no content over TCP), memory flat', async () => {
    const before = rss()
    const sessions = Array.from({ length: 4 }, () => session(tcp))
    const s = sampler(() => closeAll(sessions))
    const reqs = Array.from({ length: 40 }, (_, i) => {
      const req = call(sessions[i % sessions.length], 'GetFile')
      req.end(frame(field(1, 'big')))
      return req
    })
    const t = track(reqs)
    const ended = await t.settled(20_000)
    const peak = s.stop()
    closeAll(sessions)
    console.log(`  unread GetFile x40 over TCP: RSS ${fmt(before)} -> peak ${fmt(peak)}; ${t.summary()}`)
    expect(ended.filter(o => o.grpcStatus === GrpcStatus.PERMISSION_DENIED)).toHaveLength(40)
    expect(peak).toBeLessThan(RSS_LIMIT)
  }, 60_000)

  it('30 half-sent 10 MiB UpdateFile messages over TCP: bounded, timed out, honest clients served', async () => {
    const before = rss()
    const sessions = Array.from({ length: 30 }, () => session(tcp)) // one connection each: http2's own per-connection memory cap does not come into play
    const s = sampler(() => closeAll(sessions))
    const chunk = Buffer.alloc(MiB, 2)
    const reqs = Array.from({ length: 30 }, (_, i) => {
      const req = call(sessions[i], 'UpdateFile')
      req.write(frame(Buffer.alloc(0), 10 * MiB + 1000)) // announces a 10 MiB message...
      for (let k = 0; k < 10; k++) req.write(chunk) // ...sends all but the last 1000 bytes, and stalls
      return req
    })
    const t = track(reqs)
    await sleep(5000)
    const during = s.peak()
    await honestClientServed('half-sent UpdateFile')
    // every 15 s the admitted ones time out and waiting ones take their slots; after
    // waitTimeoutMs the rest are refused
    const ended = await t.settled(API_LIMITS.waitTimeoutMs + API_LIMITS.receiveTimeoutMs + 15_000)
    console.log('  ' + t.summary())
    const peak = s.stop()
    closeAll(sessions)
    const exhausted = ended.filter(refusedForResources).length
    const timedOut = ended.filter(o => o.grpcStatus === GrpcStatus.DEADLINE_EXCEEDED).length
    console.log(`  half-sent UpdateFile x30: RSS ${fmt(before)} -> peak ${fmt(peak)} (${fmt(during)} in the first 5 s); ${timedOut} admitted and timed out after ${API_LIMITS.receiveTimeoutMs / 1000} s, ${exhausted} refused without being read`)
    expect(peak).toBeLessThan(RSS_LIMIT)
    expect(ended.length).toBe(30)
    expect(exhausted + timedOut).toBe(30)
    expect(timedOut).toBeGreaterThanOrEqual(API_LIMITS.maxUploads)
    // TCP uploads work again once the stalled ones are gone
    expect((await tcpClient.publish(alice, 'tick', Buffer.from('after'))).outcome).toBe('ACCEPTED')
  }, 120_000)

  it('1,000 idle WatchFiles streams over TCP and 300 events: watchers capped, non-readers dropped with RESOURCE_EXHAUSTED', async () => {
    const before = rss()
    const perSession = API_LIMITS.maxStreamsPerConnection
    const sessions = Array.from({ length: Math.ceil(1000 / perSession) }, () => session(tcp))
    const s = sampler(() => closeAll(sessions))
    const reqs = Array.from({ length: 1000 }, (_, i) => {
      const req = call(sessions[Math.floor(i / perSession)], 'WatchFiles')
      req.end(frame(Buffer.alloc(0))) // all names; never read
      return req
    })
    const t = track(reqs)
    await sleep(3000)
    const watch = await node.client.watchFiles({ names: ['tick'] }) // an honest watcher on the socket
    let seen = 0
    void (async () => { for await (const _ of watch) seen++ })().catch(() => {})
    const content = Buffer.alloc(8 * 1024, 3) // events carry metadata only; content size does not matter
    for (let i = 0; i < EVENTS; i++) await node.client.publish(alice, 'tick', Buffer.concat([content, Buffer.from(String(i))]))
    await honestClientServed('idle watchers')
    const ended = await t.settled(20_000)
    console.log('  ' + t.summary())
    const peak = s.stop()
    closeAll(sessions)
    watch.cancel()
    const exhausted = ended.filter(refusedForResources).length
    console.log(`  idle WatchFiles x1000 + 300 events: RSS ${fmt(before)} -> peak ${fmt(peak)}; ${exhausted} refused or dropped; the honest watcher saw ${seen} events`)
    expect(peak).toBeLessThan(RSS_LIMIT)
    expect(seen).toBeGreaterThanOrEqual(EVENTS + 1)
    expect(exhausted).toBe(1000) // 936 refused at once, the 64 admitted dropped once maxQueuedEvents waited for them
  }, 180_000)
})
