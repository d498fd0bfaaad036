// Child processes (tracked by PID so that every one is ended on exit, failure or
// Ctrl-C) and the /proc readings the bench takes: CPU ticks, RSS, loopback counters.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { readFileSync, readlinkSync } from 'node:fs'

export interface Child { name: string, proc: ChildProcess, pid: number, exited: Promise<number | null> }

const children = new Set<Child>()

export function start (name: string, cmd: string, args: string[], o: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, { stdio: 'ignore', ...o })
  if (proc.pid === undefined) throw new Error(`cannot start ${cmd}`)
  const exited = new Promise<number | null>(resolve => {
    if (proc.exitCode !== null) resolve(proc.exitCode)
    proc.once('exit', code => resolve(code))
    proc.once('error', () => resolve(-1))
  })
  const c: Child = { name, proc, pid: proc.pid, exited }
  children.add(c)
  void exited.then(() => children.delete(c))
  return c
}

export function isRunning (c: Child): boolean { return children.has(c) }

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stop (c: Child, graceMs = 10_000): Promise<void> {
  if (!children.has(c)) return
  try { process.kill(c.pid, 'SIGTERM') } catch {}
  const t = setTimeout(() => { try { process.kill(c.pid, 'SIGKILL') } catch {} }, graceMs)
  await c.exited
  clearTimeout(t)
}

export async function stopAll (graceMs = 10_000): Promise<void> {
  await Promise.all([...children].map(async c => await stop(c, graceMs)))
}

/** For a synchronous exit path: SIGKILL whatever is left. */
export function killAllNow (): void {
  for (const c of children) { try { process.kill(c.pid, 'SIGKILL') } catch {} }
}

export function liveChildren (): Child[] { return [...children] }

let clkTck: number | undefined
export function ticksPerSecond (): number {
  if (clkTck === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
    clkTck = Number(r.stdout?.trim()) || 100
  }
  return clkTck
}

/** utime + stime of a process, in seconds. */
export function cpuSeconds (pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  // fields after "(comm)": state is f[0]; utime is field 14 overall = f[11], stime = f[12]
  return (Number(f[11]) + Number(f[12])) / ticksPerSecond()
}

/** cutime + cstime: CPU of the process's reaped children (serf's event handler runs), in seconds. */
export function childCpuSeconds (pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return (Number(f[13]) + Number(f[14])) / ticksPerSecond()
}

/** Total CPU seconds of the processes (gone ones count as 0: snapshot the same set twice). */
export function totalCpu (pids: number[], children = false): number {
  let t = 0
  for (const p of pids) { try { t += children ? childCpuSeconds(p) : cpuSeconds(p) } catch {} }
  return t
}

export function rssBytes (pid: number): number { return statusBytes(pid, 'VmRSS') }

/**
 * The private part of the resident set (RssAnon: heap, stacks, malloc), without the pages
 * of the executable and libraries mapped from files (RssFile), which every process of the
 * same binary shares: 34 MB of an idle `node` is its own binary's code.
 */
export function rssAnonBytes (pid: number): number { return statusBytes(pid, 'RssAnon') }

function statusBytes (pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}

/** Bytes and packets sent on `lo` in the network namespace of `pid` ('self' = ours). */
export function loopbackTx (pid: number | 'self'): { bytes: number, packets: number } {
  for (const line of readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n')) {
    const m = /^\s*lo:\s*(.*)$/.exec(line)
    if (m === null) continue
    const f = m[1].trim().split(/\s+/).map(Number)
    return { bytes: f[8], packets: f[9] }
  }
  throw new Error(`no lo interface in /proc/${pid}/net/dev`)
}

export function netns (pid: number | 'self'): string { return readlinkSync(`/proc/${pid}/ns/net`) }

/** Machine-wide busy CPU seconds (all cores) from /proc/stat. */
export function machineBusySeconds (): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / ticksPerSecond()
}

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
