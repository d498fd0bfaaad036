// Daemon lifecycle: sd_notify against a real NOTIFY_SOCKET, signals, reload, stale socket, bad config.
import { afterEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeBase64Key, generateSigningKey } from '../../src/crypto/keys.ts'
import { cli, startNode, type RunningNode } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

const alice = generateSigningKey()
const bob = generateSigningKey()
const A = encodeBase64Key(alice.publicKey)
const B = encodeBase64Key(bob.publicKey)
const cleanups: Array<() => unknown> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function node (o: Parameters<typeof startNode>[0] = {}): Promise<RunningNode> {
  const n = await startNode(o)
  cleanups.push(async () => await n.stop())
  return n
}

/** A real unix datagram listener (python3), printing each message it receives as a line. */
function notifyListener (path: string): { messages: string[], waitFor: (re: RegExp) => Promise<string>, close: () => void } {
  const py = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("LISTENING", flush=True)
while True:
    data = s.recv(4096)
    print(data.decode().replace("\\n", "|"), flush=True)
`
  const p = spawn('python3', ['-c', py, path])
  const messages: string[] = []
  const waiters: Array<{ re: RegExp, resolve: (m: string) => void }> = []
  let buf = ''
  p.stdout.on('data', d => {
    buf += String(d)
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const m = buf.slice(0, i); buf = buf.slice(i + 1)
      messages.push(m)
      for (const w of [...waiters]) if (w.re.test(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m) }
    }
  })
  return {
    messages,
    waitFor: async re => {
      const have = messages.find(m => re.test(m))
      if (have !== undefined) return have
      return await new Promise(resolve => waiters.push({ re, resolve }))
    },
    close: () => p.kill()
  }
}

describe('daemon lifecycle', () => {
  it('signals READY=1 once serving, pings the watchdog, and STOPPING=1 on SIGTERM (real NOTIFY_SOCKET)', async () => {
    const t = tempDir('dm-notify-')
    cleanups.push(t.cleanup)
    const sock = join(t.dir, 'notify.sock')
    const l = notifyListener(sock)
    cleanups.push(l.close)
    await l.waitFor(/LISTENING/)
    const n = await node({ files: { motd: [A] }, env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '1000000' } })
    const ready = await l.waitFor(/READY=1/)
    expect(ready).toMatch(/STATUS=serving 0 files/)
    // readiness came after the API was serving: the client works now
    expect(await n.client.listFiles()).toEqual([])
    await l.waitFor(/WATCHDOG=1/)
    const code = await n.stop('SIGTERM')
    expect(code).toBe(0)
    await l.waitFor(/STOPPING=1/)
    expect(existsSync(join(n.dir, 'api.sock'))).toBe(false) // graceful shutdown removes the socket
  })

  it('keeps everything delivered across SIGTERM and SIGKILL restarts, and starts over a stale socket', async () => {
    const t = tempDir('dm-restart-')
    cleanups.push(t.cleanup)
    const files = { motd: [A] }
    let n = await startNode({ files, dir: t.dir })
    await n.client.publish(alice, 'motd', Buffer.from('v1'))
    await n.stop('SIGKILL') // leaves api.sock behind
    expect(existsSync(join(t.dir, 'api.sock'))).toBe(true)
    n = await startNode({ files, dir: t.dir })
    expect(readFileSync(join(n.stateDir, 'files', 'motd'), 'utf8')).toBe('v1')
    expect((await n.client.getFile('motd')).content.toString()).toBe('v1')
    await n.stop('SIGTERM')
  })

  it('refuses to start next to a live daemon on the same socket', async () => {
    const first = await node({ files: { motd: [A] } })
    const other = join(first.dir, 'second.toml')
    writeFileSync(other, readFileSync(first.configPath, 'utf8').replace(/port = \d+/, 'port = 0').replace(/state_dir = "[^"]+"/, `state_dir = "${join(first.dir, 'state2')}"`))
    const r = await cli(['daemon', '--config', other])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/another daemon is serving .*api\.sock/)
    expect((await first.client.listFiles())).toEqual([]) // the first one is unharmed
  })

  it('SIGHUP reloads files: a removed signer\'s version is revoked and an honest one signed after the reload wins, though older', async () => {
    const n = await node({ files: { motd: [A, B] } })
    const now = Date.now()
    await n.client.publish(bob, 'motd', Buffer.from('leaked'), { timestamp: now + 60_000 })
    await expect(n.client.publish(alice, 'motd', Buffer.from('honest'), { timestamp: now })).rejects.toThrow(/not newer/)
    const watch = await n.client.watchFiles({ names: ['motd'] })
    n.writeConfig({ files: { motd: [A] } })
    n.proc.kill('SIGHUP')
    const ev = await watch.next(e => e.kind === 'REVOKED')
    watch.cancel()
    expect(ev.version.signer.toString('base64')).toBe(B)
    expect(existsSync(join(n.stateDir, 'files', 'motd'))).toBe(false)
    // signed before the reload: at or below the floor the revocation left (F3)
    await expect(n.client.publish(alice, 'motd', Buffer.from('honest'), { timestamp: now })).rejects.toThrow(/at or below the floor/)
    expect((await n.client.publish(alice, 'motd', Buffer.from('honest'))).outcome).toBe('ACCEPTED')
    expect(readFileSync(join(n.stateDir, 'files', 'motd'), 'utf8')).toBe('honest')
  })

  it('a bad config on reload is refused and the running one kept', async () => {
    const n = await node({ files: { motd: [A] } })
    writeFileSync(n.configPath, '[cluster]\nport = "nope"\n')
    n.proc.kill('SIGHUP')
    while (!n.output().includes('reload refused')) await new Promise(resolve => setTimeout(resolve, 50))
    expect(n.output()).toMatch(/cluster\.port/)
    expect((await n.client.publish(alice, 'motd', Buffer.from('still works'))).outcome).toBe('ACCEPTED')
  })

  it.each([
    ['[cluster]\nport = 99999', /cluster\.port: must be an integer from 0 to 65535/],
    ['[files]\n"motd" = ["AAAA"]', /files\."motd"\[0\]: "AAAA" is not the standard padded base64/],
    ['[api]\nsocket = 5', /api\.socket: must be a string/],
    ['bogus = true', /bogus: unknown key/]
  ])('refuses to start with a bad config (%j), naming the key', async (text, msg) => {
    const t = tempDir('dm-badcfg-')
    cleanups.push(t.cleanup)
    const p = join(t.dir, 'config.toml')
    writeFileSync(p, text)
    const r = await cli(['daemon', '--config', p])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(msg)
  })

  it('a truncated record file and a torn delivered file are dropped on start, never delivered', async () => {
    const t = tempDir('dm-torn-')
    cleanups.push(t.cleanup)
    let n = await startNode({ files: { motd: [A], zone: [A] }, dir: t.dir })
    await n.client.publish(alice, 'motd', Buffer.from('intact'))
    await n.client.publish(alice, 'zone', Buffer.from('zone content'))
    await n.stop('SIGKILL')
    writeFileSync(join(n.stateDir, 'files', 'zone'), 'zone cont') // torn by someone else
    n = await startNode({ files: { motd: [A], zone: [A] }, dir: t.dir })
    cleanups.push(async () => await n.stop())
    expect(n.output()).toMatch(/content is missing or corrupt/)
    expect(existsSync(join(n.stateDir, 'files', 'zone'))).toBe(false)
    expect(readFileSync(join(n.stateDir, 'files', 'motd'), 'utf8')).toBe('intact')
  })
})

