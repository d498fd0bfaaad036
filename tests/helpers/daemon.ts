// Runs real daemons (the built CLI, `node dist/src/cli/bin.js daemon`) on loopback.
import { spawn, type ChildProcess, execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { connect, type DataMesherClient } from '../../src/client/client.ts'
import { tempDir } from './fs.ts'
import { freePort } from './ports.ts'

export { freePort }

export const BIN = resolve('dist/src/cli/bin.js')

export interface NodeOptions {
  files?: Record<string, string[]>
  namespaces?: string[]
  extra?: string
  cluster?: Record<string, unknown>
  env?: NodeJS.ProcessEnv
  dir?: string
  /** api.listen (default "": no TCP listener) */
  listen?: string | string[]
  /** log_level (default "debug") */
  logLevel?: string
}

export interface RunningNode {
  dir: string
  stateDir: string
  configPath: string
  url: string
  port: number
  proc: ChildProcess
  client: DataMesherClient
  output: () => string
  exited: Promise<number | null>
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
  writeConfig: (o: NodeOptions) => void
}

function toml (v: unknown): string { return JSON.stringify(v) }

export function renderConfig (stateDir: string, socket: string, port: number, o: NodeOptions): string {
  const cluster = { port, sync_interval: '1s', ...(o.cluster ?? {}) }
  return [
    `log_level = ${toml(o.logLevel ?? 'debug')}`,
    `state_dir = ${toml(stateDir)}`,
    `namespaces = ${toml(o.namespaces ?? [])}`,
    '[cluster]',
    ...Object.entries(cluster).map(([k, v]) => `${k} = ${toml(v)}`),
    '[api]',
    `socket = ${toml(socket)}`,
    `listen = ${toml(o.listen ?? '')}`,
    '[files]',
    ...Object.entries(o.files ?? {}).map(([k, v]) => `${toml(k)} = ${toml(v)}`),
    o.extra ?? ''
  ].join('\n')
}

export async function startNode (o: NodeOptions = {}): Promise<RunningNode> {
  const t = o.dir === undefined ? tempDir('dm-node-') : { dir: o.dir, cleanup: () => {} }
  const dir = t.dir
  const stateDir = join(dir, 'state')
  const socket = join(dir, 'api.sock')
  const configPath = join(dir, 'config.toml')
  const port = (o.cluster?.port as number | undefined) ?? await freePort()
  const writeConfig = (n: NodeOptions): void => writeFileSync(configPath, renderConfig(stateDir, socket, port, n))
  writeConfig(o)
  const proc = spawn(process.execPath, [BIN, 'daemon', '--config', configPath], { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout!.on('data', d => { out += String(d) })
  proc.stderr!.on('data', d => { out += String(d) })
  const exited = new Promise<number | null>(res => proc.once('exit', code => res(code)))
  const url = `unix://${socket}`
  const early = exited.then(code => { throw new Error(`daemon exited (${code}) before it was ready:\n${out}`) })
  /** A daemon that never became ready is killed before the error goes on: no test leaves one running. */
  const giveUp = async (err: Error): Promise<never> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
    if (o.dir === undefined) t.cleanup()
    throw err
  }
  // connect once the daemon says its API serves: a gRPC channel that finds no socket yet
  // (or a stale one, after a kill) waits out a 1 s reconnect backoff
  await Promise.race([logged(proc, () => out, '"msg":"API serving"', 20_000), early]).catch(async (err: Error) => await giveUp(err))
  const client = connect(url)
  const ready = client.waitForReady(20_000)
  await Promise.race([ready, early]).catch(async (err: Error) => {
    client.close()
    // the daemon's own words say where its start stopped
    await giveUp(new Error(`${err.message}\n--- the daemon's output (last 4 KB) ---\n${out.slice(-4096)}`))
  })
  return {
    dir, stateDir, configPath, url, port, proc, client, exited, writeConfig,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      client.close()
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      const code = await exited
      if (o.dir === undefined) t.cleanup()
      return code
    }
  }
}

/** Resolves once the output so far contains `text`, or after `timeout` ms (the caller's own wait then says what failed). */
async function logged (proc: ChildProcess, output: () => string, text: string, timeout: number): Promise<void> {
  if (output().includes(text)) return
  await new Promise<void>(resolve => {
    const check = (): void => { if (output().includes(text)) done() }
    const done = (): void => { clearTimeout(timer); proc.stdout!.off('data', check); proc.stderr!.off('data', check); resolve() }
    const timer = setTimeout(done, timeout)
    proc.stdout!.on('data', check)
    proc.stderr!.on('data', check)
  })
}

export interface CliResult { code: number, stdout: string, stderr: string }

export async function cli (args: string[], o: { input?: string | Buffer, env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return await new Promise(res => {
    const child = execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...o.env }, maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      res({ code, stdout: stdout.toString(), stderr: stderr.toString() })
    })
    if (o.input !== undefined) child.stdin!.end(o.input)
    else child.stdin!.end()
  })
}
