// Property-based fuzzing of everything a mesh peer parses (src/mesh): the frame reader
// (wire.ts), and each protocol's messages as its handler reads them — announce frames,
// the fetch request and the fetch response header, the sync request, the sync answer and
// its record list, the peer list. Arbitrary bytes, arbitrarily chunked, and mutations of
// valid messages. Properties:
//  - nothing but the module's typed WireError ever comes out (a handler never throws, and
//    what it aborts a stream with is a WireError with a readable message); a peer is
//    punished exactly when the error is the peer's fault;
//  - a length prefix above the limit is refused as soon as the prefix is complete, before
//    any payload is awaited or allocated; buffered input is capped;
//  - what does come through is exactly what was sent (framing round-trips, records
//    re-encode to the received bytes), and the fetch server only ever serves verified
//    content of a record it holds;
//  - end to end over a real connection (a few runs): fuzzed input never changes a node's
//    replica, and the node keeps converging.
// FUZZ_RUNS (default 300) and FUZZ_SEED set the count and the seed; FUZZ_E2E_RUNS the
// end-to-end count (default 6).
import { createHash, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodeRecord, encodeRecord, signRecord, type SignedRecord } from '../../src/crypto/record.ts'
import { authorization } from '../../src/rule/which-version-wins.ts'
import { Replica } from '../../src/store/replica.ts'
import { Announcer, MAX_MESSAGE_FRAME, encodeGraft } from '../../src/mesh/announce.ts'
import { Fetcher } from '../../src/mesh/fetch.ts'
import { recordId } from '../../src/crypto/record.ts'
import { decodePeers, PeerExchange } from '../../src/mesh/peer-exchange.ts'
import { Syncer } from '../../src/mesh/sync.ts'
import { CURRENT_SLOT, encodeEntry } from '../../src/mesh/sync-summary.ts'
import type { MeshLibp2p } from '../../src/mesh/node.ts'
import type { MeshContext } from '../../src/mesh/context.ts'
import { DEFAULT_MESH_SETTINGS, MAX_RECORD_FRAME, PROTOCOLS } from '../../src/mesh/settings.ts'
import { StreamReader, WireError, concat, encodeVarint, frame, u16, u32, u64 } from '../../src/mesh/wire.ts'
import { keys, policy } from '../helpers/keys.ts'
import { quietLog, tempDir } from '../helpers/fs.ts'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from '../mesh/helpers.ts'
import { Rogue } from '../mesh/rogue.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
const SEED = Number(process.env.FUZZ_SEED ?? 20261121)
const E2E_RUNS = Number(process.env.FUZZ_E2E_RUNS ?? 6)
const opts = { seed: SEED, numRuns: RUNS }
const S = DEFAULT_MESH_SETTINGS

// --- a stream whose remote side is a script of byte chunks -------------------------------

/**
 * Enough of a libp2p Stream for the mesh code: the remote's bytes are delivered (in the
 * given chunks) once the reader listens, then the remote closes its side unless `hold`.
 * Records what the local side sends and what it aborts the stream with.
 */
class ScriptedStream extends EventTarget {
  status: 'open' | 'aborted' = 'open'
  writeStatus = 'writable'
  readonly sent: Uint8Array[] = []
  aborted?: Error
  private started = false
  constructor (private readonly script: Uint8Array[], private readonly hold = false) { super() }

  override addEventListener (...args: Parameters<EventTarget['addEventListener']>): void {
    super.addEventListener(...args)
    if (args[0] === 'message' && !this.started) {
      this.started = true
      setImmediate(() => {
        for (const data of this.script) {
          if (this.status !== 'open') return
          this.dispatchEvent(Object.assign(new Event('message'), { data }))
        }
        if (!this.hold && this.status === 'open') this.dispatchEvent(new Event('remoteCloseWrite'))
      })
    }
  }

  send (data: Uint8Array): boolean {
    if (this.status !== 'open') throw new Error('stream is closed')
    this.sent.push(Uint8Array.from(data))
    return true
  }

  async onDrain (): Promise<void> {}
  async close (): Promise<void> { this.writeStatus = 'closed' }
  abort (err: Error): void {
    if (this.status !== 'open') return
    this.aborted = err
    this.status = 'aborted'
    this.dispatchEvent(Object.assign(new Event('close'), { error: err }))
  }

  /** Everything sent, as one buffer. */
  output (): Buffer { return Buffer.concat(this.sent) }
}

