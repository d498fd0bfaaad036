// N serf agents on loopback (Debian's serf, default LAN profile), each with an event
// handler that appends "<node> <event> <EPOCHREALTIME> <payload bytes>" to one shared
// log (lines under PIPE_BUF, opened O_APPEND: appends do not interleave).
import { chmodSync, closeSync, mkdirSync, openSync, readSync, writeFileSync, fstatSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SerfRpc } from './serf-rpc.js'
import { sleep, start, stop, type Child } from './procs.js'

export interface SerfNode { i: number, child?: Child, rpc?: SerfRpc, log: string }

export interface SerfClusterOptions {
  root: string
  n: number
  basePort: number
  rpcBasePort: number
  /** node i joins through these nodes (indices) */
  bootstrapOf: number[][]
}

export interface Arrival { node: number, at: number, bytes: number }

export class SerfCluster {
  readonly nodes: SerfNode[] = []
  readonly eventsFile: string
  private readonly handler: string
  private offset = 0
  private partial = ''
  /** event name → arrivals */
  private readonly arrivals = new Map<string, Arrival[]>()

  constructor (readonly o: SerfClusterOptions) {
    mkdirSync(o.root, { recursive: true })
    this.eventsFile = join(o.root, 'serf-events.log')
    writeFileSync(this.eventsFile, '')
    this.handler = join(o.root, 'serf-handler.sh')
    writeFileSync(this.handler, [
      '#!/bin/bash',
      't=$EPOCHREALTIME',
      'n=$(wc -c)',
      `printf '%s %s %s %s\\n' "$SERF_SELF_NAME" "$SERF_USER_EVENT" "$t" "$n" >> '${this.eventsFile}'`,
      ''
    ].join('\n'))
    chmodSync(this.handler, 0o755)
    for (let i = 0; i < o.n; i++) this.nodes.push({ i, log: join(o.root, `serf${i}.log`) })
  }

  /** Starts the agents one after another (serf's -join needs the target up). */
  async startAll (): Promise<void> {
    for (const node of this.nodes) {
      const args = ['agent', '-node', `n${node.i}`, '-bind', `127.0.0.1:${this.o.basePort + node.i}`,
        '-rpc-addr', `127.0.0.1:${this.o.rpcBasePort + node.i}`, '-log-level', 'warn',
        '-event-handler', `user=${this.handler}`,
        ...this.o.bootstrapOf[node.i].flatMap(j => ['-join', `127.0.0.1:${this.o.basePort + j}`])]
      const log = openSync(node.log, 'a')
      node.child = start(`serf${node.i}`, 'serf', args, { stdio: ['ignore', log, log] })
      closeSync(log)
      const deadline = Date.now() + 20_000
      for (;;) {
        if (node.child.proc.exitCode !== null) throw new Error(`serf agent ${node.i} exited:\n${this.logTail(node.i)}`)
        try { node.rpc = await SerfRpc.open(this.o.rpcBasePort + node.i, 1000); break } catch (err) {
          if (Date.now() > deadline) throw new Error(`serf agent ${node.i} RPC not up: ${(err as Error).message}\n${this.logTail(node.i)}`)
          await sleep(50)
        }
      }
    }
  }

  /** The smallest number of alive members any agent sees. */
  async minAlive (): Promise<number> {
    const counts = await Promise.all(this.nodes.map(async n => (await n.rpc!.members()).filter(m => m.Status === 'alive').length))
    return Math.min(...counts)
  }

  /** Reads new lines of the shared events log. */
  poll (): void {
    const fd = openSync(this.eventsFile, 'r')
    try {
      const size = fstatSync(fd).size
      if (size <= this.offset) return
      const buf = Buffer.alloc(size - this.offset)
      readSync(fd, buf, 0, buf.length, this.offset)
      this.offset = size
      const text = this.partial + buf.toString('utf8')
      const lines = text.split('\n')
      this.partial = lines.pop() ?? ''
      for (const line of lines) {
        const [node, name, t, bytes] = line.split(' ')
        if (t === undefined) continue
        let a = this.arrivals.get(name)
        if (a === undefined) { a = []; this.arrivals.set(name, a) }
        a.push({ node: Number(node.slice(1)), at: Number(t) * 1000, bytes: Number(bytes) })
      }
    } finally { closeSync(fd) }
  }

  /** Waits until `count` agents ran the handler for `name`; returns what arrived. */
  async waitFor (name: string, count: number, timeoutMs: number): Promise<Arrival[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      this.poll()
      const a = this.arrivals.get(name) ?? []
      if (new Set(a.map(x => x.node)).size >= count || Date.now() > deadline) return a
      await sleep(20)
    }
  }

  pids (): number[] { return this.nodes.map(n => n.child!.pid) }

  async stopAll (): Promise<void> {
    for (const n of this.nodes) n.rpc?.close()
    await Promise.all(this.nodes.map(async n => { if (n.child !== undefined) await stop(n.child) }))
  }

  logTail (i: number, lines = 15): string {
    try { return readFileSync(this.nodes[i].log, 'utf8').trim().split('\n').slice(-lines).join('\n') } catch { return '(no log)' }
  }
}
