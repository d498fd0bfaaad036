// Issue 23, "5% hostile members ... flood their namespace": members publishing new
// versions of their own namespace file as fast as they can. Every version is valid (the
// member's key, its own name, within the quotas), so the rule does not stop them, and the
// per-link announce budget bounds only what each of them sends to its own peers. Before
// the turns of new versions per signer (proto/signer-turns.ts) the node they flood passed
// every version it took on to its peers at once: FULL messages at several times the
// rate a peer's budget takes from it (announceMessagesPerSecond), so its peers dropped its
// messages unjudged, an honest update among them, and that update waited for
// anti-entropy. Now, past the node-wide rate, the flooders' versions wait for their
// signers' turns (the newest per name) and the node passes on only what its peers take.
//
// Real daemons over TCP on loopback: six hand-driven members (rogue.ts) flood node `a`
// only; `b` hears of everything through `a`; anti-entropy is slow (2 min), so that only
// the broadcast tree can bring the honest updates in time.
import { afterEach, expect, it } from 'vitest'
import { generateSigningKey, type SigningKey } from '../../src/crypto/keys.ts'
import { base64url } from '../../src/crypto/names.ts'
import { encodeRecord, signRecord } from '../../src/crypto/record.ts'
import { DEFAULT_MESH_SETTINGS as D, PROTOCOLS } from '../../src/mesh/settings.ts'
import { Cluster, bytes, connected, converged, waitFor, type TestNode } from './helpers.ts'
import { RogueSet, fullMessage, type Rogue } from './rogue.ts'

let cluster: Cluster | undefined
const rogues = new RogueSet()
let flooding = false
afterEach(async () => {
  flooding = false
  await rogues.stopAll()
  await cluster?.close(); cluster = undefined
})

const FLOODERS = 6
const HONEST_UPDATES = 3

/** Sends ever newer versions of the member's own file to `node` until the test ends; resolves with how many it wrote. */
async function flood (r: Rogue, member: SigningKey, node: TestNode): Promise<number> {
  const stream = await r.open(node, PROTOCOLS.announce)
  const name = `machines/${base64url(member.publicKey)}`
  let ts = Date.now() - 60_000 // in the past, and one ms newer each time
  let sent = 0
  while (flooding) {
    const content = bytes(`v${sent}`)
    const record = encodeRecord(signRecord(member, { name, content, timestamp: ++ts }))
    for (const m of fullMessage(record, content)) if (!await r.write(stream, m)) return sent
    sent++
    // (a write that needs no drain resolves at once: let the event loop run, or nothing else would)
    if (sent % 16 === 0) await new Promise(resolve => setImmediate(resolve))
  }
  stream.abort(new Error('done'))
  return sent
}

it('members flooding their namespace through one node: honest updates from that node still reach the next node at once', async () => {
  cluster = new Cluster({ transports: ['tcp'], syncInterval: 120_000 })
  const a = await cluster.add('a', { namespaces: ['machines'] })
  const b = await cluster.add('b', { namespaces: ['machines'], bootstrap: [a.hostPort] })
  await connected([a, b], 1)

  const members = Array.from({ length: FLOODERS }, () => generateSigningKey())
  const floods: Array<Promise<number>> = []
  flooding = true
  for (const member of members) {
    const r = await rogues.start()
    await r.dial(a)
    floods.push(flood(r, member, a))
  }
  // the flood is under way past every budget's burst: `a` took each flooder's burst of FULLs and more
  const judged = (): number => a.mesh.stats().announce.fullReceived
  await waitFor(() => judged() >= FLOODERS * D.announceMessageBurst + 200, 'a judged the flooders\' bursts and more', [a, b], 60_000)

  const took: number[] = []
  for (let i = 0; i < HONEST_UPDATES; i++) {
    const record = await a.upload({ name: 'b.txt', content: bytes(`honest ${i}`) })
    const t0 = performance.now()
    await converged(record, [b], 30_000).catch(() => {})
    took.push(performance.now() - t0)
  }
  flooding = false
  const sent = await Promise.all(floods)
  const sa = a.mesh.stats()
  const sb = b.mesh.stats()
  console.log(`[signer-turns] ${FLOODERS} flooders wrote ${sent.reduce((x, y) => x + y, 0)} versions to a; a judged ${sa.announce.fullReceived} (over budget ${sa.announce.overBudget}), ` +
    `${sa.offers.waited} waited for their signer's turn, ${sa.offers.floodDropped} dropped as a judged flooder's, ${sa.offers.floodKept} kept; b received ${sb.announce.fullReceived} FULLs from a, dropped ${sb.announce.overBudget} over a's budget; ` +
    `honest updates reached b after ${took.map(ms => Math.round(ms)).join(', ')} ms`)
  // each within a generous bound (the tree takes well under a second on a quiet host; a
  // node busy checking the flood and storing its versions, on a loaded one, a few; anti-entropy would take minutes)
  for (const ms of took) expect(ms).toBeLessThan(10_000)
  // b dropped none of a's messages: a passed on no more than b takes from it
  expect(sb.announce.overBudget).toBe(0)
  expect(sa.offers.waited).toBeGreaterThan(0)
}, 240_000)
