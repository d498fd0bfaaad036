// The endpoint of a real daemon: the text format at /metrics, nothing elsewhere, no
// file content in it, and a port already taken is a clear startup error.
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { cli, freePort, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'

const alice = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
const nodes: RunningNode[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => await n.stop())) })

describe('metrics endpoint', () => {
  it('serves the Prometheus text format at /metrics only, without file content', async () => {
    const listen = `127.0.0.1:${await freePort()}`
    const n = await startNode({ files: { motd: [A] }, extra: `[metrics]\nlisten = "${listen}"` })
    nodes.push(n)
    const secret = 'the-content-is-not-a-metric'
    expect((await n.client.publish(alice, 'motd', new TextEncoder().encode(secret))).outcome).toBe('ACCEPTED')
    const res = await fetch(`http://${listen}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    expect(text).toMatch(/^# TYPE data_mesher_delivery_lag_seconds histogram$/m)
    expect(text).toMatch(/^data_mesher_delivery_lag_seconds_count\{via="api"\} 1$/m)
    expect(text).toMatch(/^data_mesher_files\{state="delivered"\} 1$/m)
    expect(text).toMatch(/^data_mesher_updates_total\{outcome="accepted",reason="",via="api"\} 1$/m)
    expect(text).not.toContain(secret)
    expect((await fetch(`http://${listen}/`)).status).toBe(404)
    expect((await fetch(`http://${listen}/metrics`, { method: 'POST', body: 'x' })).status).toBe(405)
  })

  it('samples the event loop\'s delay once a second, not every 10 ms (prom-client\'s default woke an idle daemon 100 times a second: ~0.35% of a core)', async () => {
    const listen = `127.0.0.1:${await freePort()}`
    const n = await startNode({ files: { motd: [A] }, extra: `[metrics]\nlisten = "${listen}"` })
    nodes.push(n)
    // nodejs_eventloop_lag_min_seconds is the shortest wait the sampling timer saw since
    // the last scrape: about its resolution (0.01 s by default). A scrape empties the
    // histogram, and the timer needs two ticks after that for a sample; until one came,
    // the empty histogram's minimum (~9e9 s) is exported: scrapes 2.5 s apart.
    const lagMin = async (): Promise<number> => {
      const text = await (await fetch(`http://${listen}/metrics`)).text()
      const m = /^nodejs_eventloop_lag_min_seconds ([\d.e+-]+)$/m.exec(text)
      expect(m, 'nodejs_eventloop_lag_min_seconds is exported').not.toBeNull()
      return Number(m![1])
    }
    const deadline = Date.now() + 15_000
    let min = await lagMin()
    while (min > 100 && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 2_500))
      min = await lagMin()
    }
    expect(min).toBeLessThan(100) // sampled
    expect(min).toBeGreaterThanOrEqual(0.5)
  })

  it('a metrics port already in use stops the daemon at start with a clear error', async () => {
    const blocker = createServer()
    const port = await freePort()
    await new Promise<void>(resolve => blocker.listen(port, '127.0.0.1', resolve))
    try {
      const t = tempDir('dm-metrics-busy-')
      try {
        const config = join(t.dir, 'config.toml')
        writeFileSync(config, `state_dir = "${join(t.dir, 'state')}"\n[cluster]\nport = ${await freePort()}\n[api]\nsocket = "${join(t.dir, 'api.sock')}"\n[metrics]\nlisten = "127.0.0.1:${port}"\n`)
        const r = await cli(['daemon', '--config', config])
        expect(r.code).not.toBe(0)
        expect(r.stdout + r.stderr).toMatch(new RegExp(`metrics\\.listen: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`))
      } finally { t.cleanup() }
    } finally { blocker.close() }
  })
})