const asStream = (s: ScriptedStream): Stream => s as unknown as Stream

// --- fixtures ---------------------------------------------------------------------------

const [alice, mallory] = keys(2)
const P = policy({ motd: [alice], 'a.txt': [alice] })
const storedContent = new Uint8Array(Buffer.from('stored content of motd'))
let stored: SignedRecord
let replica: Replica
let remote: PeerId
const dir = tempDir('dm-mesh-fuzz-')

beforeAll(async () => {
  replica = await Replica.open(dir.dir, P, quietLog)
  stored = signRecord(alice, { name: 'motd', content: storedContent, timestamp: Date.now() })
  expect((await replica.submit(stored, storedContent, 'test')).outcome).toBe('accepted')
  remote = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
})
afterAll(async () => { await replica?.close(); dir.cleanup() })

interface Run {
  stream: ScriptedStream
  punished: string[]
  records: SignedRecord[]
  /** announce: notices judged */
  notices?: number
}

/** A libp2p stand-in: one connected peer (`remote`) whose every new stream is `stream`. */
function fakeLibp2p (stream: ScriptedStream): MeshLibp2p {
  const conn = { remotePeer: remote, status: 'open', direction: 'outbound', newStream: async () => stream }
  return {
    getPeers: () => [remote],
    getConnections: () => [conn],
    peerStore: { get: async () => { throw new Error('not in the peer store') } }
  } as unknown as MeshLibp2p
}

const connection = (): Connection => ({ remotePeer: remote }) as unknown as Connection

/** The checks every run makes: typed errors only, punishment exactly for the peer's faults. */
function checkFaults (run: Run): void {
  const err = run.stream.aborted
  if (err !== undefined) {
    expect(err).toBeInstanceOf(WireError)
    expect(err.message.length).toBeGreaterThan(0)
  }
  const peerFault = err instanceof WireError && err.fault === 'peer'
  expect(run.punished.length > 0).toBe(peerFault)
}

function newRun (script: Uint8Array[], hold = false): Run {
  return { stream: new ScriptedStream(script, hold), punished: [], records: [] }
}

const punisher = (run: Run) => (_peer: PeerId, reason: string): void => { run.punished.push(reason) }
/** the context the protocol components share (src/mesh/context.ts), around this run's stream */
const context = (run: Run): MeshContext => ({ libp2p: fakeLibp2p(run.stream), settings: S, log: quietLog, punish: punisher(run), admits: () => true })

async function announceHandler (script: Uint8Array[], hold = false, protocol: string = PROTOCOLS.announce): Promise<Run> {
  const run = newRun(script, hold)
  Object.assign(run.stream, { protocol }) // the id the stream was opened with picks the format
  // every record counts as dropped and every notice as stale, so the handler answers nothing (no PRUNE, no GRAFT)
  const a = new Announcer(context(run), {
    onRecord: r => { run.records.push(r); return 'dropped' },
    judgeNotice: n => { run.notices = (run.notices ?? 0) + 1; expect(n.id.length).toBe(32); return 'stale' },
    forGraft: async () => undefined
  })
  await a.handle(asStream(run.stream), connection())
  a.stop()
  return run
}

async function fetchHandler (script: Uint8Array[], hold = false): Promise<Run> {
  const run = newRun(script, hold)
  const f = new Fetcher(context(run), replica)
  await f.handle(asStream(run.stream), connection())
  return run
}

async function syncHandler (script: Uint8Array[], hold = false): Promise<Run> {
  const run = newRun(script, hold)
  const s = new Syncer(context(run), replica, 60_000, rs => { run.records.push(...rs) })
  await s.handle(asStream(run.stream), connection())
  return run
}

async function peersHandler (script: Uint8Array[]): Promise<Run> {
  const run = newRun(script)
  const p = new PeerExchange(context(run))
  await p.handle(asStream(run.stream), connection())
  return run
}

/** The requesting side of fetch, for `record`, answered by `script`. */
async function fetchRequester (record: SignedRecord, script: Uint8Array[]): Promise<Run & { content?: Uint8Array }> {
  const run = newRun(script)
  const f = new Fetcher(context(run), replica)
  let content: Uint8Array | undefined
  try { content = await f.fetch(record, remote) } catch (err) {
    expect((err as Error).message).toMatch(/no peer could serve/)
  }
  return { ...run, content }
}

