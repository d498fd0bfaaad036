// Wiring and lifecycle: config → replica (store) → mesh → API; signals; sd_notify.
import type { Logger } from 'pino'
import type { Policy } from '../rule/which-version-wins.js'
import { ApiServer } from '../api/server.js'
import { loadConfig, policyOf, type Config } from '../config/config.js'
import { flattenStats, loadIdentity, startMesh, type Mesh } from '../mesh/index.js'
import { loadNetworkIdentity, networkIdentityFiles, networkPolicy, renewedNetworkIdentity, type NetworkIdentity } from '../config/network.js'
import { CertificateBook } from '../store/certificate-book.js'
import { decodeBase64Key, encodeBase64Key } from '../crypto/keys.js'
import { watchCertificateExpiry } from './certificate-expiry.js'
import { watchCertificateFiles } from './certificate-files.js'
import { Revocations } from './revocations.js'
import { Replica } from '../store/replica.js'
import { createLogger } from './logger.js'
import type { DaemonMetrics } from '../metrics/index.js'
import { RecentRefusals } from '../metrics/recent-refusals.js'
import { SdNotify } from './sd-notify.js'
import { releaseYoungGeneration } from './young-generation.js'
import { LargeContentGc, v8Collector } from './large-content-gc.js'

export interface DaemonOptions {
  /** where the config came from; SIGHUP re-reads it */
  configPath?: string
  log?: Logger
}

export class Daemon {
  private stopping?: Promise<void>
  /** the Prometheus endpoint (metrics.listen; src/metrics/), when on */
  metrics?: DaemonMetrics
  /** versions refused lately, for status */
  refusals?: RecentRefusals
  /** renewals run one at a time (file watch, periodic check and SIGHUP may overlap) */
  private renewing = Promise.resolve()
  /** the last refused replacement's reason: the periodic check finds it again and again, and says it once */
  private lastRefusal?: string
  private stopFileWatch: () => void = () => {}
  private stopExpiryWatch: () => void = () => {}
  private watchedFiles = ''

  private constructor (
    public config: Config,
    readonly replica: Replica,
    readonly mesh: Mesh,
    readonly api: ApiServer,
    readonly log: Logger,
    private readonly configPath: string | undefined,
    private currentNetwork: NetworkIdentity | undefined,
    private readonly identityKey: Uint8Array,
    private readonly certificates?: CertificateBook,
    private readonly stopBook: () => Promise<void> = async () => {},
    private readonly revocations?: Revocations
  ) {}

  /** the network's revocation list as applied (issue 19); empty without a network */
  private get revoked (): ReadonlySet<string> | undefined { return this.revocations?.keys }
  private stopRevocations: () => Promise<void> = async () => {}

  /** The network identity in use: the certificate and accepted networks as last (re)read. */
  get network (): NetworkIdentity | undefined { return this.currentNetwork }

  static async start (config: Config, o: DaemonOptions = {}): Promise<Daemon> {
    const log = o.log ?? createLogger(config.logLevel)
    // network identity (src/config/network.ts): refuses a certificate for another key or network
    const identity = await loadIdentity(config)
    const identityKey = decodeBase64Key(identity.publicKey)!
    const network = await loadNetworkIdentity(config, identityKey)
    const certificates = network !== undefined ? await CertificateBook.open(config.stateDir) : undefined
    const replica = await Replica.open(config.stateDir, policyFor(config, network, certificates), log, Date.now, certificates)
    const stopBook = certificates?.follow(replica) ?? (async () => {})
    // observes the replica from now on (before any version can arrive), serves once the mesh is up
    // loaded only when on: prom-client and its process metrics cost every daemon's start
    // ~9% of a lone start's CPU otherwise (docs/DECISIONS.md, "Start-up: what a daemon loads")
    const metrics = config.metrics?.listen !== undefined ? new (await import('../metrics/index.js')).DaemonMetrics(replica, config.metrics.listen) : undefined
    const refusals = new RecentRefusals(replica)
    let mesh: Mesh | undefined
    try {
      // the network's revocation list is a stored file: read once the store is open, then
      // applied before anything is served or any peer admitted
      const revocations = network !== undefined ? new Revocations(replica, log) : undefined
      const revoked = await revocations?.load()
      if (revoked !== undefined && revoked.size > 0) await replica.setPolicy(policyFor(config, network, certificates, revoked))
      log.debug('starting the mesh') // (a start under load once hung between "store opened" and the mesh's first line)
      mesh = await startMesh({ config, replica, log, identity, network, certificates, revoked })
      const m = mesh
      let daemon: Daemon | undefined
      if (metrics !== undefined) {
        const bound = await metrics.serve({ mesh: m, configuredNames: () => (daemon?.config ?? config).files.keys(), certificate: () => (daemon?.network ?? network)?.certificate })
        log.info({ listen: bound }, 'metrics serving at /metrics')
      }
      const api = new ApiServer({
        replica,
        log,
        maxFileSize: () => (daemon?.config ?? config).limits.maxFileSize, // follows reloads (L6)
        certificates,
        socket: config.api.socket,
        listen: config.api.listen,
        nodeInfo: () => ({
          ...m.status(),
          counters: flattenStats(m.stats()),
          refused: refusals.list().map(r => ({ ...r, signer: Buffer.from(r.signer) })),
          ...networkInfo(daemon?.network ?? network)
        })
      })
      await api.start()
      log.info({ socket: config.api.socket, listen: api.bound, peerId: m.status().peerId }, 'API serving')
      daemon = new Daemon(config, replica, m, api, log, o.configPath, network, identityKey, certificates, stopBook, revocations)
      daemon.metrics = metrics
      daemon.refusals = refusals
      if (network !== undefined) {
        const d = daemon
        d.stopRevocations = revocations!.follow(async keys => await d.applyRevocations(keys))
        if (revoked?.has(identity.publicKey) === true) log.error('this node\'s identity key is on the network\'s revocation list: peers refuse it')
        d.stopExpiryWatch = watchCertificateExpiry(() => d.network!.certificate, log)
        d.watchNetworkFiles()
      }
      return daemon
    } catch (err) {
      refusals.stop()
      await metrics?.stop()
      await stopBook()
      await mesh?.stop().catch(() => {})
      await replica.close()
      throw err
    }
  }

