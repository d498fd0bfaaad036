// The clan side of the twins of clan-core's VM tests (clan-data-mesher.test.ts,
// clan-dm-dns.test.ts): the vars our clan service's generators make, laid out as
// clan deploys them, and the daemon config our clan service renders for an inventory.
//
// Vars: the commands of the generator scripts in nixos/clan-service.nix
// (data-mesher-network, data-mesher-node-identity), run with the project's CLI on the
// host; tests/nix/clan-inventories.test.ts checks the scripts say exactly this.
//
// Config: with NIXPKGS_LIB (and nix-instantiate), the settings our clan service
// renders for the inventory, evaluated through tests/nix/eval-clan.nix (the same path
// as tests/nix), with the vars made here; without it, the same settings written out
// as the service renders them (clanSettings), which the evaluation checks when it
// can. The one thing the containers change: the public var network.pub is read from
// the vars directory instead of the Nix store.
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify as stringifyToml } from 'smol-toml'
import { canEval, evalClanOk } from '../../nix/helpers.js'
import type { Container } from './container.js'
import { run } from './exec.js'
import { DAEMON_UID, REPO } from './paths.js'

const CLI = join(REPO, 'dist/src/cli/bin.js')

export async function hostCli (...args: string[]): Promise<string> {
  return (await run([process.execPath, CLI, ...args])).stdout
}

/** where clan puts a machine's secret vars; the containers get the public ones there too */
export const C_VARS = '/run/secrets/vars'
export const varPath = (generator: string, file: string): string => `${C_VARS}/${generator}/${file}`
export const NETWORK_PUB = varPath('data-mesher-network', 'network.pub')
export const IDENTITY_KEY = varPath('data-mesher-node-identity', 'identity.key')
export const IDENTITY_CERT = varPath('data-mesher-node-identity', 'identity.cert')
export const IDENTITY_PUB = varPath('data-mesher-node-identity', 'identity.pub')

export interface MachineVars { identityKey: string, identityCert: string, identityPub: string, peerId: string }

/** A clan's vars for the data-mesher instance, generated into `dir` on the host. */
export class ClanVars {
  readonly machines = new Map<string, MachineVars>()
  readonly networkKey: string
  readonly networkPub: string
  /** clan's in-repo layout of public vars (vars/per-machine/<m>/<gen>/<file>/value), for the evaluation */
  readonly flakeDir: string

  private constructor (readonly dir: string) {
    this.networkKey = join(dir, 'data-mesher-network/network.key')
    this.networkPub = join(dir, 'data-mesher-network/network.pub')
    this.flakeDir = join(dir, 'flake')
  }

  static async generate (dir: string, machines: string[], instanceName = 'data-mesher'): Promise<ClanVars> {
    const v = new ClanVars(dir)
    // data-mesher-network (shared)
    mkdirSync(join(dir, 'data-mesher-network'), { recursive: true })
    await hostCli('generate', 'network', '--private-key-path', v.networkKey, '--public-key-path', v.networkPub)
    // data-mesher-node-identity (per machine; $in/data-mesher-network is the shared one)
    for (const m of machines) {
      const out = join(dir, 'per-machine', m, 'data-mesher-node-identity')
      mkdirSync(out, { recursive: true })
      const mv: MachineVars = {
        identityKey: join(out, 'identity.key'),
        identityCert: join(out, 'identity.cert'),
        identityPub: join(out, 'identity.pub'),
        peerId: ''
      }
      await hostCli('generate', 'identity-key', '--private-key-path', mv.identityKey, '--public-key-path', mv.identityPub)
      writeFileSync(join(out, 'peer.id'), await hostCli('peer', 'id', mv.identityPub))
      await hostCli('certificate', 'sign', '--name', instanceName, '--network-key', v.networkKey,
        '--identity-key', mv.identityPub, '--output', mv.identityCert, '--validity', '2160h')
      mv.peerId = readFileSync(join(out, 'peer.id'), 'utf8').trim()
      v.machines.set(m, mv)
      v.putPublic(`per-machine/${m}/data-mesher-node-identity/peer.id`, readFileSync(join(out, 'peer.id'), 'utf8'))
    }
    v.putPublic('shared/data-mesher-network/network.pub', readFileSync(v.networkPub, 'utf8'))
    return v
  }

  machine (m: string): MachineVars {
    const mv = this.machines.get(m)
    if (mv === undefined) throw new Error(`no vars for machine ${m}`)
    return mv
  }

  /** a public var in the flake layout, as `clan vars generate` leaves it (with its newline) */
  putPublic (rel: string, value: string): void {
    mkdirSync(join(this.flakeDir, 'vars', rel), { recursive: true })
    writeFileSync(join(this.flakeDir, 'vars', rel, 'value'), value)
  }

