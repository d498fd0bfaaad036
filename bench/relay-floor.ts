// The floor of CPU per update (issue 22): one relay of N, moving the messages an update
// costs a node over the daemon's own network stack, and doing the work every new version
// needs, without the daemon. bench/lib/relay-floor.ts starts N of these in the daemons'
// namespace with the daemons' node flags and environment, and measures them as the bench
// measures the daemons (bench/README.md, "The floor of CPU per update", says what this is
// and is not).
//
// What is the daemon's here:
//   - the libp2p node: src/mesh/node.ts's createNode with the default mesh settings
//     (QUIC and TCP + Noise + Yamux listening on one port, TCP with one socket write per
//     message, Yamux window updates at half a window, identify and ping, the admission
//     gater with nobody penalised); peers are dialled on TCP, as libp2p's dialer does first;
//   - the messages: announce/3.1.0's FULL (the record and its 1 KiB content inline) and
//     IHAVE (one notice), encoded and decoded by src/mesh/announce.ts's own functions and
//     framed by src/mesh/wire.ts, on one long-lived stream per peer and direction;
//   - a new version's work: the record's Ed25519 signature verified (verifyRecordSignature),
//     the content's sha256 checked, and the store's durable write (src/store/disk-store.ts
//     stage + commit: 4 fsyncs and 2 renames);
//   - the tree's rule: FULL to the eager links at once (not back to the sender), a notice to
//     each lazy link after announceIhaveDelay ±50% unless that peer is known to hold the
//     version (it sent it or a notice of it first).
// What is not: the tree's core (proto/tree.ts: budgets, grafts, prunes, hop shaping), the
// replica's index and rules, sync, peer exchange, liveness, metrics, the API and its watchers
// (a line on stdout per stored version stands for the one event a watcher gets).
//
// Control, one line each: stdout "ready <peer id> <tcp port>", then "linked", "stored <record id hex>"
// per version taken (stored unless told otherwise), "durable", "counts <json>"; stdin JSON: {"op":"links","peers":[{id,addr,dial,eager}]},
// {"op":"publish","record":base64,"content":base64}, {"op":"counts"}, {"op":"durable","on":false}
// (versions from then on are not written to the store: the bench's split of the floor).
import { holdYoungGeneration, releaseYoungGeneration } from '../src/daemon/young-generation.js'

holdYoungGeneration() // as the daemon's bin does while it loads
await import('../src/polyfill.js')
const { createInterface } = await import('node:readline')
const { multiaddr } = await import('@multiformats/multiaddr')
const { createNode } = await import('../src/mesh/node.js')
const { identityFromKey } = await import('../src/mesh/identity.js')
const { Admission } = await import('../src/mesh/admission.js')
const { DEFAULT_MESH_SETTINGS } = await import('../src/mesh/settings.js')
const { encodeFull, decodeFull, encodeIhave, decodeIhave, MAX_MESSAGE_FRAME, FULL, IHAVE } = await import('../src/mesh/announce.js')
const { StreamReader, concat, frame, send } = await import('../src/mesh/wire.js')
const { decodeRecord, recordIdHex, sha256, verifyRecordSignature } = await import('../src/crypto/record.js')
const { generateSigningKey } = await import('../src/crypto/keys.js')
const { DiskStore } = await import('../src/store/disk-store.js')
type Stream = import('@libp2p/interface').Stream
type SignedRecord = import('../src/crypto/record.js').SignedRecord
type Config = import('../src/config/config.js').Config

/** the relay's own protocol id: the daemon's messages, not the daemon's protocol */
const RELAY_PROTOCOL = '/data-mesher-bench/relay-floor/1.0.0'

const [portArg, stateDir] = process.argv.slice(2)
const port = Number(portArg)
if (!Number.isInteger(port) || port < 0 || stateDir === undefined) {
  process.stderr.write('usage: relay-floor.js PORT STATE_DIR\n')
  process.exit(2)
}

const s = DEFAULT_MESH_SETTINGS
const identity = identityFromKey(generateSigningKey())
// only what createNode reads of a config: the daemon's default transports, every interface
const config = { cluster: { transports: ['quic', 'tcp'], interfaces: [], port } } as unknown as Config
const node = await createNode(config, identity, new Admission([], identity.peerId.toString()), s)
const store = new DiskStore(stateDir)
await store.init()

interface Link { id: string, eager: boolean, out?: Stream, queue: Promise<void> }
const links = new Map<string, Link>()
/** per version (record id hex): the peers known to hold it */
const holders = new Map<string, Set<string>>()
/** whether a version is written to the store (the bench turns it off to see the store's share of the floor) */
let durable = true
const counts = { fullSent: 0, fullReceived: 0, duplicates: 0, ihaveSent: 0, ihaveReceived: 0, ihaveBytes: 0, stored: 0, refused: 0 }

const say = (line: string): void => { process.stdout.write(line + '\n') }

/** One write at a time per link, in order (the daemon's per-peer queue does the same). */
function write (link: Link, data: Uint8Array): void {
  link.queue = link.queue.then(async () => {
    if (link.out === undefined) return
    await send(link.out, data, Date.now() + s.announceTimeout)
  }).catch(err => { process.stderr.write(`relay: write to ${link.id}: ${(err as Error).message}\n`) })
}