async function syncRequester (script: Uint8Array[]): Promise<Run & { outcome: string }> {
  const run = newRun(script)
  const s = new Syncer(context(run), replica, 60_000, rs => { run.records.push(...rs) })
  const outcome = await s.syncWith(remote)
  return { ...run, outcome }
}

async function peersRequester (script: Uint8Array[]): Promise<Run & { learned: number }> {
  const run = newRun(script)
  let learned = 0
  const p = new PeerExchange(context(run))
  p.start(peers => { learned += peers.length; return true })
  await p.ask(remote)
  p.stop()
  return { ...run, learned }
}

// --- generators -------------------------------------------------------------------------

/** Splits `bytes` into chunks at arbitrary points (how the network may deliver them). */
const chunked = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
  const points = [...new Set(cuts.map(c => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let at = 0
  for (const p of [...points, bytes.length]) { if (p > at) { out.push(bytes.subarray(at, p)); at = p } }
  return out
}
const cuts = fc.array(fc.nat(), { maxLength: 6 })

type Mutation = { op: 'flip', at: number, xor: number } | { op: 'cut', at: number } | { op: 'insert', at: number, data: Uint8Array } | { op: 'drop', at: number, n: number }
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('drop' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) })
)

function mutate (valid: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Buffer.from(valid)
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length
    if (m.op === 'flip' && b.length > 0) b[at] ^= m.xor
    if (m.op === 'cut') b = b.subarray(0, at)
    if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), m.data, b.subarray(at)])
    if (m.op === 'drop') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)])
  }
  return new Uint8Array(b)
}

/** A valid message mutated 0–3 times, or arbitrary bytes. */
function input (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.tuple(valid, fc.array(mutation, { maxLength: 3 })).map(([v, ms]) => mutate(v, ms)),
    fc.uint8Array({ maxLength: 1200 })
  )
}

/** A record as a peer might send it: genuine (configured or not), or forged. */
const record: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.constantFrom('motd', 'a.txt', 'other', 'ns/x'), fc.uint8Array({ maxLength: 8 }), fc.boolean(), fc.integer({ min: 1, max: 1e6 })
).map(([name, content, forged, dt]) => {
  const r = signRecord(forged ? mallory : alice, { name, content, timestamp: Date.now() + dt })
  if (forged) r.signer = alice.publicKey
  return encodeRecord(r)
})
const records = fc.array(record, { maxLength: 5 })
const digest = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest())

// announce/3.0.0 messages: FULL (record, no inline content), IHAVE, GRAFT, PRUNE
const notice = fc.tuple(fc.constantFrom('motd', 'a.txt', 'x'), fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 }))
  .map(([name, ts, id]) => { const n = Buffer.from(name); return concat([Uint8Array.of(n.length), n, u64(ts), id]) })
