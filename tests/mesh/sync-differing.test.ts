// sync/3.0.0: two nodes that differ in a few names exchange only those records, not their
// whole index (issue 14: "anti-entropy sends only the differing records").
import { afterEach, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { Cluster, bytes, converged, waitFor } from './helpers.js'
import { signRecord, type SignedRecord } from '../../src/crypto/record.js'

let cluster: Cluster | undefined
afterEach(async () => { await cluster?.close(); cluster = undefined })

const NAMES = Array.from({ length: 52 }, (_, i) => `f${i}`)

it('two nodes sharing 50 identical names and differing in two exchange exactly those two records', async () => {
  // sync only on connect: the timer (60 s) does not fire during the test
  cluster = new Cluster({ transports: ['tcp'], names: NAMES, syncInterval: 60_000 })
  const a = await cluster.add('a')
  const b = await cluster.add('b')
  const sign = (name: string, timestamp: number): SignedRecord => signRecord(cluster!.signer, { name, timestamp, content: bytes(`${name}@${timestamp}`) })
  const put = async (n: typeof a, r: SignedRecord): Promise<void> => {
    expect((await n.replica.submit(r, bytes(`${r.name}@${r.timestamp}`), 'api')).outcome).toBe('accepted')
  }
  const t = Date.now() - 60_000
  for (let i = 0; i < 50; i++) {
    const r = sign(`f${i}`, t + i)
    await put(a, r)
    await put(b, r)
  }
  const older = sign('f50', t)
  const newer = sign('f50', t + 1000)
  await put(b, older)
  await put(a, newer) // a is ahead on f50 ...
  const onlyB = sign('f51', t)
  await put(b, onlyB) // ... b alone has f51

  // b dials a: the new outbound connection starts one sync round, b initiating
  const addr = a.mesh.status().addresses.find(x => x.startsWith('/ip4/127.0.0.1/tcp/'))!
  await b.mesh.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
  await converged(newer, [a, b])
  await converged(onlyB, [a, b])
  await waitFor(() => b.mesh.stats().sync.exchanged >= 1, 'b completed its round')

  const sa = a.mesh.stats().sync
  const sb = b.mesh.stats().sync
  // b initiated: it pushes f51 and pulls f50; none of the 50 shared names crosses
  expect(sa.recordsSent).toBe(1) // exactly the wanted one (sync/2.0.0 sent all 51)
  expect(sa.recordsReceived + sb.recordsReceived).toBe(2)
  expect(sb.recordsSent).toBe(1) // f51, which a lacks
  expect(sb.wanted).toBe(1) // f50@newer, from a's summary
  expect(sa.summaryEntriesSent).toBe(51) // a's index: 51 names, one slot each
  expect(sb.summaryEntriesReceived).toBe(51)
}, 60_000)