  /** SIGHUP: re-reads files, namespaces and log_level, and re-checks stored versions. */
  async reload (): Promise<void> {
    if (this.configPath === undefined) return
    let next: Config
    try { next = await loadConfig(this.configPath) } catch (err) {
      this.log.error({ err: (err as Error).message }, 'reload refused: keeping the running configuration')
      return
    }
    // the certificate files are re-read (issue 19), whatever else in [cluster] needs a restart
    const renewable = (c: Config): Config['cluster'] => ({ ...c.cluster, identityCert: undefined, certificateAuthorities: undefined })
    for (const [key, a, b] of [
      ['state_dir', this.config.stateDir, next.stateDir],
      ['cluster', JSON.stringify(renewable(this.config)), JSON.stringify(renewable(next))],
      ['api', JSON.stringify(this.config.api), JSON.stringify(next.api)],
      ['network', JSON.stringify(this.config.network), JSON.stringify(next.network)],
      ['metrics', JSON.stringify(this.config.metrics), JSON.stringify(next.metrics)]
    ]) {
      if (a !== b) this.log.warn({ key }, 'changed in the config file; takes effect on restart, not reload')
    }
    const cluster = { ...this.config.cluster, identityCert: next.cluster.identityCert, certificateAuthorities: next.cluster.certificateAuthorities }
    const applied = { ...this.config, cluster, logLevel: next.logLevel, files: next.files, namespaces: next.namespaces, limits: next.limits }
    // all or nothing: setPolicy changes nothing when it fails (e.g. the floors of a
    // revocation cannot be written), and then neither does anything else here
    try { await this.replica.setPolicy(policyFor(applied, this.network, this.certificates, this.revoked)) } catch (err) {
      this.log.error({ err: (err as Error).message }, 'reload failed: keeping the running configuration; fix the cause and reload again')
      return
    }
    this.log.level = next.logLevel
    this.config = applied
    if (this.currentNetwork !== undefined) {
      this.watchNetworkFiles()
      await this.renewNetwork('reload')
    }
    // newly configured names (and versions that were revoked here) are pulled from peers now, not at the next round
    void this.mesh.syncNow().catch(err => this.log.warn({ err: (err as Error).message }, 'sync after reload failed'))
    this.log.info({ files: next.files.size, namespaces: next.namespaces }, 'configuration reloaded')
  }

