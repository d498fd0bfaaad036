// One machine: a systemd-nspawn container booted from the cached rootfs with a
// volatile overlay, on the cluster's bridge, controlled with nsenter.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { enterCgroupScript, destroyCgroup } from './cgroup.js'
import { run, shq, type RunOptions, type RunResult } from './exec.js'
import {
  C_CLI, C_CONFIG_DIR, C_CONSUMER_LOG_DIR, C_NODE, C_PROJECT, C_STATE, C_TEST_DIR, C_UNIT_DIR,
  NODE_BIN, REPO, ROOTFS
} from './paths.js'
import { consumerLogName } from './units.js'
import { GiveUp, waitFor } from './wait.js'

/** one activation of the consumer: when, and the content it read (null: the file was gone) */
export interface ConsumerEvent { at: number, content: string | null }

export interface ContainerParams {
  clusterId: string
  /** 1-based */
  index: number
  /** /run/netns/<cluster id> */
  netnsPath: string
  /** the cluster's shared directory (units, lib, bin) */
  sharedDir: string
  /** this node's directory on the host */
  dir: string
}

const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export class Container {
  readonly index: number
  readonly machine: string
  /** the host end of the container's veth, in the cluster's namespace */
  readonly veth: string
  readonly ip4: string
  readonly ip6: string
  readonly dir: string
  /** host paths of the node's bind mounts */
  readonly stateDir: string
  readonly logDir: string
  readonly etcDir: string
  readonly testDir: string
  private child?: ChildProcess
  private exited?: Promise<void>
  nspawnPid?: number
  leaderPid?: number
  /** more nspawn bind options (--bind=..., --bind-ro=...), set before the first boot */
  readonly binds: string[] = []
  /** commands running inside right now (nsenter processes) */
  private readonly inFlight = new Set<ChildProcess>()

  constructor (private readonly p: ContainerParams) {
    this.index = p.index
    this.machine = `${p.clusterId}-${p.index}`
    this.veth = `vb-${this.machine}`
    this.ip4 = `10.77.0.${10 + p.index}`
    this.ip6 = `fd00:77::${10 + p.index}`
    this.dir = p.dir
    this.stateDir = join(p.dir, 'state')
    this.logDir = join(p.dir, 'log')
    this.etcDir = join(p.dir, 'etc')
    this.testDir = join(p.dir, 'test')
  }

  get running (): boolean { return this.child !== undefined }

  /** nspawn runs with a private tmpfs on /tmp (see boot): the host's /tmp stays reachable through hostTmp. */
  private get hostTmp (): string { return join(this.dir, 'host-tmp') }

  private visible (path: string): string {
    return path === '/tmp' || path.startsWith('/tmp/') ? join(this.hostTmp, path.slice('/tmp'.length)) : path
  }

  private nspawnArgs (): string[] {
    const s = this.p.sharedDir
    return [
      'systemd-nspawn', '--quiet',
      '--boot', '--volatile=overlay', '--register=no', '--keep-unit',
      `--directory=${ROOTFS}`, `--machine=${this.machine}`,
      `--network-bridge=dmt-br`,
      '--console=passive', '--link-journal=no', '--resolv-conf=off', '--timezone=off',
      `--bind-ro=${this.visible(REPO)}:${C_PROJECT}`,
      `--bind-ro=${this.visible(NODE_BIN)}:${C_NODE}`,
      `--bind-ro=${join(s, 'bin/data-mesher')}:${C_CLI}`,
      `--bind-ro=${join(s, 'units')}:${C_UNIT_DIR}`,
      `--bind-ro=${join(s, 'lib')}:/usr/local/lib/dmt`,
      `--bind-ro=${this.etcDir}:${C_CONFIG_DIR}`,
      `--bind-ro=${this.testDir}:${C_TEST_DIR}`,
      `--bind=${this.stateDir}:${C_STATE}`,
      `--bind=${this.logDir}:${C_CONSUMER_LOG_DIR}`,
      ...this.binds
    ]
  }

  /** Boots the container and waits until systemd reports the boot finished. */
  async boot (timeoutMs = 120_000): Promise<void> {
    if (this.child !== undefined) throw new Error(`${this.machine} is already running`)
    mkdirSync(this.dir, { recursive: true })
    const log = openSync(join(this.dir, 'console.log'), 'a')
    // A private mount namespace with tmpfs on /run and /tmp: nspawn keeps its
    // runtime files there (on this host /run is not a tmpfs, which nspawn refuses
    // to clean up), and they vanish with the namespace, whatever happens.
    // nsenter --net puts nspawn in the cluster's network namespace, so its veth
    // lands on the cluster's bridge. Each exec keeps the PID: it is nspawn's.
    const script = enterCgroupScript(this.machine) + ' && ' +
      `mkdir -p ${shq(this.hostTmp)} && mount --rbind /tmp ${shq(this.hostTmp)} && ` + // a checkout under /tmp stays visible
      'mount -t tmpfs -o mode=0755 dmt-run /run && mount -t tmpfs -o mode=1777 dmt-tmp /tmp && ' +
      'exec ' + this.nspawnArgs().map(shq).join(' ')
    const child = spawn('unshare', ['--mount', '--propagation', 'private', '--',
      'nsenter', `--net=${this.p.netnsPath}`, '--', '/bin/sh', '-c', script], {
      stdio: ['ignore', log, log],
      detached: true // its own process group: a ^C to the test run does not reach it; cleanup does
    })
    closeSync(log)
    this.child = child
    this.nspawnPid = child.pid
    this.exited = new Promise((resolve) => child.on('exit', () => {
      this.child = undefined
      this.nspawnPid = undefined
      this.leaderPid = undefined
      // whatever nspawn left behind (it does not take its container down when killed)
      void destroyCgroup(this.machine).then(resolve, resolve)
    }))
    this.leaderPid = await waitFor(`${this.machine}: container init`, async () => {
      if (this.child === undefined) throw new GiveUp(`${this.machine}: nspawn exited; see ${join(this.dir, 'console.log')}`)
      return this.findLeader()
    }, { timeoutMs: 30_000, intervalMs: 100 })
    const state = await waitFor(`${this.machine}: boot finished`, async () => {
      if (this.child === undefined) throw new GiveUp(`${this.machine}: nspawn exited; see ${join(this.dir, 'console.log')}`)
      const r = await this.exec('systemctl is-system-running --wait', { allowFail: true, timeoutMs: 60_000 })
      const s = r.stdout.trim()
      return ['running', 'degraded', 'maintenance'].includes(s) ? s : undefined
    }, { timeoutMs, intervalMs: 250 })
    if (state !== 'running') {
      const why = await this.exec('systemctl --failed --no-legend --plain; journalctl -b --no-pager -p warning -n 30', { allowFail: true })
      process.stderr.write(`[dmt] ${this.machine} booted ${state}:\n${why.stdout}\n`)
    }
  }

  /** The container's PID 1 (as the host sees it): the child of nspawn running systemd. */
  private findLeader (): number | undefined {
    const pid = this.nspawnPid
    if (pid === undefined) return undefined
    let children: string
    try { children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8') } catch { return undefined }
    for (const c of children.trim().split(/\s+/).filter(Boolean)) {
      try {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'systemd') return Number(c)
      } catch {}
    }
    return undefined
  }

  /** Runs a shell command inside the container as root (all of its namespaces, a clean environment). */
  async exec (cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    if (this.leaderPid === undefined) throw new Error(`${this.machine} is not running`)
    return await run(['nsenter', `--target=${this.leaderPid}`, '--all', '--',
      '/usr/bin/env', '-i', `PATH=${CONTAINER_PATH}`, 'HOME=/root', 'LANG=C.UTF-8',
      '/bin/sh', '-c', cmd], {
      ...opts,
      onSpawn: (child) => {
        this.inFlight.add(child)
        child.on('close', () => this.inFlight.delete(child))
      }
    })
  }

  /** Powers the container off cleanly (nspawn turns SIGTERM into a halt of the container's systemd). */
  async poweroff (timeoutMs = 30_000): Promise<void> {
    const child = this.child
    if (child === undefined || this.exited === undefined) return
    const t0 = Date.now()
    // A command still running inside would be SIGSTOPped by the container's shutdown,
    // nsenter would stop itself too, never reap its child, and the container could not
    // finish dying. Nothing should be running at a power-off; if something is, end it.
    this.killInFlight()
    child.kill('SIGTERM')
    const t = setTimeout(() => {
      process.stderr.write(`[dmt] ${this.machine}: no halt after ${timeoutMs} ms, killing it\n`)
      child.kill('SIGKILL')
    }, timeoutMs)
    await this.exited
    clearTimeout(t)
    if (process.env.DMT_DEBUG === '1') process.stderr.write(`[dmt] ${this.machine}: powered off in ${Date.now() - t0} ms\n`)
  }

  private killInFlight (): void {
    for (const c of this.inFlight) c.kill('SIGKILL')
  }

  /** Pulls the plug: SIGKILL to nspawn, then to whatever is left in the container's cgroup. */
  async kill (): Promise<void> {
    const child = this.child
    if (child === undefined || this.exited === undefined) return
    this.killInFlight()
    child.kill('SIGKILL')
    await this.exited
  }

  async linkDown (): Promise<void> { await run(['ip', '-n', this.p.clusterId, 'link', 'set', this.veth, 'down']) }
  async linkUp (): Promise<void> { await run(['ip', '-n', this.p.clusterId, 'link', 'set', this.veth, 'up']) }

  // Convenience over exec.

  async systemctl (args: string, opts: RunOptions = {}): Promise<RunResult> {
    return await this.exec(`systemctl ${args}`, opts)
  }

  /** the data-mesher CLI inside the container */
  async cli (args: string, opts: RunOptions = {}): Promise<RunResult> {
    return await this.exec(`data-mesher ${args}`, opts)
  }

  /** the delivered file, read on the host through the state bind mount; undefined if absent */
  delivered (name: string): Buffer | undefined {
    try { return readFileSync(join(this.stateDir, 'files', name)) } catch { return undefined }
  }

  /** what the .path consumer saw for `name`, oldest first (read on the host) */
  consumerEvents (name: string): ConsumerEvent[] {
    let text: string
    try { text = readFileSync(join(this.logDir, consumerLogName(name)), 'utf8') } catch { return [] }
    return text.split('\n').filter(Boolean).map((line) => {
      const [ts, , what] = line.split(' ')
      return { at: Number(ts), content: what === 'REMOVED' ? null : Buffer.from(what ?? '', 'base64').toString('utf8') }
    })
  }
}
