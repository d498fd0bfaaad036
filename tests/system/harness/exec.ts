// Running host commands: a small promise wrapper around child_process.spawn.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'

export interface RunResult { code: number, stdout: string, stderr: string }

export interface RunOptions {
  /** do not throw on a non-zero exit status */
  allowFail?: boolean
  /** written to the command's stdin */
  input?: string
  /** kill the command after this many milliseconds (default 120 s) */
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** told about the child process once it is started */
  onSpawn?: (child: ChildProcess) => void
}

export class CommandError extends Error {
  constructor (readonly argv: string[], readonly result: RunResult) {
    super(`command failed (exit ${result.code}): ${argv.join(' ')}\n${result.stderr.trim() || result.stdout.trim()}`)
  }
}

export async function run (argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd })
  opts.onSpawn?.(child)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  child.stdin.on('error', () => {})
  child.stdin.end(opts.input ?? '')
  const timeoutMs = opts.timeoutMs ?? 120_000
  const timer = setTimeout(() => {
    stderr += `\n[harness] killed after ${timeoutMs} ms`
    child.kill('SIGKILL')
  }, timeoutMs)
  const code = await new Promise<number>((resolve) => {
    child.on('error', (err) => { stderr += String(err); resolve(127) })
    child.on('close', (c, sig) => resolve(c ?? (sig !== null ? 128 : 1)))
  })
  clearTimeout(timer)
  const result = { code, stdout, stderr }
  if (code !== 0 && opts.allowFail !== true) throw new CommandError(argv, result)
  return result
}

/**
 * For signal handlers and exit paths, where nothing asynchronous runs any more.
 * `quiet`: no output to our stdout/stderr, which may be a pipe to a parent that is gone.
 */
export function runSync (argv: string[], timeoutMs = 60_000, quiet = false): number {
  const r = spawnSync(argv[0], argv.slice(1), { stdio: quiet ? 'ignore' : 'inherit', timeout: timeoutMs })
  return r.status ?? 1
}

/** Single-quotes a string for /bin/sh. */
export function shq (s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`
}
