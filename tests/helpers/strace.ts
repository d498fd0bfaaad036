// Traces a running process's system calls with strace (attached by pid, every thread: the
// daemon's fsyncs run on libuv's thread pool) and parses the trace into calls with their
// position, so that a test can check which calls happened and in which order.
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export function haveStrace (): boolean {
  return spawnSync('strace', ['-V']).status === 0
}

export interface Call {
  pid: number
  name: string
  /** the arguments as strace printed them (with -yy: every fd followed by <its path>) */
  args: string
  /** the return value as printed ("0", "35</path>", "-1 ENOENT ...") */
  ret: string
  /** line of the trace where the call started and where it returned */
  start: number
  end: number
}

/**
 * Starts tracing `pid` (the listed calls) into `out`; resolves once strace has attached,
 * with a function that stops it and returns the calls traced.
 */
export async function traceProcess (pid: number, calls: string[], out: string): Promise<{ stop: () => Promise<Call[]> }> {
  const proc = spawn('strace', ['-f', '-yy', '-s', '64', '-o', out, '-e', `trace=${calls.join(',')}`, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  proc.stderr.on('data', d => { err += String(d) })
  const exited = new Promise<number | null>(resolve => proc.once('exit', code => resolve(code)))
  // "Process N attached with M threads": strace has taken every thread by then
  const deadline = Date.now() + 10_000
  while (!/attached/.test(err)) {
    if (proc.exitCode !== null || Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`strace did not attach to ${pid}: ${err}`) }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return {
    stop: async () => {
      proc.kill('SIGINT')
      await exited
      return parseTrace(readFileSync(out, 'utf8'))
    }
  }
}

const WHOLE = /^(\d+) +(\w+)\((.*)\) += (.*)$/
const UNFINISHED = /^(\d+) +(\w+)\((.*) <unfinished \.\.\.>$/
const RESUMED = /^(\d+) +<\.\.\. (\w+) resumed>(.*)\) += (.*)$/

/** strace -f output: a call another thread interrupts is split into "<unfinished ...>" and "<... resumed>". */
export function parseTrace (text: string): Call[] {
  const calls: Call[] = []
  const open = new Map<number, Call>()
  text.split('\n').forEach((line, i) => {
    let m = WHOLE.exec(line)
    if (m !== null) { calls.push({ pid: Number(m[1]), name: m[2], args: m[3], ret: m[4], start: i, end: i }); return }
    m = UNFINISHED.exec(line)
    if (m !== null) { open.set(Number(m[1]), { pid: Number(m[1]), name: m[2], args: m[3], ret: '', start: i, end: i }); return }
    m = RESUMED.exec(line)
    if (m !== null) {
      const call = open.get(Number(m[1]))
      if (call === undefined || call.name !== m[2]) return
      open.delete(call.pid)
      call.args += m[3]
      call.ret = m[4]
      call.end = i
      calls.push(call)
    }
  })
  return calls.sort((a, b) => a.start - b.start)
}

/** The path strace printed for the first fd argument ("35</a/b>" → "/a/b"). */
export function fdPath (call: Call): string | undefined {
  return /^\d+<([^>]*)>/.exec(call.args)?.[1]
}

/** The quoted string arguments of a call, in order (paths of openat, rename). */
export function quoted (call: Call): string[] {
  return [...call.args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(m => m[1])
}