/** A version new to this relay: verified, stored durably, passed on as the tree passes it. */
async function accept (record: SignedRecord, content: Uint8Array, from: string | undefined, hops: number): Promise<void> {
  const id = recordIdHex(record)
  const known = holders.get(id)
  if (known?.has('self') === true) { counts.duplicates++; return }
  const hold = known ?? new Set<string>()
  hold.add('self')
  if (from !== undefined) hold.add(from)
  holders.set(id, hold)
  if (!verifyRecordSignature(record) || Buffer.compare(sha256(content), record.sha256) !== 0) { counts.refused++; return }
  // the daemon passes a small file on before its store write finishes
  const full = concat([frame(encodeFull(record, Math.min(hops + 1, 254))), frame(content)])
  for (const l of links.values()) {
    if (l.eager && l.id !== from) { write(l, full); counts.fullSent++ }
  }
  const delay = s.announceIhaveDelay * (0.5 + Math.random())
  setTimeout(() => {
    const notice = frame(encodeIhave([record], [hops + 1]))
    for (const l of links.values()) {
      if (l.eager || hold.has(l.id)) continue
      write(l, notice); counts.ihaveSent++; counts.ihaveBytes += notice.length
    }
  }, delay)
  if (durable) {
    await store.stage(record, content)
    await store.commit(record, true, undefined)
  }
  counts.stored++
  say(`stored ${id}`)
}

await node.handle(RELAY_PROTOCOL, async (stream, connection) => {
  const from = connection.remotePeer.toString()
  const reader = new StreamReader(stream, Date.now() + s.announceIdleTimeout, 4 * (MAX_MESSAGE_FRAME + s.announceInlineMax + 16))
  try {
    for (;;) {
      reader.setDeadline(Date.now() + s.announceIdleTimeout)
      const head = await reader.frame(MAX_MESSAGE_FRAME)
      if (head === undefined) break
      if (head[0] === FULL) {
        const content = await reader.expectFrame(s.announceInlineMax, 'the inline content')
        counts.fullReceived++
        const { record, hops } = decodeFull(head, 'hops')
        await accept(record, content, from, hops ?? 0)
      } else if (head[0] === IHAVE) {
        counts.ihaveReceived++
        for (const n of decodeIhave(head, 'hops')) {
          const id = Buffer.from(n.id).toString('hex')
          const hold = holders.get(id) ?? new Set<string>()
          hold.add(from)
          holders.set(id, hold)
        }
      } else throw new Error(`unknown relay message ${head[0]}`)
    }
  } catch (err) {
    process.stderr.write(`relay: stream from ${from}: ${(err as Error).message}\n`)
  }
}, { maxInboundStreams: s.maxInboundStreams.announce })

await node.start()
releaseYoungGeneration()
// the TCP port it listens on (PORT may be 0: any free one)
const tcpPort = node.getMultiaddrs().map(ma => /^\/ip4\/[^/]+\/tcp\/(\d+)\//.exec(ma.toString())?.[1]).find(p => p !== undefined)
say(`ready ${identity.peerId.toString()} ${tcpPort ?? port}`)

async function linkUp (peers: Array<{ id: string, addr: string, dial: boolean, eager: boolean }>): Promise<void> {
  for (const p of peers) links.set(p.id, { id: p.id, eager: p.eager, queue: Promise.resolve() })
  // one dial at a time, each tried up to 3 times: N relays dialling all their links at once
  // on 2 cores pushed handshakes past handshakeTimeout ("Encryption failed" at N = 25)
  for (const p of peers.filter(p => p.dial)) {
    for (let attempt = 1; ; attempt++) {
      try {
        await node.dial(multiaddr(p.addr), { signal: AbortSignal.timeout(s.dialTimeout) })
        break
      } catch (err) {
        if (attempt >= 3) throw new Error(`dial ${p.addr}: ${(err as Error).message}`)
        await new Promise(resolve => setTimeout(resolve, 500 * attempt))
      }
    }
  }
  // the others dial us: wait for their connections (a bounded wait), then open our stream on each
  const deadline = Date.now() + 60_000
  for (const p of peers) {
    for (;;) {
      const conn = node.getConnections().find(c => c.remotePeer.toString() === p.id && c.status === 'open')
      if (conn !== undefined) {
        links.get(p.id)!.out = await conn.newStream(RELAY_PROTOCOL, { signal: AbortSignal.timeout(s.announceTimeout) })
        break
      }
      if (Date.now() > deadline) throw new Error(`no connection from ${p.id} within 60 s`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}

const lines = createInterface({ input: process.stdin })
lines.on('line', line => {
  const cmd = JSON.parse(line) as { op: string, peers?: Array<{ id: string, addr: string, dial: boolean, eager: boolean }>, record?: string, content?: string, on?: boolean }
  if (cmd.op === 'links') {
    linkUp(cmd.peers ?? []).then(() => say('linked'), err => { say(`failed ${(err as Error).message}`) })
  } else if (cmd.op === 'publish') {
    const record = decodeRecord(Buffer.from(cmd.record ?? '', 'base64'))
    void accept(record, Buffer.from(cmd.content ?? '', 'base64'), undefined, -1).catch(err => { say(`failed ${(err as Error).message}`) })
  } else if (cmd.op === 'durable') {
    durable = cmd.on !== false
    say('durable')
  } else if (cmd.op === 'counts') {
    say(`counts ${JSON.stringify(counts)}`)
  }
})
// the bench ends it with SIGTERM (or closes stdin)
const quit = (): void => { void Promise.resolve(node.stop()).finally(() => process.exit(0)); setTimeout(() => process.exit(0), 3000).unref() }
process.on('SIGTERM', quit)
lines.on('close', quit)