const announceMessage = fc.oneof(
  record.map(r => concat([frame(concat([Uint8Array.of(0x01), r])), frame(new Uint8Array(0))])),
  fc.array(notice, { minLength: 1, maxLength: 4 }).map(ns => frame(concat([Uint8Array.of(0x02), u16(ns.length), ...ns]))),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map(id => frame(encodeGraft('motd', id))),
  fc.constant(frame(Uint8Array.of(0x04)))
)
const validAnnounce = fc.array(announceMessage, { maxLength: 5 }).map(ms => concat(ms))
// announce/3.1.0: the same with hop counts (a FULL's after its tag, a notice's after its id), and a bare GRAFT
const hopNotice = fc.tuple(notice, fc.integer({ min: 0, max: 255 })).map(([n, h]) => concat([n, Uint8Array.of(h)]))
const announceHopsMessage = fc.oneof(
  fc.tuple(record, fc.integer({ min: 0, max: 255 })).map(([r, h]) => concat([frame(concat([Uint8Array.of(0x01, h), r])), frame(new Uint8Array(0))])),
  fc.array(hopNotice, { minLength: 1, maxLength: 4 }).map(ns => frame(concat([Uint8Array.of(0x02), u16(ns.length), ...ns]))),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map(id => frame(encodeGraft('motd', id))),
  fc.constant(frame(Uint8Array.of(0x03))),
  fc.constant(frame(Uint8Array.of(0x04)))
)
const validAnnounceHops = fc.array(announceHopsMessage, { maxLength: 5 }).map(ms => concat(ms))
// announce/3.2.0: 3.1.0 with a flags byte after the tag of FULL and IHAVE (bit 0: MARK, WANT; other bits a violation)
const flags = fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 255 }))
const announceReshapeMessage = fc.oneof(
  fc.tuple(record, flags, fc.integer({ min: 0, max: 255 })).map(([r, f, h]) => concat([frame(concat([Uint8Array.of(0x01, f, h), r])), frame(new Uint8Array(0))])),
  fc.tuple(fc.array(hopNotice, { minLength: 1, maxLength: 4 }), flags).map(([ns, f]) => frame(concat([Uint8Array.of(0x02, f), u16(ns.length), ...ns]))),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map(id => frame(encodeGraft('motd', id))),
  fc.constant(frame(Uint8Array.of(0x03))),
  fc.constant(frame(Uint8Array.of(0x04)))
)
const validAnnounceReshape = fc.array(announceReshapeMessage, { maxLength: 5 }).map(ms => concat(ms))
const validFetchRequest = fc.oneof(
  fc.constant(null).map(() => ({ name: 'motd', id: recordId(stored) })), // the exact version the node holds (stored is set in beforeAll)
  fc.constant({ name: 'motd', id: stored0Digest() }), // fetch/1.0.0's request for it (name + sha256): not served
  fc.record({ name: fc.constantFrom('motd', 'a.txt', 'x'), id: fc.uint8Array({ minLength: 32, maxLength: 32 }) })
).map(({ name, id }) => { const n = Buffer.from(name); return frame(concat([u16(n.length), n, id])) })
// sync/4.0.0, as the initiator sends it: hello, the records the responder lacks, its floors (none here), the ids it wants
const wantIds = fc.array(fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constant(0).map(() => recordId(stored))), { maxLength: 3 })
const validSyncRequest = fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(), records, wantIds)
  .map(([d, count, rs, ids]) => concat([frame(concat([d, u32(count % 2 ** 32)])), ...rs.map(frame), frame(new Uint8Array(0)), frame(new Uint8Array(0)), ...ids.map(frame), frame(new Uint8Array(0))]))
// and as the responder answers: equal, or a summary of its records, then (what was wanted of) those records
const summaryOf = (rs: Uint8Array[]): Uint8Array[] => rs.map(b => {
  const r = decodeRecord(b)
  return frame(encodeEntry({ name: r.name, tag: CURRENT_SLOT, timestamp: r.timestamp, id: digest(b) }))
})
const validSyncAnswer = fc.oneof(
  fc.constant(frame(Uint8Array.of(0))),
  records.map(rs => concat([frame(Uint8Array.of(1)), ...summaryOf(rs), frame(new Uint8Array(0)), ...rs.map(frame), frame(new Uint8Array(0)), frame(new Uint8Array(0))]))
)
const peerIdString = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const validPeerList = fc.array(fc.record({
  id: fc.oneof(fc.constant(peerIdString), fc.string({ maxLength: 60 })),
  addrs: fc.array(fc.oneof(fc.constant('/ip4/10.0.0.5/tcp/7946'), fc.constant('/ip4/10.0.0.5/udp/7946/quic-v1'), fc.string({ maxLength: 30 })), { maxLength: 10 })
}), { maxLength: 40 }).map(peers => new Uint8Array(Buffer.from(JSON.stringify({ peers }))))

function stored0Digest (): Uint8Array { return digest(storedContent) }

// --- properties -------------------------------------------------------------------------

