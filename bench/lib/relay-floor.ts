// Starts N relays (bench/relay-floor.ts: the daemon's network stack moving the messages
// of an update, plus the verify and the durable write, without the daemon), links them as
// the daemons are linked, publishes updates at one of them and counts what they did: the
// bench measures their CPU per update per node as it measures the daemons' (issue 22's
// floor of CPU per update).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { encodeRecord, type SignedRecord } from '../../src/crypto/record.js'
import { packageRoot } from '../../src/package-root.js'
import { start, stop, type Child } from './procs.js'

// the built relay (this module runs from dist/bench/lib, and from bench/lib under vitest)
export const RELAY_BIN = join(packageRoot(), 'dist', 'bench', 'relay-floor.js')

/** One undirected link of the relays' graph; eager links carry the full record (the tree), lazy ones notices. */
export interface RelayLink { a: number, b: number, eager: boolean }

export interface RelayCounts { fullSent: number, fullReceived: number, duplicates: number, ihaveSent: number, ihaveReceived: number, ihaveBytes: number, stored: number, refused: number }

interface Relay { i: number, child: Child, peerId: string, port: number, lines: string[], waiters: Array<() => void>, stored: number }

export interface RelayFloorOptions {
  n: number
  root: string
  /** relay i listens on basePort + i (0: on any free port) */
  basePort: number
  nsPrefix: string[]
  nodeFlags: string[]
  env: Record<string, string>
}

/**
 * The links the relays keep: the daemons' own connection graph (`neighbours[i]`: the
 * indices node i is connected to), with a spanning tree of it eager: breadth-first from
 * node 0, so each node is reached by a shortest path, as the tree's hop shaping aims for
 * (proto/tree.ts). A graph that is not connected gets its other parts' trees too.
 */
export function relayLinks (neighbours: number[][]): RelayLink[] {
  const n = neighbours.length
  const key = (a: number, b: number): string => a < b ? `${a},${b}` : `${b},${a}`
  const edges = new Map<string, RelayLink>()
  for (const [a, ns] of neighbours.entries()) {
    for (const b of ns) if (b !== a && b >= 0 && b < n) edges.set(key(a, b), { a: Math.min(a, b), b: Math.max(a, b), eager: false })
  }
  const seen = new Set<number>()
  for (let root = 0; root < n; root++) {
    if (seen.has(root)) continue
    seen.add(root)
    const queue = [root]
    while (queue.length > 0) {
      const x = queue.shift()!
      for (const y of [...neighbours[x]].sort((p, q) => p - q)) {
        const e = edges.get(key(x, y))
        if (e === undefined || seen.has(y)) continue
        seen.add(y); e.eager = true; queue.push(y)
      }
    }
  }
  return [...edges.values()]
}

export class RelayFloor {
  private readonly relays: Relay[] = []

  private constructor (private readonly o: RelayFloorOptions) {}

