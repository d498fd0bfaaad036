// The API's part of the daemon lifecycle: a failed start leaves nothing behind (L1), only a
// socket is ever removed as stale (L5), and a reload of limits.max_file_size reaches the
// gRPC message limit (L6). Real daemons, real sockets.
import { afterEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { connect } from '../../src/client/client.ts'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { BIN, freePort, renderConfig, startNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

const alice = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
const cleanups: Array<() => unknown> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function occupy (port: number): Promise<Server> {
  const s = createServer()
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(port, '127.0.0.1', resolve) })
  cleanups.push(async () => await new Promise(resolve => s.close(resolve)))
  return s
}

/** Runs a daemon until it exits or `ms` pass ('running'); `failedAt` is when it logged "cannot start". */
async function daemonUntilExit (configPath: string, ms: number): Promise<{ code: number | null | 'running', out: string, failedAt: number, exitedAt: number, kill: () => void }> {
  const proc = spawn(process.execPath, [BIN, 'daemon', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] })
  const kill = (): void => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') }
  cleanups.push(kill)
  let out = ''
  let failedAt = 0
  proc.stdout.on('data', d => { out += String(d); if (failedAt === 0 && out.includes('cannot start')) failedAt = Date.now() })
  proc.stderr.on('data', d => { out += String(d) })
  const exited = new Promise<number | null>(resolve => proc.once('exit', code => resolve(code)))
  // generous: starting the mesh on a loaded machine takes a while
  const code = await Promise.race([exited, new Promise<'running'>(resolve => setTimeout(() => resolve('running'), ms))])
  return { code, out, failedAt, exitedAt: Date.now(), kill }
}

describe('API lifecycle', () => {
  it('L1: when api.listen cannot bind, the daemon exits non-zero within a second, removes its socket and accepts nothing', async () => {
    const t = tempDir('dm-l1-')
    cleanups.push(t.cleanup)
    const apiPort = await freePort()
    await occupy(apiPort)
    const socket = join(t.dir, 'api.sock')
    const configPath = join(t.dir, 'config.toml')
    writeFileSync(configPath, renderConfig(join(t.dir, 'state'), socket, await freePort(), { files: { motd: [A] }, listen: `127.0.0.1:${apiPort}` }))
    const run = await daemonUntilExit(configPath, 30_000)
    if (run.code === 'running') {
      const client = connect(`unix://${socket}`)
      const accepted = await client.publish(alice, 'motd', Buffer.from('lost upload')).then(r => r.outcome, e => String(e))
      client.close()
      run.kill()
      throw new Error(`still running 30 s after start (upload on the socket: ${accepted}); output:\n${run.out.slice(-2000)}`)
    }
    const { code, out, failedAt, exitedAt } = run
    expect(out).toMatch(/cannot start/)
    expect(out).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${apiPort}`))
    expect(code).not.toBe(0)
    expect(code).not.toBeNull()
    expect(exitedAt - failedAt).toBeLessThan(1000)
    expect(existsSync(socket)).toBe(false)
  }, 60_000)

  it('L5: a regular file at api.socket is not removed as a stale socket: the daemon refuses to start, naming it', async () => {
    const t = tempDir('dm-l5-')
    cleanups.push(t.cleanup)
    const socket = join(t.dir, 'api.sock')
    writeFileSync(socket, 'someone\'s notes')
    const configPath = join(t.dir, 'config.toml')
    writeFileSync(configPath, renderConfig(join(t.dir, 'state'), socket, await freePort(), { files: { motd: [A] } }))
    const r = await daemonUntilExit(configPath, 30_000)
    r.kill()
    expect(r.code).toBe(1)
    expect(r.out).toMatch(new RegExp(`api\\.socket: ${socket.replace(/[.]/g, '\\.')} exists and is a regular file, not a socket`))
    expect(readFileSync(socket, 'utf8')).toBe('someone\'s notes')
  }, 60_000)

  it('L6: a reload that raises limits.max_file_size lets a file above the old gRPC message limit through', async () => {
    const files = { big: [A] }
    const n = await startNode({ files, extra: '[limits]\nmax_file_size = 1000' })
    cleanups.push(async () => await n.stop())
    const client = connect(n.url, { maxFileSize: 1024 * 1024 }) // the client itself takes up to 1 MiB
    cleanups.push(() => client.close())
    const content = Buffer.alloc(200_000, 7) // above 1000 + 64 KiB, the message limit at start
    await expect(client.publish(alice, 'big', content)).rejects.toThrow(/larger than|max_file_size/)
    n.writeConfig({ files, extra: '[limits]\nmax_file_size = 500000' })
    n.proc.kill('SIGHUP')
    while (!n.output().includes('configuration reloaded')) await new Promise(resolve => setTimeout(resolve, 50))
    expect((await client.publish(alice, 'big', content)).outcome).toBe('ACCEPTED')
    expect(readFileSync(join(n.stateDir, 'files', 'big')).equals(content)).toBe(true)
    // and lowering it again applies too
    n.writeConfig({ files, extra: '[limits]\nmax_file_size = 1000' })
    n.proc.kill('SIGHUP')
    const reloads = (): number => n.output().split('configuration reloaded').length
    const before = reloads()
    while (reloads() === before) await new Promise(resolve => setTimeout(resolve, 50))
    await expect(client.publish(alice, 'big', Buffer.alloc(200_000, 8))).rejects.toThrow(/larger than|max_file_size/)
  }, 60_000)
})
