// N data-mesher daemons on loopback: one process each, its own port, state dir and
// unix API socket, started as it ships: `node FLAGS dist/bundle/data-mesher.mjs daemon --config FILE`
// (the bundle package.json's bin runs, with the node flags and the unit's environment of bench/lib/node-flags.ts).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { ClientError, connect, type DataMesherClient, type FileEvent, type FileWatch } from '../../src/client/client.js'
import { status as grpcStatus } from '@grpc/grpc-js'
import { start, stop, type Child } from './procs.js'
import { DAEMON_NODE_FLAGS, DAEMON_ENV } from './node-flags.js'
import { packageRoot } from '../../src/package-root.js'

// the built files, found from the package root (this module runs from dist/bench/lib, and from bench/lib under vitest)
export const BUNDLE_BIN = join(packageRoot(), 'dist', 'bundle', 'data-mesher.mjs')
export const MODULES_BIN = join(packageRoot(), 'dist', 'src', 'cli', 'bin.js')

export interface DmNode {
  i: number
  dir: string
  config: string
  socket: string
  child?: Child
  client?: DataMesherClient
  watch?: FileWatch
  peerId: string
}

export type EventListener = (node: number, e: FileEvent, at: number) => void

export interface DmClusterOptions {
  root: string
  n: number
  basePort: number
  /** node i joins through these nodes (indices); node 0 through none */
  bootstrapOf: number[][]
  signerPublicKey: string
  names: string[]
  /** command prefix that puts a process in the data-mesher network namespace */
  nsPrefix: string[]
  /** node flags for the daemons (default: what ships, bench/lib/node-flags.ts) */
  nodeFlags?: string[]
  /** each node serves its Prometheus endpoint on 127.0.0.1 at this port + its index (default: no metrics) */
  metricsBasePort?: number
  /** the entry point (default: the bundle; bench:profile takes the module tree, whose paths name the packages) */
  bin?: string
  /** environment added to the daemons' (default: what the unit sets, bench/lib/node-flags.ts) */
  env?: Record<string, string>
}

export class DmCluster {
  readonly nodes: DmNode[] = []
  private readonly listeners = new Set<EventListener>()

  constructor (readonly o: DmClusterOptions) {
    for (let i = 0; i < o.n; i++) {
      const dir = join(o.root, `dm${i}`)
      mkdirSync(dir, { recursive: true })
      const node: DmNode = { i, dir, config: join(dir, 'config.toml'), socket: join(dir, 'api.sock'), peerId: '' }
      writeFileSync(node.config, this.configText(i, dir, node.socket))
      this.nodes.push(node)
    }
  }

  private configText (i: number, dir: string, socket: string): string {
    const boot = this.o.bootstrapOf[i].map(j => `"127.0.0.1:${this.o.basePort + j}"`).join(', ')
    return [
      'log_level = "warn"',
      `state_dir = "${join(dir, 'state')}"`,
      '[cluster]',
      `port = ${this.o.basePort + i}`,
      `bootstrap_nodes = [${boot}]`,
      '[api]',
      `socket = "${socket}"`,
      'listen = ""',
      ...(this.o.metricsBasePort !== undefined ? ['[metrics]', `listen = "127.0.0.1:${this.o.metricsBasePort + i}"`] : []),
      '[files]',
      ...this.o.names.map(n => `"${n}" = ["${this.o.signerPublicKey}"]`)
    ].join('\n') + '\n'
  }

  /** Starts node i's process (not waiting for it); returns the time it was spawned. */
  spawn (i: number): number {
    const node = this.nodes[i]
    const log = openSync(join(node.dir, 'daemon.log'), 'a')
    const [cmd, ...pre] = [...this.o.nsPrefix, process.execPath]
    const t = performance.now()
    node.child = start(`dm${i}`, cmd, [...pre, ...(this.o.nodeFlags ?? DAEMON_NODE_FLAGS), this.o.bin ?? BUNDLE_BIN, 'daemon', '--config', node.config], { stdio: ['ignore', log, log], env: { ...process.env, ...(this.o.env ?? DAEMON_ENV) } })
    closeSync(log)
    return t
  }

  async ready (i: number, timeoutMs = 60_000): Promise<void> {
    const node = this.nodes[i]
    node.client?.close()
    const deadline = Date.now() + timeoutMs
    // the socket first: a gRPC client that finds no socket backs off (1 s, then longer)
    // before it tries again, which measured ~1-2.5 s of a lone daemon's ~0.4 s start
    while (!existsSync(node.socket) && Date.now() < deadline) {
      if (node.child !== undefined && node.child.proc.exitCode !== null) break
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    node.client = connect(`unix://${node.socket}`)
    for (;;) {
      if (node.child !== undefined && node.child.proc.exitCode !== null) throw new Error(`data-mesher node ${i} exited (${node.child.proc.exitCode}):\n${this.logTail(i)}`)
      try { await node.client.waitForReady(Math.min(2000, deadline - Date.now())); break } catch (err) {
        if (Date.now() >= deadline) throw new Error(`data-mesher node ${i} did not answer within ${timeoutMs} ms: ${(err as Error).message}\n${this.logTail(i)}`)
      }
    }
    // the socket answers before the daemon serves: UNAVAILABLE ("starting") until it does
    for (;;) {
      try { node.peerId = (await node.client.getStatus()).nodeId; return } catch (err) {
        const starting = err instanceof ClientError && err.code === grpcStatus.UNAVAILABLE
        if (!starting || Date.now() >= deadline) throw err
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    }
  }

  /** Starts all nodes, `parallel` at a time (Node start-up is CPU-bound on 2 cores). */
  async startAll (parallel = 4): Promise<void> {
    let next = 0
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (next < this.nodes.length) {
        const i = next++
        this.spawn(i)
        await this.ready(i)
      }
    }))
  }

  /** Opens a WatchFiles stream on node i; every event goes to the listeners. */
  async watch (i: number): Promise<void> {
    const node = this.nodes[i]
    node.watch = await node.client!.watchFiles({ names: this.o.names })
    const w = node.watch
    void (async () => {
      try {
        for await (const e of w) { const at = performance.now(); for (const l of this.listeners) l(i, e, at) }
      } catch {}
    })()
  }

  async watchAll (): Promise<void> { await Promise.all(this.nodes.map(async n => await this.watch(n.i))) }

  listen (l: EventListener): () => void { this.listeners.add(l); return () => this.listeners.delete(l) }

  async stopNode (i: number): Promise<void> {
    const node = this.nodes[i]
    node.watch?.cancel()
    node.watch = undefined
    node.client?.close()
    node.client = undefined
    if (node.child !== undefined) await stop(node.child)
  }

  async stopAll (): Promise<void> { await Promise.all(this.nodes.map(async n => await this.stopNode(n.i))) }

  client (i: number): DataMesherClient { return this.nodes[i].client! }

  pids (): number[] { return this.nodes.map(n => n.child!.pid) }

  indexOfPeer (peerId: string): number { return this.nodes.findIndex(n => n.peerId === peerId) }

  logTail (i: number, lines = 15): string {
    try { return readFileSync(join(this.nodes[i].dir, 'daemon.log'), 'utf8').trim().split('\n').slice(-lines).join('\n') } catch { return '(no log)' }
  }
}
