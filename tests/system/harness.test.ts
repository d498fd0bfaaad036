// The harness itself, without the daemon: machines boot under systemd, talk over
// IPv4 and IPv6 on the private bridge, a cut link cuts, a powered-off machine boots
// again, the .path consumer fires, and teardown leaves nothing behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cluster } from './harness/cluster.js'
import { cgroupRoots } from './harness/cgroup.js'
import { run } from './harness/exec.js'
import { waitFor } from './harness/wait.js'

describe('system-test harness', () => {
  let c: Cluster
  beforeAll(async () => {
    c = await Cluster.create({ size: 3, daemon: false, watch: ['probe'] })
  })
  afterAll(async () => { await c?.destroy() })

  it('boots every container to "running" under systemd with the bind mounts in place', async () => {
    for (const n of c.nodes) {
      expect((await n.systemctl('is-system-running', { allowFail: true })).stdout.trim()).toBe('running')
      expect((await n.exec('cat /proc/1/comm')).stdout.trim()).toBe('systemd')
      expect((await n.exec('node --version')).stdout.trim()).toBe(process.version)
      expect((await n.exec('test -f /opt/data-mesher/package.json && echo ok')).stdout.trim()).toBe('ok')
      expect((await n.exec('touch /opt/data-mesher/x 2>&1', { allowFail: true })).stdout).toMatch(/Read-only/)
    }
  })

  it('connects the containers over IPv4 and IPv6', async () => {
    for (const a of c.nodes) {
      for (const b of c.nodes) {
        if (a === b) continue
        await a.exec(`ping -c1 -W2 ${b.ip4} && ping -6 -c1 -W2 ${b.ip6}`)
      }
    }
  })

  it('cuts and restores a link', async () => {
    const [n1, n2] = [c.node(1), c.node(2)]
    await n2.linkDown()
    expect((await n1.exec(`ping -c1 -W1 ${n2.ip4}`, { allowFail: true })).code).not.toBe(0)
    await n2.linkUp()
    await waitFor('link back', async () => (await n1.exec(`ping -c1 -W1 ${n2.ip4}`, { allowFail: true })).code === 0, { timeoutMs: 15_000 })
  })

  it('fires the .path consumer on an atomic replace and on removal, as the consumer user', async () => {
    const n = c.node(1)
    await n.exec('install -d -o data-mesher -g data-mesher -m 0750 /var/lib/data-mesher/files')
    await n.exec('cd /var/lib/data-mesher/files && printf hello > .tmp && chgrp data-mesher .tmp && chmod 0640 .tmp && mv .tmp probe')
    await waitFor('consumer saw "hello"', async () => n.consumerEvents('probe').some((e) => e.content === 'hello'), { timeoutMs: 15_000 })
    await n.exec('cd /var/lib/data-mesher/files && printf world > .tmp && chgrp data-mesher .tmp && chmod 0640 .tmp && mv .tmp probe')
    await waitFor('consumer saw "world"', async () => n.consumerEvents('probe').some((e) => e.content === 'world'), { timeoutMs: 15_000 })
    await n.exec('rm /var/lib/data-mesher/files/probe')
    await waitFor('consumer saw the removal', async () => n.consumerEvents('probe').at(-1)?.content === null, { timeoutMs: 15_000 })
    expect(n.consumerEvents('probe').map((e) => e.content)).toEqual(['hello', 'world', null])
  })

  it('powers a container off and boots it again, keeping its state directory', async () => {
    const n3 = c.node(3)
    await n3.exec('echo kept > /var/lib/data-mesher/marker && echo lost > /root/marker')
    await n3.poweroff()
    expect(n3.running).toBe(false)
    expect((await c.node(1).exec(`ping -c1 -W1 ${n3.ip4}`, { allowFail: true })).code).not.toBe(0)
    await n3.boot()
    expect((await n3.exec('cat /var/lib/data-mesher/marker')).stdout.trim()).toBe('kept')
    expect((await n3.exec('test -e /root/marker', { allowFail: true })).code).not.toBe(0) // volatile overlay
    await c.node(1).exec(`ping -c1 -W2 ${n3.ip4}`)
  })

  it('tears everything down', async () => {
    const pids = c.nodes.map((n) => n.nspawnPid)
    await c.destroy()
    expect((await run(['ip', 'netns', 'list'])).stdout).not.toContain(c.id)
    expect(existsSync(c.dir)).toBe(false)
    for (const pid of pids) expect(pid !== undefined && existsSync(`/proc/${pid}`)).toBe(false)
    expect((await run(['cat', '/proc/self/mountinfo'])).stdout).not.toContain(c.id)
    const leftovers = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`--machine=${c.id}-`) } catch { return false }
    })
    expect(leftovers).toEqual([])
    for (const root of cgroupRoots()) expect(readdirSync(root).filter((d) => d.startsWith(c.id))).toEqual([])
  })
})
