// Wiring and lifecycle: config → replica (store) → mesh → API; signals; sd_notify.
import type { Logger } from 'pino'
import type { Policy } from '../rule/which-version-wins.js'
import { ApiServer } from '../api/server.js'
import { loadConfig, policyOf, type Config } from '../config/config.js'
import { flattenStats, loadIdentity, startMesh, type Mesh } from '../mesh/index.js'
import { loadNetworkIdentity, networkPolicy, type NetworkIdentity } from '../config/network.js'
import { CertificateBook } from '../store/certificate-book.js'
import { decodeBase64Key, encodeBase64Key } from '../crypto/keys.js'
import { watchCertificateExpiry } from './certificate-expiry.js'
import { Replica } from '../store/replica.js'
import { createLogger } from './logger.js'
import { DaemonMetrics } from '../metrics/index.js'
import { RecentRefusals } from '../metrics/recent-refusals.js'
import { SdNotify } from './sd-notify.js'
import { releaseYoungGeneration } from './young-generation.js'

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

  private constructor (
    public config: Config,
    readonly replica: Replica,
    readonly mesh: Mesh,
    readonly api: ApiServer,
    readonly log: Logger,
    private readonly configPath?: string,
    readonly network?: NetworkIdentity,
    private readonly stopExpiryWatch: () => void = () => {},
    private readonly certificates?: CertificateBook,
    private readonly stopBook: () => Promise<void> = async () => {}
  ) {}

  static async start (config: Config, o: DaemonOptions = {}): Promise<Daemon> {
    const log = o.log ?? createLogger(config.logLevel)
    // network identity (src/config/network.ts): refuses a certificate for another key or network
    const identity = await loadIdentity(config)
    const network = await loadNetworkIdentity(config, decodeBase64Key(identity.publicKey)!)
    const certificates = network !== undefined ? await CertificateBook.open(config.stateDir) : undefined
    const replica = await Replica.open(config.stateDir, policyFor(config, network, certificates), log)
    const stopBook = certificates?.follow(replica) ?? (async () => {})
    // observes the replica from now on (before any version can arrive), serves once the mesh is up
    const metrics = config.metrics?.listen !== undefined ? new DaemonMetrics(replica, config.metrics.listen) : undefined
    const refusals = new RecentRefusals(replica)
    let mesh: Mesh | undefined
    try {
      mesh = await startMesh({ config, replica, log, identity, network, certificates })
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
          ...(network !== undefined ? { networkId: encodeBase64Key(network.id), certificateNotAfter: network.certificate.notAfter, certificateName: network.certificate.name } : {})
        })
      })
      await api.start()
      const stopExpiryWatch = network !== undefined ? watchCertificateExpiry(network.certificate, log) : undefined
      log.info({ socket: config.api.socket, listen: api.bound, peerId: m.status().peerId }, 'API serving')
      daemon = new Daemon(config, replica, m, api, log, o.configPath, network, stopExpiryWatch, certificates, stopBook)
      daemon.metrics = metrics
      daemon.refusals = refusals
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
    for (const [key, a, b] of [
      ['state_dir', this.config.stateDir, next.stateDir],
      ['cluster', JSON.stringify(this.config.cluster), JSON.stringify(next.cluster)],
      ['api', JSON.stringify(this.config.api), JSON.stringify(next.api)],
      ['network', JSON.stringify(this.config.network), JSON.stringify(next.network)],
      ['metrics', JSON.stringify(this.config.metrics), JSON.stringify(next.metrics)]
    ]) {
      if (a !== b) this.log.warn({ key }, 'changed in the config file; takes effect on restart, not reload')
    }
    const applied = { ...this.config, logLevel: next.logLevel, files: next.files, namespaces: next.namespaces, limits: next.limits }
    // all or nothing: setPolicy changes nothing when it fails (e.g. the floors of a
    // revocation cannot be written), and then neither does anything else here
    try { await this.replica.setPolicy(policyFor(applied, this.network, this.certificates)) } catch (err) {
      this.log.error({ err: (err as Error).message }, 'reload failed: keeping the running configuration; fix the cause and reload again')
      return
    }
    this.log.level = next.logLevel
    this.config = applied
    // newly configured names (and versions that were revoked here) are pulled from peers now, not at the next round
    void this.mesh.syncNow().catch(err => this.log.warn({ err: (err as Error).message }, 'sync after reload failed'))
    this.log.info({ files: next.files.size, namespaces: next.namespaces }, 'configuration reloaded')
  }

  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      this.stopExpiryWatch()
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

/** The rule's policy: the config's names and keys, with the network's binding and certificates. */
function policyFor (config: Config, network: NetworkIdentity | undefined, certificates: CertificateBook | undefined): Policy {
  return networkPolicy(policyOf(config), network, r => certificates?.get(r))
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
  await daemon.stop()
}
