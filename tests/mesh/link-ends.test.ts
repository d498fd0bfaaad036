// Lost or hung up (src/mesh/link-ends.ts), on real connections of both transports: a peer
// whose process is killed is LOST (no close of any kind reaches the node: over TCP the
// kernel ends the socket as a graceful close would, over QUIC the connection ends at its
// idle timeout); a peer that hangs up, the node hanging up (what the overlay's trimming
// does), and a daemon's shutdown are HUNG UP. Only lost links count towards a reshape flood
// (proto/tree.ts); the announcer counts both (mesh stats: announce.linksLost, linksHungUp).
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { Cluster, waitFor, type TestNode } from './helpers.js'
import type { Transport } from '../../src/config/config.js'

let cluster: Cluster | undefined
const children: ChildProcess[] = []
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  await cluster?.close()
  cluster = undefined
})

/** A plain libp2p peer in a child process (link-peer.mjs), connected to `node` and taken by its broadcast tree. */
async function peerProcess (node: TestNode, transport: Transport): Promise<{ child: ChildProcess, peerId: string, send: (line: string) => Promise<string> }> {
  const addr = node.mesh.status().addresses.find(a => a.startsWith('/ip4/127.0.0.1/') && (transport === 'quic' ? a.includes('/quic-v1/') : a.includes('/tcp/')))
  if (addr === undefined) throw new Error(`no ${transport} address`)
  const child = spawn(process.execPath, [fileURLToPath(new URL('./link-peer.mjs', import.meta.url)), transport, addr], { stdio: ['pipe', 'pipe', 'inherit'] })
  children.push(child)
  child.stdout!.setEncoding('utf8')
  const lines: string[] = []
  let wake: (() => void) | undefined
  child.stdout!.on('data', (chunk: string) => { lines.push(...chunk.split('\n').filter(l => l !== '')); wake?.() })
  const next = async (): Promise<string> => {
    while (lines.length === 0) {
      if (child.exitCode !== null) throw new Error('the peer process ended')
      await new Promise<void>(resolve => { wake = resolve })
    }
    return lines.shift()!
  }
  const first = await next()
  if (!first.startsWith('connected ')) throw new Error(`the peer process said "${first}"`)
  const peerId = first.slice('connected '.length)
  await waitFor(() => node.mesh.status().peers.some(p => p.peerId === peerId), 'the node took the peer (identify done)')
  return { child, peerId, send: async (line) => { child.stdin!.write(line + '\n'); return await next() } }
}

const ended = (n: TestNode): { lost: number, hungUp: number } => ({ lost: n.mesh.stats().announce.linksLost, hungUp: n.mesh.stats().announce.linksHungUp })

for (const transport of ['tcp', 'quic'] as Transport[]) {
  describe(`${transport}: how a link ended`, () => {
    it('a peer whose process was killed: lost', async () => {
      cluster = new Cluster({ transports: [transport], syncInterval: 60_000 })
      const n0 = await cluster.add('n0')
      const p = await peerProcess(n0, transport)
      p.child.kill('SIGKILL')
      await waitFor(() => ended(n0).lost + ended(n0).hungUp > 0, 'the node saw the link end')
      expect(ended(n0)).toEqual({ lost: 1, hungUp: 0 })
    })

    it('a peer that hung up: hung up', async () => {
      cluster = new Cluster({ transports: [transport], syncInterval: 60_000 })
      const n0 = await cluster.add('n0')
      const p = await peerProcess(n0, transport)
      expect(await p.send('hangup')).toBe('done')
      await waitFor(() => ended(n0).lost + ended(n0).hungUp > 0, 'the node saw the link end')
      expect(ended(n0)).toEqual({ lost: 0, hungUp: 1 })
    })

    it('the node hanging up (as its overlay trims a link): hung up', async () => {
      cluster = new Cluster({ transports: [transport], syncInterval: 60_000 })
      const n0 = await cluster.add('n0')
      const p = await peerProcess(n0, transport)
      await n0.mesh.libp2p.hangUp(peerIdFromString(p.peerId))
      await waitFor(() => ended(n0).lost + ended(n0).hungUp > 0, 'the node saw the link end')
      expect(ended(n0)).toEqual({ lost: 0, hungUp: 1 })
    })

    it('a daemon that shut down: hung up, at the node that stays', async () => {
      cluster = new Cluster({ transports: [transport], syncInterval: 60_000 })
      const n0 = await cluster.add('n0')
      const n1 = await cluster.add('n1', { bootstrap: [n0.hostPort] })
      await waitFor(() => n0.mesh.status().peers.some(p => p.peerId === n1.peerId), 'n0 took n1')
      await n1.stop()
      await waitFor(() => ended(n0).lost + ended(n0).hungUp > 0, 'n0 saw the link end')
      expect(ended(n0)).toEqual({ lost: 0, hungUp: 1 })
    })
  })
}