  /**
   * Deploys machine `m`'s vars on node `n` as clan does: at /run/secrets/vars/<generator>/<file>,
   * the secrets owned by the daemon's user (the generator's owner/group) and mode 0400.
   */
  install (n: Container, m: string): void {
    const mv = this.machine(m)
    deployVar(n, 'data-mesher-network', 'network.pub', this.networkPub, 'public')
    deployVar(n, 'data-mesher-node-identity', 'identity.key', mv.identityKey, 'daemon')
    deployVar(n, 'data-mesher-node-identity', 'identity.cert', mv.identityCert, 'daemon')
    deployVar(n, 'data-mesher-node-identity', 'identity.pub', mv.identityPub, 'public')
    deployVar(n, 'data-mesher-node-identity', 'peer.id', join(mv.identityPub, '../peer.id'), 'public')
  }
}

/**
 * Deploys one var file on node `n` (before it boots) at /run/secrets/vars/<generator>/<file>:
 * 'daemon' = a secret owned by the daemon's user, mode 0400; 'root' = a secret of root's
 * (clan's default owner); 'public' = world-readable.
 */
export function deployVar (n: Container, generator: string, file: string, from: string, kind: 'daemon' | 'root' | 'public'): void {
  const host = join(n.dir, 'vars')
  mkdirSync(join(host, generator), { recursive: true })
  const to = join(host, generator, file)
  copyFileSync(from, to)
  if (kind === 'daemon') chownSync(to, DAEMON_UID, DAEMON_UID)
  chmodSync(to, kind === 'public' ? 0o444 : 0o400)
  const bind = `--bind-ro=${host}:${C_VARS}`
  if (!n.binds.includes(bind)) n.binds.push(bind)
}

export interface ClanNodeInput {
  /** this machine */
  machine: string
  /** the clan's domain (meta.domain; clan's default is "clan") */
  domain: string
  /** the machines of the bootstrap role (all in the default role, port 7946) */
  bootstrap: string[]
  vars: ClanVars
  /** network.files and exported dataMesher.files, merged */
  files: Record<string, string[]>
  namespaces: string[]
  /** from the inventory's extraModules (log_level, cluster.push_pull_interval) */
  logLevel: string
  syncInterval: string
}

/**
 * The daemon settings our clan service (nixos/clan-service.nix through nixos/module.nix and
 * nixos/render-settings.nix) renders for a machine in the default role, written out by hand.
 */
export function clanSettings (i: ClanNodeInput): Record<string, unknown> {
  const peers = i.bootstrap.filter((m) => m !== i.machine)
    .map((m) => `/dns/${m}.${i.domain}/tcp/7946/p2p/${i.vars.machine(m).peerId}`)
  return {
    api: { socket: '/run/data-mesher/api.sock' },
    cluster: {
      allowed_nodes: [],
      bootstrap_nodes: peers,
      identity_cert: IDENTITY_CERT,
      identity_key: IDENTITY_KEY,
      interfaces: [],
      port: 7946,
      sync_interval: i.syncInterval
    },
    files: i.files,
    log_level: i.logLevel,
    namespaces: i.namespaces,
    network: { id: NETWORK_PUB },
    state_dir: '/var/lib/data-mesher'
  }
}

export interface Evaluated {
  /** the rendered settings, network.id pointed at the deployed public var */
  settings: Record<string, any>
  tmpfiles: string[]
  pluginDirectories: string[]
}

/**
 * Evaluates machine `m` of `inventory` (a Nix expression) with our clan service and the
 * vars in `vars.flakeDir`; undefined without NIXPKGS_LIB.
 */
export function evaluateClan (inventory: string, m: string, vars: ClanVars): Evaluated | undefined {
  if (!canEval) return undefined
  const r = evalClanOk(inventory, m, vars.flakeDir)
  if (r.failedAssertions.length > 0) throw new Error(`${m}: failed assertions:\n${r.failedAssertions.join('\n')}`)
  const netPath = r.generators['data-mesher-network'].files['network.pub'].path
  if (r.settings.network?.id !== netPath) throw new Error(`${m}: network.id is ${r.settings.network?.id}, not the network.pub var`)
  return {
    settings: { ...r.settings, network: { ...r.settings.network, id: NETWORK_PUB } },
    tmpfiles: r.tmpfiles,
    pluginDirectories: r.pluginDirectories
  }
}

/** Writes the node's /etc/data-mesher/config.toml (TOML, as pkgs.formats.toml renders the settings). */
export function writeClanConfig (n: Container, settings: Record<string, unknown>): void {
  writeFileSync(join(n.etcDir, 'config.toml'), '# the config our clan service renders for this machine (tests/system/harness/clan.ts)\n' + stringifyToml(settings))
}
