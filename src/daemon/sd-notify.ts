// sd_notify without a native module: Node cannot send on a unix datagram socket, so we
// run systemd's own `systemd-notify`, which waits until the manager has processed the
// message (a barrier), so there is no race with our child exiting. The unit therefore
// needs NotifyAccess=all. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
import { execFile } from 'node:child_process'
import type { Logger } from 'pino'
import { DEFAULTS } from '../config/defaults.js'

export class SdNotify {
  private watchdog?: NodeJS.Timeout
  readonly enabled: boolean

  constructor (private readonly log: Logger, private readonly env: NodeJS.ProcessEnv = process.env) {
    this.enabled = env.NOTIFY_SOCKET !== undefined && env.NOTIFY_SOCKET !== ''
  }

  async notify (fields: Record<string, string | number>): Promise<void> {
    if (!this.enabled) return
    const args = Object.entries(fields).map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`)
    await new Promise<void>(resolve => {
      execFile('systemd-notify', args, { env: this.env, timeout: DEFAULTS.daemon.sdNotifyTimeout }, err => {
        if (err !== null) this.log.warn({ err: err.message, args }, 'sd_notify failed')
        resolve()
      })
    })
  }

  async ready (status: string): Promise<void> {
    await this.notify({ READY: 1, STATUS: status, MAINPID: process.pid })
  }

  async status (status: string): Promise<void> { await this.notify({ STATUS: status }) }

  async stopping (): Promise<void> {
    this.stopWatchdog()
    await this.notify({ STOPPING: 1, STATUS: 'stopping' })
  }

  async reloading (): Promise<void> { await this.notify({ RELOADING: 1, STATUS: 'reloading configuration' }) }

  /** Pings at half the interval systemd asked for (WATCHDOG_USEC), while the event loop is alive. */
  startWatchdog (): void {
    const usec = Number(this.env.WATCHDOG_USEC)
    const pid = this.env.WATCHDOG_PID
    if (!this.enabled || !Number.isFinite(usec) || usec <= 0) return
    if (pid !== undefined && pid !== '' && Number(pid) !== process.pid) return
    const every = Math.max(Math.floor(usec / 1000 / 2), 100)
    this.watchdog = setInterval(() => { void this.notify({ WATCHDOG: 1 }) }, every)
    this.watchdog.unref()
    void this.notify({ WATCHDOG: 1 })
  }

  stopWatchdog (): void { clearInterval(this.watchdog) }
}