describe('fuzz: mesh frame reader (wire.ts)', () => {
  it('frames round-trip through any chunking', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), cuts, async (payloads, cs) => {
      const stream = new ScriptedStream(chunked(concat(payloads.map(frame)), cs))
      const reader = new StreamReader(asStream(stream), Date.now() + 5000, 1 << 20)
      for (const p of payloads) expect(Buffer.from((await reader.frame(300))!).equals(Buffer.from(p))).toBe(true)
      expect(await reader.frame(300)).toBeUndefined()
    }), opts)
  })

  it('arbitrary bytes yield frames within the limit or a WireError, nothing else', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), cuts, fc.integer({ min: 0, max: 600 }), async (data, cs, max) => {
      const stream = new ScriptedStream(chunked(data, cs))
      const reader = new StreamReader(asStream(stream), Date.now() + 5000, 4096)
      try {
        for (let f = await reader.frame(max); f !== undefined; f = await reader.frame(max)) expect(f.length).toBeLessThanOrEqual(max)
      } catch (err) {
        expect(err).toBeInstanceOf(WireError)
      }
    }), opts)
  })

  it('a length prefix above the limit is refused as soon as it is complete: no payload awaited, nothing allocated', async () => {
    const before = process.memoryUsage().arrayBuffers
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 1024 }), fc.integer({ min: 1, max: 2 ** 35 - 1 }), async (max, claimed) => {
      fc.pre(claimed > max)
      const stream = new ScriptedStream([encodeVarint(claimed)], true) // the payload never comes, the stream stays open
      const reader = new StreamReader(asStream(stream), Date.now() + 60_000, 1 << 20)
      const err = await reader.frame(max).then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(WireError)
      expect((err as WireError).fault).toBe('peer')
      expect(stream.aborted).toBe(err)
    }), opts)
    // 2^35 − 1 is the largest a 5-byte prefix can say; a sixth prefix byte is refused too
    const six = new ScriptedStream([Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01)], true)
    await expect(new StreamReader(asStream(six), Date.now() + 60_000, 1 << 20).frame(1 << 30)).rejects.toMatchObject({ fault: 'peer' })
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024)
  })

  it('input beyond the reader\'s buffer cap is refused, whatever the frames say', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 16, max: 4096 }), fc.integer({ min: 1, max: 8 }), async (limit, over) => {
      const stream = new ScriptedStream([new Uint8Array(limit + over)], true)
      const reader = new StreamReader(asStream(stream), Date.now() + 60_000, limit)
      await expect(reader.bytes(limit + over)).rejects.toMatchObject({ fault: 'peer' })
      expect(stream.aborted).toBeInstanceOf(WireError)
    }), { ...opts, numRuns: Math.min(RUNS, 100) })
  })
})

