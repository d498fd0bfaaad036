// Runs once, in the main vitest process, before any system test file:
// refuses to start on an unfit host, builds the project and the cached rootfs,
// and makes sure everything the run creates is removed at the end, on ^C too.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runSync } from './harness/exec.js'
import { CLEANUP_SH, HARNESS_DIR, REPO, ROOTFS, RUNS_DIR } from './harness/paths.js'
import { preflight } from './harness/preflight.js'

export default function setup (): () => void {
  preflight()
  // what earlier runs that were killed outright (no chance to clean up) left behind
  runSync(['bash', CLEANUP_SH, '--stale'])

  const runId = randomBytes(4).toString('hex')
  mkdirSync(RUNS_DIR, { recursive: true })
  writeFileSync(join(RUNS_DIR, runId), `# pid ${process.pid}\n`)
  process.env.DMT_RUN_ID = runId // inherited by the test workers
  let cleaned = false
  const cleanup = (): void => {
    if (cleaned) return
    cleaned = true
    runSync(['bash', CLEANUP_SH, '--run', runId], 120_000, true)
  }
  // prepend: vitest's own handlers call process.exit(), and listeners after them never run
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.prependOnceListener(sig, () => {
      process.stderr.write(`\n[dmt] ${sig}: tearing down run ${runId}\n`)
      cleanup()
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1))
    })
  }
  process.prependOnceListener('exit', cleanup)

  if (runSync(['bash', join(HARNESS_DIR, 'build-rootfs.sh')], 30 * 60_000) !== 0) {
    throw new Error(`could not build the container rootfs at ${ROOTFS} (see the output above)`)
  }
  if (process.env.DMT_SKIP_BUILD !== '1') {
    // The containers run dist/ from this checkout: build it so they never run stale code.
    if (runSync(['npx', '--no-install', 'tsc', '-p', join(REPO, 'tsconfig.json')], 10 * 60_000) !== 0) {
      throw new Error('npm run build failed (see the output above); the system tests run the built daemon')
    }
  }
  process.env.DMT_HAVE_DAEMON = existsSync(join(REPO, 'dist/src/cli/bin.js')) ? '1' : '0'

  return cleanup
}
