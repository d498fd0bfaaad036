import { loadConfig } from '../../config/config.js'
import type { runDaemon as RunDaemon } from '../../daemon/daemon.js'
import { devInstructions, devSetup } from '../../daemon/dev.js'
import { Refused, UsageError, type Command } from '../args.js'

export const daemonCommand: Command = {
  name: 'daemon',
  usage: 'data-mesher daemon --config PATH | data-mesher daemon --dev [--state-dir DIR]',
  summary: 'run the node: --config reads a TOML config; --dev runs a try-out node with an embedded config under ./.data-mesher',
  options: { config: { type: 'string', short: 'c' }, dev: { type: 'boolean' }, 'state-dir': { type: 'string' } },
  async run (values, positionals) {
    if (positionals.length > 0) throw new UsageError('takes no arguments')
    // loaded on demand: the other commands should not pay for loading libp2p
    const runDaemon: typeof RunDaemon = (await import('../../daemon/daemon.js')).runDaemon
    if (values.dev === true) {
      if (values.config !== undefined) throw new UsageError('--dev and --config exclude each other')
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
