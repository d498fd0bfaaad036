// Cleanup on every way out: clusters register here; a signal or process exit runs
// cleanup.sh for whatever is still up. The suite's run id (from global-setup.ts) names
// a file listing every cluster made, so the main vitest process can clean up after a
// worker that was killed outright.
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { runSync } from './exec.js'
import { CLEANUP_SH, RUNS_DIR } from './paths.js'

const live = new Set<string>()
let installed = false

export function register (clusterId: string): void {
  if (process.env.DMT_RUN_ID !== undefined) {
    mkdirSync(RUNS_DIR, { recursive: true })
    appendFileSync(join(RUNS_DIR, process.env.DMT_RUN_ID), clusterId + '\n')
  }
  live.add(clusterId)
  installHandlers()
}

export function unregister (clusterId: string): void {
  live.delete(clusterId)
}

function cleanupLive (): void {
  if (live.size === 0) return
  const ids = [...live]
  live.clear()
  runSync(['bash', CLEANUP_SH, ...ids], 120_000, true)
}

function installHandlers (): void {
  if (installed) return
  installed = true
  // prepend: vitest's own handlers call process.exit(), and listeners after them never run
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.prependOnceListener(sig, () => {
      if (live.size === 0) return
      cleanupLive()
      // Not process.exit(): in a vitest worker whose parent is gone it can spin for
      // ever. The containers are down; nothing is left to flush.
      process.kill(process.pid, 'SIGKILL')
    })
  }
  // a vitest worker whose parent died (the parent was signalled alone) loses its IPC
  // channel: take the containers down and go, rather than run on as an orphan
  if (process.connected === true) {
    process.once('disconnect', () => {
      if (live.size === 0) return
      cleanupLive()
      process.kill(process.pid, 'SIGKILL')
    })
  }
  process.once('exit', cleanupLive)
}
