// Issue 11, F7 (mesh part): serving content must not grow the daemon's memory without
// bound. Before, every fetch stream read the whole file into memory and wrote it into a
// stream nobody read: 8 connections × 8 streams for a 10 MB file took a daemon from
// 103 to 757 MiB. Now content is read from disk a chunk at a time, written with
// backpressure, and fetches being served are capped per peer and in total.
//
// A real daemon process (its RSS is read from /proc/<pid>/status) holds a 10 MiB file;
// 8 hand-driven libp2p peers (tests/mesh/rogue.ts) open 8 fetch streams each for it and
// never read (they pause the streams, so no window update ever comes back), re-opening
// any stream the daemon closes. Meanwhile an honest daemon joins and must receive the
// file. The RSS with and without the fix is printed ([fetch-memory] lines).
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { afterEach, expect, it } from 'vitest'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { sha256, signRecord } from '../../src/crypto/record.ts'
import { encodeRequest } from '../../src/mesh/fetch.ts'
import { PROTOCOLS } from '../../src/mesh/settings.ts'
import { frame } from '../../src/mesh/wire.ts'
import { startNode, type RunningNode } from '../helpers/daemon.ts'
import { RogueSet } from '../mesh/rogue.ts'

const MiB = 1024 * 1024
const ROGUES = Number(process.env.FETCH_MEMORY_ROGUES ?? 8) // the issue also measured 24
const STREAMS_PER_ROGUE = 8
const RSS_LIMIT_MIB = 300

const alice = generateSigningKey()
const files = { 'big.bin': [encodeBase64Key(alice.publicKey)] }
const nodes: RunningNode[] = []
const rogues = new RogueSet()
let stopAttack = (): void => {}
afterEach(async () => {
  stopAttack()
  await rogues.stopAll()
  await Promise.all(nodes.splice(0).map(async n => await n.stop()))
})

function rssMiB (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error(`no VmRSS for ${pid}`)
  return Math.round(Number(m[1]) / 1024)
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

it('F7: 8 peers × 8 fetch streams for a 10 MiB file that are never read keep the daemon under 300 MB RSS, and an honest node joining meanwhile receives the file', async () => {
  const victim = await startNode({ files })
  nodes.push(victim)
  const content = randomBytes(10 * MiB)
  const record = signRecord(alice, { name: 'big.bin', content })
  expect((await victim.client.updateFile(record, content)).outcome).toBe('ACCEPTED')
  const status = await victim.client.getStatus()
  const addr = status.addresses.find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))
  expect(addr).toBeDefined()
  const pid = victim.proc.pid!
  const before = rssMiB(pid)

  // the attack: every rogue keeps STREAMS_PER_ROGUE paused fetch streams open on its connection
  let attacking = true
  stopAttack = () => { attacking = false }
  const request = frame(encodeRequest(record))
  let opened = 0
  const pumps: Array<Promise<void>> = []
  for (let i = 0; i < ROGUES; i++) {
    const r = await rogues.start()
    const conn = await r.libp2p.dial(multiaddr(addr!), { signal: AbortSignal.timeout(10_000) })
    for (let k = 0; k < STREAMS_PER_ROGUE; k++) {
      pumps.push((async () => {
        while (attacking) {
          let s: Stream
          try {
            s = await conn.newStream(PROTOCOLS.fetch, { signal: AbortSignal.timeout(10_000), maxOutboundStreams: 100_000 })
          } catch { await sleep(200); continue }
          try {
            s.pause() // never read: the daemon's writes stop at the window, nothing drains
            s.send(request)
          } catch { await sleep(200); continue } // the daemon already reset it
          opened++
          await s.close().catch(() => {}) // our side is done; the daemon's side stays open
          await r.gone(s)
          await sleep(200)
        }
      })())
    }
  }
  let peak = before
  const sampler = setInterval(() => { try { peak = Math.max(peak, rssMiB(pid)) } catch {} }, 100)
  try {
    await sleep(3_000) // every stream asked: what each costs is committed by now
    // an honest node joins during the attack and must get the file from the victim
    const honest = await startNode({ files, cluster: { bootstrap_nodes: [`127.0.0.1:${victim.port}`] } })
    nodes.push(honest)
    const t0 = Date.now()
    for (;;) {
      const got = await honest.client.getFile('big.bin').catch(() => undefined)
      if (got !== undefined) {
        expect(Buffer.from(sha256(got.content)).equals(Buffer.from(record.sha256))).toBe(true)
        break
      }
      if (Date.now() - t0 > 90_000) throw new Error(`the honest node did not receive the file within 90 s (victim RSS peak ${peak} MiB)`)
      await sleep(250)
    }
    const took = Date.now() - t0
    await sleep(2_000)
    const counters = (await victim.client.getStatus()).counters
    console.log(`[fetch-memory] victim RSS before the attack ${before} MiB, peak during it ${peak} MiB (limit ${RSS_LIMIT_MIB}); ` +
      `${opened} fetch streams opened by ${ROGUES} peers; the honest node received the 10 MiB file in ${took} ms; ` +
      `victim counters: served ${counters['fetch.served'] ?? 0}, busy ${counters['fetch.busy'] ?? 0}`)
    expect(peak).toBeLessThan(RSS_LIMIT_MIB)
    expect(counters['fetch.busy'] ?? 0).toBeGreaterThan(0) // the surplus streams were turned away, not queued
  } finally {
    clearInterval(sampler)
    attacking = false
  }
  await Promise.race([Promise.allSettled(pumps), sleep(1_000)])
})
