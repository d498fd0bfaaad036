// Memory after large files (issue 22): a stored file's buffer is garbage, but an idle daemon
// allocates too little for V8 to collect it; a lone daemon kept two 8 MiB uploads
// (~17 MB of RSS) for over a minute. The daemon runs one full collection once large files
// have stopped coming for a while (src/daemon/large-content-gc.ts).
import { afterAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { DAEMON_ENV } from '../../bench/lib/node-flags.ts'
import { startNode, type RunningNode } from '../helpers/daemon.ts'

const MiB = 1024 * 1024
let node: RunningNode | undefined
afterAll(async () => { await node?.stop() })

/** The process's anonymous resident memory (what a garbage buffer occupies), from /proc. */
function rssAnon (pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('RssAnon:'))
  return Number(line?.split(/\s+/)[1] ?? NaN) * 1024
}

describe('memory after large files', () => {
  it('an idle daemon gives back the buffers of the large files it stored', async () => {
    const key = generateSigningKey()
    // as it runs: the unit's environment (its malloc settings), warnings only, the default sync interval (an idle daemon that logs every
    // round allocates enough to collect the buffers soon anyway)
    node = await startNode({ files: { big: [encodeBase64Key(key.publicKey)] }, logLevel: 'warn', cluster: { sync_interval: '5s' }, env: DAEMON_ENV })
    const pid = node.proc.pid!
    await node.client.publish(key, 'big', randomBytes(1024)) // the paths a first update takes, warmed
    await new Promise(r => setTimeout(r, 1000))
    const before = rssAnon(pid)
    for (let k = 0; k < 2; k++) expect((await node.client.publish(key, 'big', randomBytes(8 * MiB))).outcome).toBe('ACCEPTED')
    const after = rssAnon(pid)
    const held = after - before
    expect(held).toBeGreaterThan(10 * MiB) // the two contents are in memory now
    // the collection runs 10 s after the last large file; before it, V8 kept them for over a minute
    const deadline = Date.now() + 25_000
    let now = after
    while (Date.now() < deadline) {
      now = rssAnon(pid)
      if (now - before < held / 2) break
      await new Promise(r => setTimeout(r, 250))
    }
    console.log(`RssAnon: ${(before / MiB).toFixed(1)} MiB before, ${(after / MiB).toFixed(1)} after two 8 MiB files, ${(now / MiB).toFixed(1)} at the end`)
    expect(now - before).toBeLessThan(held / 2)
  }, 60_000)
})
