// N containers on a private bridge inside their own network namespace.
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Container } from './container.js'
import { run } from './exec.js'
import { C_TMPFILES_DIR, CONSUMER_UID, DAEMON_UID, PREFIX, WORK_BASE } from './paths.js'
import { register, unregister } from './registry.js'
import { writeSharedFiles } from './units.js'

export interface ClusterOptions {
  /** number of containers (>= 1) */
  size: number
  /** install and enable data-mesher.service (default true) */
  daemon?: boolean
  /** file names that get a .path consumer */
  watch?: string[]
  /** /etc/hosts of every container: node index -> its names (IPv4), beside localhost */
  hosts?: Record<number, string[]>
  /** the tmpfiles.d rules of the NixOS module (nixos/render-tmpfiles.mjs): files/, the
   * files/home link, these plugin directories; created at boot, before the daemon starts */
  moduleTmpfiles?: { pluginDirectories?: string[] }
  /** more unit files (or drop-ins, "x.service.d/y.conf") by path under the unit directory */
  units?: Record<string, string>
  /** units wanted by multi-user.target: ones of `units` or the rootfs's own (unbound.service) */
  enable?: string[]
  /** runs after the directories exist and before any container boots (write configs, keys) */
  prepare?: (cluster: Cluster) => Promise<void>
}

export class Cluster {
  readonly nodes: Container[] = []
  readonly dir: string
  readonly sharedDir: string
  readonly netnsPath: string
  private destroyed = false

  private constructor (readonly id: string, readonly opts: ClusterOptions) {
    this.dir = join(WORK_BASE, id)
    this.sharedDir = join(this.dir, 'shared')
    this.netnsPath = `/run/netns/${id}`
  }

  /** node by 1-based index */
  node (i: number): Container {
    const n = this.nodes[i - 1]
    if (n === undefined) throw new Error(`no node ${i}`)
    return n
  }

  static async create (opts: ClusterOptions): Promise<Cluster> {
    let id: string
    do id = PREFIX + randomBytes(2).toString('hex')
    while (existsSync(`/run/netns/${id}`) || existsSync(join(WORK_BASE, id)))
    const c = new Cluster(id, opts)
    register(id)
    try {
      await c.setUp()
    } catch (err) {
      await c.destroy()
      throw err
    }
    return c
  }

  private async setUp (): Promise<void> {
    mkdirSync(this.sharedDir, { recursive: true })
    await writeSharedFiles(this.sharedDir, {
      daemon: this.opts.daemon ?? true,
      watch: this.opts.watch ?? [],
      tmpfiles: this.opts.moduleTmpfiles,
      units: this.opts.units,
      enable: this.opts.enable
    })

    // The network: one namespace holding a bridge; nspawn adds one veth per container.
    await run(['ip', 'netns', 'add', this.id])
    const ip = async (...args: string[]): Promise<void> => { await run(['ip', '-n', this.id, ...args]) }
    await ip('link', 'set', 'lo', 'up')
    await ip('link', 'add', 'dmt-br', 'type', 'bridge', 'mcast_snooping', '0')
    await ip('link', 'set', 'dmt-br', 'up')

    for (let i = 1; i <= this.opts.size; i++) {
      const node = new Container({
        clusterId: this.id, index: i, netnsPath: this.netnsPath, sharedDir: this.sharedDir, dir: join(this.dir, `n${i}`)
      })
      for (const d of [node.stateDir, node.logDir, node.etcDir, node.testDir]) mkdirSync(d, { recursive: true })
      chownSync(node.stateDir, DAEMON_UID, DAEMON_UID)
      chmodSync(node.stateDir, 0o750)
      chownSync(node.logDir, CONSUMER_UID, CONSUMER_UID)
      writeFileSync(join(node.testDir, 'net.env'), `ADDR4=${node.ip4}/24\nADDR6=${node.ip6}/64\n`)
      if (this.opts.moduleTmpfiles !== undefined) node.binds.push(`--bind-ro=${join(this.sharedDir, 'tmpfiles')}:${C_TMPFILES_DIR}`)
      if (this.opts.hosts !== undefined) node.binds.push(`--bind-ro=${join(this.sharedDir, 'hosts')}:/etc/hosts`)
      this.nodes.push(node)
    }
    if (this.opts.hosts !== undefined) {
      const names = Object.entries(this.opts.hosts).map(([i, ns]) => `${this.node(Number(i)).ip4} ${ns.join(' ')}`)
      writeFileSync(join(this.sharedDir, 'hosts'), ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback', ...names, ''].join('\n'))
    }
    await this.opts.prepare?.(this)
    await Promise.all(this.nodes.map(async (n) => { await n.boot() }))
  }

  /** Stops every container and removes the namespace, bridge, veths and directories. */
  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    await Promise.all(this.nodes.map(async (n) => { await n.poweroff(20_000) }))
    await run(['ip', 'netns', 'del', this.id], { allowFail: true })
    if (process.env.DMT_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true })
    unregister(this.id)
  }
}