  /**
   * Reads this node's certificate and the certificate authorities again (issue 19, live
   * renewal): a valid replacement is used at once, by admission and by the rule, without
   * a restart and without closing connections; an invalid one is refused (the reason
   * logged) and the running one kept.
   */
  async renewNetwork (why: string): Promise<void> {
    const run = async (): Promise<void> => {
      const current = this.currentNetwork
      if (current === undefined || this.stopping !== undefined) return
      let next: NetworkIdentity | undefined
      try { next = await renewedNetworkIdentity(this.config, this.identityKey, current) } catch (err) {
        const reason = (err as Error).message
        if (reason !== this.lastRefusal) this.log.error({ err: reason, why }, 'certificate replacement refused: keeping the running certificate')
        this.lastRefusal = reason
        return
      }
      this.lastRefusal = undefined
      if (next === undefined) return
      const trustChanged = next.trusted.length !== current.trusted.length || next.trusted.some((k, i) => !Buffer.from(k).equals(current.trusted[i]))
      // accepted networks are part of the rule: namespace files certified by a dropped one go
      if (trustChanged) {
        try { await this.replica.setPolicy(policyFor(this.config, next, this.certificates, this.revoked)) } catch (err) {
          this.log.error({ err: (err as Error).message, why }, 'certificate authorities changed but cannot be applied: keeping the running certificate')
          return
        }
      }
      this.currentNetwork = next
      this.mesh.renewNetwork(next)
      this.log.info({ why, name: next.certificate.name, notAfter: new Date(next.certificate.notAfter).toISOString(), networks: next.trusted.map(encodeBase64Key) },
        'certificate renewed: in use now, no restart')
    }
    this.renewing = this.renewing.then(run, run)
    await this.renewing
  }

  /** A changed revocation list: the rule's policy first (stored files re-judged), then admission. */
  private async applyRevocations (keys: ReadonlySet<string>): Promise<void> {
    await this.replica.setPolicy(policyFor(this.config, this.currentNetwork, this.certificates, keys))
    this.mesh.setRevoked(keys)
    if (keys.has(encodeBase64Key(this.identityKey))) this.log.error('this node\'s identity key is on the network\'s revocation list: peers refuse it')
  }

  /** (Re)starts the watch of the certificate files the config names, when they changed. */
  private watchNetworkFiles (): void {
    const files = networkIdentityFiles(this.config)
    if (JSON.stringify(files) === this.watchedFiles) return
    this.stopFileWatch()
    this.watchedFiles = JSON.stringify(files)
    this.stopFileWatch = watchCertificateFiles(files, why => {
      void this.renewNetwork(why).catch(err => this.log.error({ err: (err as Error).message }, 'certificate renewal failed'))
    }, this.log)
  }

  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      await this.stopRevocations()
      this.stopExpiryWatch()
      this.stopFileWatch()
      await this.metrics?.stop()
      this.refusals?.stop()
      await this.stopBook()
      await this.api.stop()
      await this.mesh.stop()
      await this.replica.close()
      this.log.info('stopped')
    })()
    await this.stopping
  }
}

function networkInfo (network: NetworkIdentity | undefined): { networkId?: string, certificateNotAfter?: number, certificateName?: string } {
  if (network === undefined) return {}
  return { networkId: encodeBase64Key(network.id), certificateNotAfter: network.certificate.notAfter, certificateName: network.certificate.name }
}

/** The rule's policy: the config's names and keys, with the network's binding and certificates. */
function policyFor (config: Config, network: NetworkIdentity | undefined, certificates: CertificateBook | undefined, revoked?: ReadonlySet<string>): Policy {
  return networkPolicy(policyOf(config), network, r => certificates?.get(r), revoked)
}

/** `data-mesher daemon`: runs until SIGTERM/SIGINT, reloads on SIGHUP. */
export async function runDaemon (config: Config, configPath?: string): Promise<void> {
  const log = createLogger(config.logLevel)
  const sd = new SdNotify(log)
  let daemon: Daemon
  try {
    daemon = await Daemon.start(config, { configPath, log })
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot start')
    await sd.status(`failed: ${(err as Error).message}`)
    throw err
  }
  releaseYoungGeneration() // serving: the young generation may grow again under load
  // a stored large file's buffer is garbage that an idle process may keep for minutes
  const largeGc = new LargeContentGc(v8Collector())
  const stopLargeGc = daemon.replica.onChange(c => { largeGc.note(c.record.size) })
  await sd.ready(`serving ${daemon.replica.list().length} files`)
  sd.startWatchdog()
  let reloading = Promise.resolve()
  process.on('SIGHUP', () => {
    // a failed reload is logged and the chain goes on: the next SIGHUP runs again
    reloading = reloading.then(async () => {
      await sd.reloading()
      try { await daemon.reload() } catch (err) {
        log.error({ err: (err as Error).message }, 'reload failed: keeping the running configuration')
      }
      await sd.notify({ READY: 1, STATUS: `serving ${daemon.replica.list().length} files` })
    }).catch(err => { log.error({ err: (err as Error).message }, 'reload: could not notify systemd') })
  })
  await new Promise<void>(resolve => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down')
      resolve()
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
  await sd.stopping()
  stopLargeGc()
  largeGc.stop()
  await daemon.stop()
}
