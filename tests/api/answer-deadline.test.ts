// Review 11-R5: a raw HTTP/2 client that never reads (stream window 0) must not hold the
// API's upload, "other" or watch slots for ever: every unary answer not taken within
// answerTimeoutMs is cut off, and a watcher whose events wait watchDrainTimeoutMs is
// dropped. Against a real daemon over loopback TCP; the figures are printed.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { status as GrpcStatus } from '@grpc/grpc-js'
import { constants as http2 } from 'node:http2'
import type { ClientHttp2Session } from 'node:http2'
import { connect, type DataMesherClient } from '../../src/client/client.ts'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { encodeRecord, signRecord } from '../../src/crypto/record.ts'
import { API_LIMITS } from '../../src/api/limits.ts'
import { freePort, startNode, type RunningNode } from '../helpers/daemon.ts'
import { call, field, frame, outcome, session } from './raw-grpc.ts'

const alice = generateSigningKey()
let node: RunningNode
let tcp: string
let tcpClient: DataMesherClient
const sessions: ClientHttp2Session[] = []

beforeAll(async () => {
  tcp = `127.0.0.1:${await freePort()}`
  node = await startNode({ files: { tick: [encodeBase64Key(alice.publicKey)] }, listen: tcp })
  tcpClient = connect(`http://${tcp}`)
}, 60_000)
afterAll(async () => { for (const s of sessions) s.destroy(); tcpClient?.close(); await node?.stop() })

it('review 11-R5: answers a client never takes (window 0) are cut off in time; the upload, other and watch slots come back', async () => {
  const content = Buffer.from('v1')
  const record = signRecord(alice, { name: 'tick', content })
  expect((await node.client.updateFile(record, content)).outcome).toBe('ACCEPTED')

  // one session per 16 streams (grpc.max_concurrent_streams), all with a zero window
  const open = (): ClientHttp2Session => { const s = session(tcp, 0); sessions.push(s); return s }
  const stuck: Array<ReturnType<typeof call>> = []
  let s = open()
  const next = (method: string): ReturnType<typeof call> => {
    if (stuck.length > 0 && stuck.length % 16 === 0) s = open()
    const req = call(s, method)
    stuck.push(req)
    return req
  }
  // every upload slot: the identical record again (answered IDENTICAL, with a version: DATA)
  for (let i = 0; i < API_LIMITS.maxUploads; i++) next('UpdateFile').end(frame(Buffer.concat([field(1, encodeRecord(record)), field(2, content)])))
  // every "other" slot
  for (let i = 0; i < API_LIMITS.maxOtherCalls; i++) next('ListFiles').end(frame(Buffer.alloc(0)))
  // a watch with the current files: its first event can never be sent
  const watch = call(open(), 'WatchFiles')
  watch.end(frame(Buffer.from([0x10, 0x01]))) // include_current = true
  const t0 = Date.now()
  const ends = stuck.map(async r => { await outcome(r); return Date.now() - t0 })
  const watchEnd = outcome(watch).then(o => ({ ...o, after: Date.now() - t0 }))
  await new Promise(resolve => setTimeout(resolve, 1000))

  // an honest client over TCP: its upload and status wait for a slot, and get one
  const v2 = Buffer.from('v2')
  const up = await tcpClient.updateFile(signRecord(alice, { name: 'tick', content: v2 }), v2)
  const upAfter = Date.now() - t0
  expect(up.outcome).toBe('ACCEPTED')
  expect((await tcpClient.getStatus()).nodeId).toMatch(/^12D3KooW/)
  const statusAfter = Date.now() - t0
  const cut = await Promise.all(ends)
  const w = await watchEnd
  console.log(`[answer-deadline] R5: ${stuck.length} unread unary calls cut off after at most ${Math.max(...cut)} ms; honest TCP upload served after ${upAfter} ms, ` +
    `status after ${statusAfter} ms; the unread watch dropped after ${w.after} ms (status ${w.grpcStatus}, reset ${w.rstCode})`)
  // before the fix the honest upload waited waitTimeoutMs (30 s) and was refused
  expect(upAfter).toBeLessThan(API_LIMITS.answerTimeoutMs + 8_000)
  expect(Math.max(...cut)).toBeLessThan(API_LIMITS.answerTimeoutMs + 8_000)
  expect(w.after).toBeLessThan(API_LIMITS.watchDrainTimeoutMs + 8_000)
  expect(w.grpcStatus === GrpcStatus.RESOURCE_EXHAUSTED || w.rstCode === http2.NGHTTP2_ENHANCE_YOUR_CALM).toBe(true)
}, 90_000)