  /** Starts the N relays, 4 at a time, and waits until each listens. */
  static async start (o: RelayFloorOptions, timeoutMs = 120_000): Promise<RelayFloor> {
    const f = new RelayFloor(o)
    try {
      let next = 0
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (next < o.n) await f.startOne(next++, timeoutMs)
      }))
    } catch (err) { await f.stop(); throw err }
    return f
  }

  private async startOne (i: number, timeoutMs: number): Promise<void> {
    const dir = join(this.o.root, `relay${i}`)
    mkdirSync(dir, { recursive: true })
    const port = this.o.basePort === 0 ? 0 : this.o.basePort + i
    const [cmd, ...pre] = [...this.o.nsPrefix, process.execPath]
    const child = start(`relay${i}`, cmd, [...pre, ...this.o.nodeFlags, RELAY_BIN, String(port), dir], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...this.o.env } })
    const r: Relay = { i, child, peerId: '', port, lines: [], waiters: [], stored: 0 }
    this.relays[i] = r
    createInterface({ input: child.proc.stdout! }).on('line', line => {
      if (line.startsWith('stored ')) r.stored++
      else r.lines.push(line)
      for (const w of r.waiters.splice(0)) w()
    })
    const ready = await this.next(r, 'ready ', timeoutMs)
    const [, peerId, tcpPort] = ready.split(' ')
    r.peerId = peerId
    r.port = Number(tcpPort)
  }

  /** The next line from relay r starting with `prefix` (lines before it are dropped); a "failed" line throws. */
  private async next (r: Relay, prefix: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      while (r.lines.length > 0) {
        const line = r.lines.shift()!
        if (line.startsWith(prefix)) return line
        if (line.startsWith('failed ')) throw new Error(`relay ${r.i}: ${line.slice(7)}`)
      }
      if (r.child.proc.exitCode !== null) throw new Error(`relay ${r.i} exited (${r.child.proc.exitCode}) before "${prefix.trim()}"`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`relay ${r.i}: no "${prefix.trim()}" within ${timeoutMs / 1000} s`)
      await new Promise<void>(resolve => {
        const t = setTimeout(resolve, Math.min(left, 500))
        r.waiters.push(() => { clearTimeout(t); resolve() })
      })
    }
  }

  private send (r: Relay, msg: unknown): void { r.child.proc.stdin!.write(JSON.stringify(msg) + '\n') }

  /** Connects the relays along `links` (the lower index dials, on TCP) and opens a stream each way on every link. */
  async link (links: RelayLink[], timeoutMs = 90_000): Promise<void> {
    for (const r of this.relays) {
      const peers = links.filter(l => l.a === r.i || l.b === r.i).map(l => {
        const other = this.relays[l.a === r.i ? l.b : l.a]
        return { id: other.peerId, addr: `/ip4/127.0.0.1/tcp/${other.port}/p2p/${other.peerId}`, dial: l.a === r.i, eager: l.eager }
      })
      this.send(r, { op: 'links', peers })
    }
    await Promise.all(this.relays.map(async r => await this.next(r, 'linked', timeoutMs)))
  }

  /** A new version at relay `origin`, as the API hands one to a daemon. */
  publish (origin: number, record: SignedRecord, content: Uint8Array): void {
    this.send(this.relays[origin], { op: 'publish', record: Buffer.from(encodeRecord(record)).toString('base64'), content: Buffer.from(content).toString('base64') })
  }

  /** Whether the relays write the versions they take to their store from now on (on by default). */
  async durable (on: boolean, timeoutMs = 10_000): Promise<void> {
    for (const r of this.relays) this.send(r, { op: 'durable', on })
    await Promise.all(this.relays.map(async r => await this.next(r, 'durable', timeoutMs)))
  }

  /** Waits until every relay has stored `versions` versions in all (their "stored" lines). */
  async stored (versions: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    const count = (): number => this.relays.reduce((a, r) => a + r.stored, 0)
    while (count() < versions * this.relays.length) {
      if (Date.now() > deadline) return false
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    return true
  }

  /** Every relay's counters, summed. */
  async counts (timeoutMs = 10_000): Promise<RelayCounts> {
    for (const r of this.relays) this.send(r, { op: 'counts' })
    const all = await Promise.all(this.relays.map(async r => JSON.parse((await this.next(r, 'counts ', timeoutMs)).slice(7)) as RelayCounts))
    const sum = { fullSent: 0, fullReceived: 0, duplicates: 0, ihaveSent: 0, ihaveReceived: 0, ihaveBytes: 0, stored: 0, refused: 0 }
    for (const c of all) for (const k of Object.keys(sum) as Array<keyof RelayCounts>) sum[k] += c[k]
    return sum
  }

  pids (): number[] { return this.relays.map(r => r.child.pid) }

  async stop (): Promise<void> { await Promise.all(this.relays.filter(r => r !== undefined).map(async r => await stop(r.child, 5000))) }
}