describe('fuzz: protocol handlers (receiving side)', () => {
  it('announce: FULL, IHAVE, GRAFT and PRUNE messages, mutated or arbitrary', async () => {
    await fc.assert(fc.asyncProperty(input(validAnnounce), cuts, async (data, cs) => {
      const run = await announceHandler(chunked(data, cs))
      checkFaults(run)
      expect(run.records.length).toBeLessThanOrEqual(Buffer.from(data).length / 100) // a record is ≥ 100 bytes
      // what reached the node is exactly what was sent: each record re-encodes to bytes of the input
      const all = Buffer.from(data)
      for (const r of run.records) expect(all.includes(Buffer.from(encodeRecord(r)))).toBe(true)
      expect(run.notices ?? 0).toBeLessThanOrEqual(Buffer.from(data).length / 38) // a notice is ≥ 42 bytes
      expect(run.stream.output().length).toBe(0) // nothing to answer: records dropped, notices stale, grafts for nothing held
    }), opts)
  })

  it('announce/3.1.0: FULL and IHAVE with hop counts, bare GRAFT, mutated or arbitrary; and either format read as the other', async () => {
    const either = fc.oneof(fc.tuple(input(validAnnounceHops), fc.constant(PROTOCOLS.announceHops)), fc.tuple(input(validAnnounce), fc.constant(PROTOCOLS.announceHops)), fc.tuple(input(validAnnounceHops), fc.constant(PROTOCOLS.announce)))
    await fc.assert(fc.asyncProperty(either, cuts, async ([data, protocol], cs) => {
      const run = await announceHandler(chunked(data, cs), false, protocol)
      checkFaults(run)
      const all = Buffer.from(data)
      for (const r of run.records) expect(all.includes(Buffer.from(encodeRecord(r)))).toBe(true)
      expect(run.notices ?? 0).toBeLessThanOrEqual(all.length / 39) // a notice is ≥ 43 bytes
      expect(run.stream.output().length).toBe(0)
    }), opts)
  })

  it('announce/3.2.0: FULL and IHAVE with flags and hop counts, mutated or arbitrary; and 3.1.0 read as 3.2.0 and back', async () => {
    const either = fc.oneof(fc.tuple(input(validAnnounceReshape), fc.constant(PROTOCOLS.announceReshape)), fc.tuple(input(validAnnounceHops), fc.constant(PROTOCOLS.announceReshape)), fc.tuple(input(validAnnounceReshape), fc.constant(PROTOCOLS.announceHops)))
    await fc.assert(fc.asyncProperty(either, cuts, async ([data, protocol], cs) => {
      const run = await announceHandler(chunked(data, cs), false, protocol)
      checkFaults(run)
      const all = Buffer.from(data)
      for (const r of run.records) expect(all.includes(Buffer.from(encodeRecord(r)))).toBe(true)
      expect(run.notices ?? 0).toBeLessThanOrEqual(all.length / 39)
      expect(run.stream.output().length).toBe(0)
    }), opts)
  })

  it('fetch request: served only with verified content of a record the node holds', async () => {
    await fc.assert(fc.asyncProperty(input(validFetchRequest), cuts, async (data, cs) => {
      const run = await fetchHandler(chunked(data, cs))
      checkFaults(run)
      const out = run.stream.output()
      if (out.length > 0 && out[1] === 0) { // frame( 0x00 u64(size) ) content
        expect(out[0]).toBe(9)
        const size = Number(out.readBigUInt64BE(2))
        expect(size).toBe(stored.size)
        expect(Buffer.from(digest(out.subarray(10))).equals(Buffer.from(stored.sha256))).toBe(true)
        expect(Buffer.from(data).includes(Buffer.from(recordId(stored)))).toBe(true) // it was asked for by the stored record's id
      }
    }), opts)
  })

  it('sync request and the records that follow: only accepted names, at most two per name, reach the node', async () => {
    await fc.assert(fc.asyncProperty(input(validSyncRequest), cuts, async (data, cs) => {
      const run = await syncHandler(chunked(data, cs))
      checkFaults(run)
      const perName = new Map<string, number>()
      for (const r of run.records) {
        expect(authorization(P, r.name, r.signer)).toBeUndefined()
        perName.set(r.name, (perName.get(r.name) ?? 0) + 1)
      }
      for (const n of perName.values()) expect(n).toBeLessThanOrEqual(2)
    }), opts)
  })

  it('peers request (empty): any byte is refused, silence is answered with a peer list', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), cuts, async (data, cs) => {
      const run = await peersHandler(chunked(data, cs))
      checkFaults(run)
      if (data.length > 0) expect(run.punished.length).toBe(1)
      else expect(JSON.parse(run.stream.output().subarray(1).toString())).toEqual({ peers: [] })
    }), { ...opts, numRuns: Math.min(RUNS, 100) })
  })

  it('a length prefix above each protocol\'s limit is refused at once (no deadline waited, nothing allocated)', async () => {
    const limits: Array<[string, (s: Uint8Array[]) => Promise<Run>, number]> = [
      ['announce', s => announceHandler(s, true), MAX_MESSAGE_FRAME], ['fetch', s => fetchHandler(s, true), 2 + 255 + 32], ['sync', s => syncHandler(s, true), 36]
    ]
    await fc.assert(fc.asyncProperty(fc.constantFrom(...limits), fc.integer({ min: 1, max: 2 ** 35 - 1 }), async ([, handler, max], claimed) => {
      fc.pre(claimed > max)
      const t0 = Date.now()
      const run = await handler([encodeVarint(claimed)]) // the payload never comes and the stream stays open: waiting would take the deadline
      checkFaults(run)
      expect(run.punished.length).toBe(1)
      expect(Date.now() - t0).toBeLessThan(2000)
    }), { ...opts, numRuns: Math.min(RUNS, 150) })
  })
})

