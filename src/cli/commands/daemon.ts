import type { runDaemon as RunDaemon } from '../../daemon/daemon.js'
import { out, Refused, UsageError, type Command } from '../args.js'
import { loadConfig } from '../on-demand.js'

export const daemonCommand: Command = {
  name: 'daemon',
  usage: 'data-mesher daemon --config PATH [--check] | data-mesher daemon --dev [--state-dir DIR]',
  summary: 'run the node: --config reads a TOML config (--check only validates it, exit 1 naming the bad key); --dev runs a try-out node with an embedded config under ./.data-mesher',
  options: { config: { type: 'string', short: 'c' }, check: { type: 'boolean' }, dev: { type: 'boolean' }, 'state-dir': { type: 'string' } },
  async run (values, positionals) {
    if (positionals.length > 0) throw new UsageError('takes no arguments')
    if (values.check === true) {
      // Parse and validate only: nothing is created, nothing listens. The NixOS
      // module runs this on the rendered config at build time, so a key the daemon
      // would refuse fails the build instead of the boot.
      if (values.dev === true) throw new UsageError('--check validates a --config file; it does not combine with --dev')
      if (typeof values.config !== 'string') throw new UsageError('--check needs --config PATH')
      try { await loadConfig(values.config) } catch (err) { throw new Refused((err as Error).message) }
      out(`config ok: ${values.config}`)
      return
    }
    // loaded on demand: the other commands should not pay for loading libp2p
    const runDaemon: typeof RunDaemon = (await import('../../daemon/daemon.js')).runDaemon
    if (values.dev === true) {
      if (values.config !== undefined) throw new UsageError('--dev and --config exclude each other')
      const { devInstructions, devSetup } = await import('../../daemon/dev.js')
      const setup = await devSetup(typeof values['state-dir'] === 'string' ? values['state-dir'] : undefined)
      process.stderr.write(devInstructions(setup))
      await runDaemon(setup.config)
      exitSoon()
      return
    }
    if (typeof values.config !== 'string') throw new UsageError('--config PATH is required (or --dev for a try-out node)')
    let config
    try { config = await loadConfig(values.config) } catch (err) { throw new Refused((err as Error).message) }
    try { await runDaemon(config, values.config) } catch (err) {
      // a failed start has closed what it opened; exit even if a library keeps a handle (L1)
      exitSoon(250)
      throw new Refused((err as Error).message)
    }
    exitSoon()
  }
}

/** After a clean stop nothing should keep the process alive; if a library does, exit anyway. */
function exitSoon (ms = 1000): void {
  setTimeout(() => process.exit(process.exitCode ?? 0), ms).unref()
}
