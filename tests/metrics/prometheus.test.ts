// A real Prometheus (Debian's package) scrapes a 3-node cluster of real daemons on
// loopback, and everything is asserted through its HTTP query API: the series exist,
// peers are seen, and one update's arrival moves the delivery-lag histogram of every
// node (via the API on the node it was published to, via a peer on the others); a
// refused update shows up with its reason; the shipped alert rules load and evaluate.
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { freePort, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'
import { requireBinary, runsHere } from './prometheus-binary.ts'

const alice = generateSigningKey()
const mallory = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
const RULES = resolve('docs/alerts/data-mesher.rules.yml')

interface Sample { metric: Record<string, string>, value: [number, string] }

class Prometheus {
  private out = ''
  private constructor (readonly url: string, private readonly proc: ChildProcess, private readonly exited: Promise<unknown>) {
    proc.stdout!.on('data', d => { this.out += String(d) })
    proc.stderr!.on('data', d => { this.out += String(d) })
  }

  static async start (dir: string, targets: string[]): Promise<Prometheus> {
    const port = await freePort()
    const config = join(dir, 'prometheus.yml')
    // JSON is YAML: no YAML library needed to write the config
    writeFileSync(config, JSON.stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [RULES],
      scrape_configs: [{ job_name: 'data-mesher', static_configs: [{ targets }] }]
    }))
    const proc = spawn('prometheus', [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn'
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise(resolve => proc.once('exit', resolve))
    const p = new Prometheus(`http://127.0.0.1:${port}`, proc, exited)
    await p.until('ready', async () => (await fetch(`${p.url}/-/ready`).catch(() => undefined))?.ok === true ? true : undefined)
    return p
  }

  async query (q: string): Promise<Sample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(q)}`)
    const body = await res.json() as { status: string, error?: string, data: { resultType: string, result: Sample[] } }
    if (body.status !== 'success') throw new Error(`query ${q}: ${body.error ?? res.status}`)
    return body.data.result
  }

  /** Polls `check` until it returns a value (not undefined), or fails after `ms` naming `what`. */
  async until<T> (what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`prometheus exited:\n${this.out}`)
      const v = await check()
      if (v !== undefined) return v
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nprometheus output:\n${this.out}`)
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  }

  /** The value of `q` for each scrape target, once every target has one that satisfies `ok`. */
  async perInstance (q: string, instances: string[], ok: (v: number, instance: string) => boolean): Promise<Map<string, number>> {
    return await this.until(`${q} on ${instances.join(', ')}`, async () => {
      const byInstance = new Map((await this.query(q)).map(s => [s.metric.instance, Number(s.value[1])]))
      return instances.every(i => byInstance.has(i) && ok(byInstance.get(i)!, i)) ? byInstance : undefined
    })
  }

  async stop (): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM')
    await this.exited
  }
}