describe('fuzz: protocol answers (requesting side)', () => {
  it('fetch response header and content: only the record\'s exact content is ever returned', async () => {
    const validResponse = fc.oneof(
      fc.constant(concat([frame(concat([Uint8Array.of(0), u64(stored.size)])), storedContent])),
      fc.constant(frame(Uint8Array.of(1))),
      fc.tuple(fc.nat({ max: 64 }), fc.uint8Array({ maxLength: 64 })).map(([size, b]) => concat([frame(concat([Uint8Array.of(0), u64(size)])), b]))
    )
    await fc.assert(fc.asyncProperty(input(validResponse), cuts, async (data, cs) => {
      const run = await fetchRequester(stored, chunked(data, cs))
      if (run.content !== undefined) expect(Buffer.from(run.content).equals(Buffer.from(storedContent))).toBe(true)
      const err = run.stream.aborted
      if (err !== undefined) expect(err).toBeInstanceOf(WireError)
      // wrong bytes of the right size are the server's fault as well (caught after the read, by hash)
      if (run.punished.length > 0) expect(run.content).toBeUndefined()
    }), opts)
  })

  it('sync answer: equal, or a summary then the wanted records', async () => {
    await fc.assert(fc.asyncProperty(input(validSyncAnswer), cuts, async (data, cs) => {
      const run = await syncRequester(chunked(data, cs))
      expect(['equal', 'exchanged', 'failed']).toContain(run.outcome)
      checkFaults(run)
      if (run.outcome !== 'exchanged') expect(run.records).toEqual([])
      for (const r of run.records) expect(authorization(P, r.name, r.signer)).toBeUndefined()
    }), opts)
  })

  it('peer list answer: JSON within the limits, or refused', async () => {
    await fc.assert(fc.asyncProperty(input(validPeerList.map(frame)), cuts, async (data, cs) => {
      const run = await peersRequester(chunked(data, cs))
      checkFaults(run)
      expect(run.learned).toBeLessThanOrEqual(S.peerExchangeMaxPeers)
    }), opts)
  })

  it('decodePeers: a PeerInfo list within the limits or a WireError', () => {
    const doc = fc.oneof(validPeerList, fc.json().map(j => new Uint8Array(Buffer.from(j))), fc.uint8Array({ maxLength: 300 }))
    fc.assert(fc.property(doc, fc.array(mutation, { maxLength: 2 }), (d, ms) => {
      try {
        const peers = decodePeers(mutate(d, ms), S.peerExchangeMaxPeers, S.peerExchangeMaxAddrs)
        expect(peers.length).toBeLessThanOrEqual(S.peerExchangeMaxPeers)
        for (const p of peers) expect(p.addrs.length).toBeLessThanOrEqual(S.peerExchangeMaxAddrs)
      } catch (err) {
        expect(err).toBeInstanceOf(WireError)
        expect((err as WireError).fault).toBe('peer')
      }
    }), opts)
  })
})

describe('fuzz: end to end, over a real connection', () => {
  let cluster: Cluster
  let node: TestNode
  let other: TestNode
  beforeAll(async () => {
    cluster = new Cluster({ transports: ['tcp'] })
    node = await cluster.add('n0')
    other = await cluster.add('n1', { bootstrap: [node.hostPort] })
    await connected([node, other])
    await converged(await node.upload({ name: 'a.txt', content: bytes('held by n0') }), [node, other])
  })
  afterAll(async () => { await cluster?.close() })

  it('fuzzed input on every protocol never changes the replica; the node keeps converging', async () => {
    const index = (): string => JSON.stringify([...node.replica.list(), ...node.replica.listHeld()].map(r => Buffer.from(encodeRecord(r)).toString('hex')))
    const before = index()
    const protocols = [PROTOCOLS.announce, PROTOCOLS.announceHops, PROTOCOLS.announceReshape, PROTOCOLS.fetch, PROTOCOLS.sync, PROTOCOLS.peers]
    const messages: Record<string, fc.Arbitrary<Uint8Array>> = {
      [PROTOCOLS.announce]: input(validAnnounce),
      [PROTOCOLS.announceHops]: input(validAnnounceHops),
      [PROTOCOLS.announceReshape]: input(validAnnounceReshape),
      [PROTOCOLS.fetch]: input(validFetchRequest),
      [PROTOCOLS.sync]: input(validSyncRequest),
      [PROTOCOLS.peers]: fc.uint8Array({ maxLength: 64 })
    }
    await fc.assert(fc.asyncProperty(fc.constantFrom(...protocols).chain(p => fc.tuple(fc.constant(p), messages[p])), async ([protocol, data]) => {
      const r = await Rogue.start()
      try {
        const stream = await r.send(node, protocol, [data])
        // until the node is done with the stream or has cut the rogue off (or 3 s: the last check below catches late changes)
        await Promise.race([r.gone(stream), waitFor(() => !r.heldBy(node), 'the rogue is cut off', [], 3_000).catch(() => {})])
        expect(index()).toBe(before)
      } finally { await r.stop() }
    }), { seed: SEED, numRuns: E2E_RUNS })
    // still serving: an honest update from the other node arrives, and the fuzzed input left nothing behind
    expect(index()).toBe(before)
    const after = await other.upload({ name: 'b.txt', content: bytes(randomBytes(8).toString('hex')) })
    await converged(after, [node, other])
    expect(node.replica.get('junk/0')).toBeUndefined()
  }, 120_000)
})
