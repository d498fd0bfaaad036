// Debian's `prometheus` package (prometheus and promtool). Outside CI a machine without it
// skips these tests; in CI (CI=true, .ci/run installs it) a missing binary fails them.
import { spawnSync } from 'node:child_process'

function present (bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' })
  return r.error === undefined && r.status === 0
}

export const IN_CI = process.env.CI === 'true'

/** Whether to run: the binary is there, or we are in CI (where its absence is a failure). */
export function runsHere (bin: 'prometheus' | 'promtool'): boolean {
  return present(bin) || IN_CI
}

/** Fails (in CI) when `bin` is absent, naming the package to install. */
export function requireBinary (bin: 'prometheus' | 'promtool'): void {
  if (!present(bin)) throw new Error(`${bin} is not installed (Debian package "prometheus"; .ci/run installs it)`)
}
