// N real daemons on loopback (separate processes, state dirs, ports and sockets), for the
// demo and the soak run. Node i > 0 bootstraps from node 0 only.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect, type DataMesherClient } from '../../src/client/client.js'
import { packageRoot } from '../../src/package-root.js'

/** the built CLI (also when this module runs from source under vitest) */
const BIN = join(packageRoot(), 'dist', 'src', 'cli', 'bin.js')

export interface ClusterOptions {
  dir: string
  size: number
  basePort: number
  /** name → base64 keys */
  files: Record<string, string[]>
  logLevel?: string
  syncInterval?: string
  /** the mesh's timings, [cluster] profile (src/mesh/profiles.ts); default: the daemon's default */
  profile?: 'default' | 'lan' | 'test'
  /** the entry point each daemon runs (default: the module tree's CLI, dist/src/cli/bin.js) */
  entry?: string
  /** node's own flags for daemon i (e.g. --heapsnapshot-signal) */
  nodeArgs?: (i: number) => string[]
  /** environment added to each daemon's (the soak gives the systemd unit's, bench/lib/node-flags.ts) */
  env?: Record<string, string>
}

export interface ClusterNode {
  index: number
  stateDir: string
  url: string
  proc?: ChildProcess
  client?: DataMesherClient
}

export class LocalCluster {
  readonly nodes: ClusterNode[]

  constructor (private readonly o: ClusterOptions) {
    mkdirSync(o.dir, { recursive: true })
    this.nodes = Array.from({ length: o.size }, (_, index) => ({
      index,
      stateDir: join(o.dir, `node${index}`),
      url: `unix://${join(o.dir, `node${index}.sock`)}`
    }))
    for (const n of this.nodes) writeFileSync(this.configPath(n.index), this.config(n.index))
  }

  configPath (i: number): string { return join(this.o.dir, `node${i}.toml`) }

  private config (i: number): string {
    const files = Object.entries(this.o.files).map(([k, v]) => `${JSON.stringify(k)} = ${JSON.stringify(v)}`)
    return [
      `log_level = "${this.o.logLevel ?? 'warn'}"`,
      `state_dir = "${this.nodes[i].stateDir}"`,
      '[cluster]',
      `port = ${this.o.basePort + i}`,
      `sync_interval = "${this.o.syncInterval ?? '2s'}"`,
      ...(this.o.profile !== undefined ? [`profile = "${this.o.profile}"`] : []),
      `bootstrap_nodes = [${i === 0 ? '' : `"127.0.0.1:${this.o.basePort}"`}]`,
      '[api]',
      `socket = "${this.nodes[i].url.slice('unix://'.length)}"`,
      'listen = ""',
      '[files]',
      ...files
    ].join('\n') + '\n'
  }

  async start (i: number): Promise<DataMesherClient> {
    const n = this.nodes[i]
    const proc = spawn(process.execPath, [...(this.o.nodeArgs?.(i) ?? []), this.o.entry ?? BIN, 'daemon', '--config', this.configPath(i)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...this.o.env } })
    let stderr = ''
    proc.stderr!.on('data', d => { stderr = (stderr + String(d)).slice(-4000) })
    n.proc = proc
    n.client = connect(n.url)
    const died = new Promise<never>((_resolve, reject) => proc.once('exit', code => reject(new Error(`node ${i} exited (${code}): ${stderr}`))))
    await Promise.race([n.client.waitForReady(30_000), died])
    died.catch(() => {})
    return n.client
  }

  async startAll (): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) await this.start(i)
  }

  async stop (i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const n = this.nodes[i]
    n.client?.close()
    n.client = undefined
    const p = n.proc
    n.proc = undefined
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise(resolve => p.once('exit', resolve))
    p.kill(signal)
    await exited
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.nodes.map(async n => await this.stop(n.index)))
  }

  /** Resident memory of node i's process, in bytes (Linux /proc). */
  rss (i: number): number { return this.status(i, 'VmRSS') }

  /** The private part of it (anonymous pages: the heap, not the shared code), in bytes. */
  rssAnon (i: number): number { return this.status(i, 'RssAnon') }

  private status (i: number, field: string): number {
    const pid = this.nodes[i].proc?.pid
    if (pid === undefined) return 0
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) * 1024
  }
}
