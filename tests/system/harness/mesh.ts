// A data-mesher cluster in containers: keys, configs and helpers for the scenarios.
// Keys are made with the project's own CLI on the host, the way an operator would.
import { chmodSync, chownSync, copyFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Cluster } from './cluster.js'
import type { Container } from './container.js'
import { run } from './exec.js'
import { DAEMON_UID, REPO } from './paths.js'
import { waitFor } from './wait.js'

export interface MeshOptions {
  /** members of the cluster (listed in each other's allowed_nodes when admission is on) */
  members: number
  /** extra nodes whose identity is in nobody's allowed_nodes; they bootstrap to the members */
  strangers?: number
  /** configured file names (all signed by one signer key); each gets a consumer */
  files: string[]
  /** turn node admission on: allowed_nodes = the members' identity keys */
  admission?: boolean
  /** cluster.sync_interval */
  syncInterval?: string
}

export interface NodeIdentity { publicKey: string, peerId: string }

const CLI = join(REPO, 'dist/src/cli/bin.js')
export const SIGNER_KEY = '/etc/dmt/signer.key'

async function hostCli (...args: string[]): Promise<string> {
  return (await run([process.execPath, CLI, ...args])).stdout
}

const tomlStr = (s: string): string => JSON.stringify(s)
const tomlList = (xs: string[]): string => `[${xs.map(tomlStr).join(', ')}]`

export class Mesh {
  readonly identities = new Map<number, NodeIdentity>()
  signerPublicKey = ''

  private constructor (readonly cluster: Cluster, readonly opts: MeshOptions) {}

  get members (): Container[] { return this.cluster.nodes.slice(0, this.opts.members) }
  get strangers (): Container[] { return this.cluster.nodes.slice(this.opts.members) }
  node (i: number): Container { return this.cluster.node(i) }

  static async create (opts: MeshOptions): Promise<Mesh> {
    let mesh: Mesh | undefined
    await Cluster.create({
      size: opts.members + (opts.strangers ?? 0),
      daemon: true,
      watch: opts.files,
      prepare: async (c) => {
        mesh = new Mesh(c, opts)
        await mesh.prepare()
      }
    })
    if (mesh === undefined) throw new Error('unreachable')
    return mesh
  }

  private async prepare (): Promise<void> {
    const c = this.cluster
    const signer = join(c.dir, 'signer.key')
    this.signerPublicKey = JSON.parse(await hostCli('generate', 'signing-key', '--private-key-path', signer, '--json')).publicKey
    for (const n of c.nodes) {
      const key = join(n.stateDir, 'identity.key') // the default identity path: <state_dir>/identity.key
      this.identities.set(n.index, JSON.parse(await hostCli('generate', 'identity-key', '--private-key-path', key, '--json')))
      chownSync(key, DAEMON_UID, DAEMON_UID)
      chmodSync(key, 0o600)
      copyFileSync(signer, join(n.testDir, 'signer.key'))
      chmodSync(join(n.testDir, 'signer.key'), 0o600)
    }
    for (const n of c.nodes) this.writeConfig(n)
  }

  /** the node's config.toml: bootstraps to every member but itself, IPv6 and IPv4 alternately */
  configFor (n: Container): string {
    const peers = this.members.filter((m) => m !== n)
      .map((m) => m.index % 2 === 0 ? `[${m.ip6}]:7946` : `${m.ip4}:7946`)
    const allowed = this.opts.admission === true && n.index <= this.opts.members
      ? this.members.map((m) => this.identities.get(m.index)!.publicKey)
      : []
    return [
      '# written by tests/system/harness/mesh.ts',
      'log_level = "debug"',
      'state_dir = "/var/lib/data-mesher"',
      '',
      '[cluster]',
      'port = 7946',
      `bootstrap_nodes = ${tomlList(peers)}`,
      `sync_interval = ${tomlStr(this.opts.syncInterval ?? '2s')}`,
      `allowed_nodes = ${tomlList(allowed)}`,
      '',
      '[api]',
      'socket = "/run/data-mesher/api.sock"',
      '',
      '[files]',
      ...this.opts.files.map((f) => `${tomlStr(f)} = ${tomlList([this.signerPublicKey])}`),
      ''
    ].join('\n')
  }

  writeConfig (n: Container): void {
    writeFileSync(join(n.etcDir, 'config.toml'), this.configFor(n))
  }

  /** Signs and uploads `content` as `name` with the CLI on node `on` (the signer key is on every node). */
  async upload (on: Container, name: string, content: string, expires?: string): Promise<void> {
    const exp = expires !== undefined ? ` --expires ${expires}` : ''
    await on.cli(`file update - --name ${name} --key-path ${SIGNER_KEY}${exp}`, { input: content })
  }

  async remove (on: Container, name: string): Promise<void> {
    await on.cli(`file delete ${name} --key-path ${SIGNER_KEY}`)
  }

  /** Waits until every node in `nodes` has `content` (or, for null, nothing) delivered at `name`. */
  async waitDelivered (nodes: Container[], name: string, content: string | null, timeoutMs = 30_000): Promise<void> {
    await Promise.all(nodes.map(async (n) => await waitFor(`${n.machine}: ${name} = ${content === null ? '(absent)' : JSON.stringify(content)}`, async () => {
      const got = n.delivered(name)
      return content === null ? got === undefined : got?.toString('utf8') === content
    }, { timeoutMs, intervalMs: 100 })))
  }

  /** Waits until the consumer on every node in `nodes` has seen `content` (null: the removal) last. */
  async waitConsumed (nodes: Container[], name: string, content: string | null, timeoutMs = 30_000): Promise<void> {
    await Promise.all(nodes.map(async (n) => await waitFor(`${n.machine}: consumer saw ${name} = ${content === null ? 'REMOVED' : JSON.stringify(content)}`, async () => {
      return n.consumerEvents(name).at(-1)?.content === content
    }, { timeoutMs, intervalMs: 100 })))
  }

  /** MainPID of data-mesher.service, 0 when it is not running */
  async mainPid (n: Container): Promise<number> {
    return Number((await n.systemctl('show -p MainPID --value data-mesher.service')).stdout.trim())
  }

  async waitActive (n: Container, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${n.machine}: data-mesher.service active`, async () =>
      (await n.systemctl('is-active data-mesher.service', { allowFail: true })).stdout.trim() === 'active', { timeoutMs })
  }

  /** the daemon's journal, for failure messages */
  async journal (n: Container, lines = 40): Promise<string> {
    return (await n.exec(`journalctl -b --no-pager -o cat -u data-mesher.service -n ${lines}`, { allowFail: true })).stdout
  }

  async destroy (): Promise<void> { await this.cluster.destroy() }
}
