// Crash safety: SIGKILL the daemon at random moments during a stream of updates (small
// and multi-MiB), restart it, and check after every restart that each delivered file is a
// complete, verified version, never older than one already confirmed to the client, and
// that the store needed no repair (nothing was dropped).
import { afterAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { startNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { prng } from './prng.ts'

const KILLS = Number(process.env.CRASH_KILLS ?? 200)
const alice = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
const NAMES = ['small/a', 'small/b', 'large/c', 'large/d']
const files = Object.fromEntries(NAMES.map(n => [n, [A]]))
const work = tempDir('dm-crash-')
afterAll(() => work.cleanup())

describe('crash safety', () => {
  it(`survives ${KILLS} SIGKILLs at random points without losing or tearing anything`, async () => {
    const seed = Number(process.env.CRASH_SEED ?? 424242)
    const rand = prng(seed)
    const confirmed = new Map<string, number>() // name → newest timestamp the daemon confirmed
    let ts = Date.now()
    let slowestStart = 0
    for (let kill = 0; kill < KILLS; kill++) {
      const startedAt = Date.now()
      const node = await startNode({ files, dir: work.dir, cluster: { port: 0 } })
      slowestStart = Math.max(slowestStart, Date.now() - startedAt)
      try {
        // 1. everything delivered is complete, verified, and not older than what was confirmed
        expect(node.output(), `kill ${kill}: the store needed repair`).not.toMatch(/dropping stored record|removing delivered file/)
        for (const v of await node.client.listFiles()) {
          const path = join(node.stateDir, 'files', ...v.name.split('/'))
          expect(v.delivered, v.name).toBe(true)
          const content = readFileSync(path)
          expect(content.length, `${v.name} torn after kill ${kill}`).toBe(v.size)
          expect(createHash('sha256').update(content).digest().equals(v.sha256), `${v.name} corrupt after kill ${kill}`).toBe(true)
          expect(v.timestamp, `${v.name} rolled back after kill ${kill}`).toBeGreaterThanOrEqual(confirmed.get(v.name) ?? 0)
        }
        for (const [name] of confirmed) expect(existsSync(join(node.stateDir, 'files', ...name.split('/'))), name).toBe(true)
        // 2. a stream of updates, killed at a random moment (sometimes mid-way through a large write)
        const killAfter = Math.floor(rand() * 250)
        let stop = false
        const stream = (async () => {
          while (!stop) {
            const name = NAMES[Math.floor(rand() * NAMES.length)]
            const size = name.startsWith('large') ? 1024 * 1024 + Math.floor(rand() * 3 * 1024 * 1024) : 1 + Math.floor(rand() * 4096)
            const stamp = ++ts
            try {
              await node.client.publish(alice, name, Buffer.alloc(size, stamp % 251), { timestamp: stamp })
              confirmed.set(name, Math.max(confirmed.get(name) ?? 0, stamp))
            } catch { return } // killed mid-call: not confirmed
          }
        })()
        await new Promise(resolve => setTimeout(resolve, killAfter)) // the random moment of the crash
        node.proc.kill('SIGKILL')
        stop = true
        await node.exited
        await stream
      } finally {
        await node.stop('SIGKILL')
      }
    }
    console.log(`[crash] ${KILLS} kills; the slowest start until the API answered: ${slowestStart} ms`)
    expect(confirmed.size).toBeGreaterThan(0)
  }, 30 * 60_000)
})