describe.skipIf(!runsHere('prometheus'))('metrics scraped by a real Prometheus', () => {
  const nodes: RunningNode[] = []
  const instances: string[] = []
  let prom: Prometheus | undefined
  let cleanup = (): void => {}

  beforeAll(async () => {
    requireBinary('prometheus')
    const t = tempDir('dm-prom-')
    cleanup = t.cleanup
    for (let i = 0; i < 3; i++) {
      const metrics = `127.0.0.1:${await freePort()}`
      instances.push(metrics)
      const bootstrap = i === 0 ? {} : { bootstrap_nodes: [`127.0.0.1:${nodes[0].port}`] }
      nodes.push(await startNode({ files: { motd: [A] }, cluster: bootstrap, extra: `[metrics]\nlisten = "${metrics}"` }))
    }
    prom = await Prometheus.start(t.dir, instances)
  })

  afterAll(async () => {
    await prom?.stop()
    await Promise.all(nodes.map(async n => await n.stop()))
    cleanup()
  })

  it('scrapes every node: the series exist, peers are verified, the alert rules load', async () => {
    const p = prom!
    await p.perInstance('up{job="data-mesher"}', instances, v => v === 1)
    for (const name of [
      'data_mesher_files', 'data_mesher_peers', 'data_mesher_broadcast_links', 'data_mesher_broadcast_full_records_total',
      'data_mesher_fetches_total', 'data_mesher_sync_rounds_total', 'data_mesher_sync_round_failures_total',
      'data_mesher_connections_refused_total', 'data_mesher_floors', 'data_mesher_file_delivered', 'data_mesher_node_info',
      'data_mesher_queue_records', 'data_mesher_peer_queue_longest_records', 'data_mesher_offers_shed_total', 'data_mesher_fetch_hedged_total', 'data_mesher_sync_paced_total', 'data_mesher_broadcast_over_budget_total',
      'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes'
    ]) {
      await p.perInstance(`count by (instance) (${name})`, instances, v => v >= 1)
    }
    // every node sees the other two
    await p.perInstance('data_mesher_peers{state="verified"}', instances, v => v === 2)
    // anti-entropy rounds run (sync_interval 1s) and are counted
    await p.perInstance('sum by (instance) (data_mesher_sync_rounds_total)', instances, v => v >= 1)
    // no network here: no certificate series (not a 0 that reads as "ended in 1970")
    expect(await p.query('data_mesher_certificate_remaining_seconds')).toEqual([])
    // the configured name has no version yet: 0 everywhere
    await p.perInstance('data_mesher_file_delivered{name="motd"}', instances, v => v === 0)
    // Prometheus loaded the shipped rules and evaluates them without error
    await p.until('the alert rules evaluated', async () => {
      const body = await (await fetch(`${p.url}/api/v1/rules`)).json() as { data: { groups: Array<{ rules: Array<{ name: string, health: string, lastError?: string }> }> } }
      const rules = body.data.groups.flatMap(g => g.rules)
      if (rules.some(r => r.health === 'err')) throw new Error(`a rule failed: ${JSON.stringify(rules)}`)
      return rules.length === 5 && rules.every(r => r.health === 'ok') ? rules : undefined
    })
  })

  it("an update's arrival is visible in the delivery-lag histogram of every node; a refused one by its reason", async () => {
    const p = prom!
    // nothing delivered yet: no lag observed anywhere
    expect(await p.query('data_mesher_delivery_lag_seconds_count')).toEqual([])

    const r = await nodes[0].client.publish(alice, 'motd', new TextEncoder().encode('hello, fleet\n'))
    expect(r.outcome).toBe('ACCEPTED')

    const counts = await p.perInstance('sum by (instance) (data_mesher_delivery_lag_seconds_count)', instances, v => v >= 1)
    expect([...counts.values()]).toEqual([1, 1, 1])
    // published on node 0 through its API; the others had it from a peer
    await p.perInstance('data_mesher_delivery_lag_seconds_count{via="api"}', [instances[0]], v => v === 1)
    await p.perInstance('data_mesher_delivery_lag_seconds_count{via="peer"}', instances.slice(1), v => v === 1)
    // the observation landed in a finite bucket (the +Inf bucket alone would mean a lag beyond a day)
    await p.perInstance('sum by (instance) (data_mesher_delivery_lag_seconds_bucket{le="86400"})', instances, v => v === 1)
    // the lag is the time from signature to storage: at least 0, and (loopback, one hop) not hours
    const sums = await p.perInstance('sum by (instance) (data_mesher_delivery_lag_seconds_sum)', instances, v => v >= 0)
    for (const v of sums.values()) expect(v).toBeLessThan(60)
    await p.perInstance('data_mesher_files{state="delivered"}', instances, v => v === 1)
    await p.perInstance('data_mesher_file_delivered{name="motd"}', instances, v => v === 1)
    await p.perInstance('sum by (instance) (data_mesher_updates_total{outcome="accepted"})', instances, v => v === 1)

    // a version signed by a key that is not motd's: refused, counted by its reason
    const refused = await nodes[1].client.publish(mallory, 'motd', new TextEncoder().encode('not yours\n')).catch((err: Error) => err)
    expect(refused instanceof Error || refused.outcome !== 'ACCEPTED').toBe(true)
    await p.perInstance('data_mesher_updates_total{outcome="refused",reason="not-signer",via="api"}', [instances[1]], v => v === 1)
    // and the histogram did not move for it
    const after = await p.perInstance('sum by (instance) (data_mesher_delivery_lag_seconds_count)', instances, v => v >= 1)
    expect([...after.values()]).toEqual([1, 1, 1])
  })
})
