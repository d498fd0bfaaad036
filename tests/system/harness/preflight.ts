// Refuse to start, with a clear message, when this host cannot run the system tests.
import { accessSync, constants, existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'

const TOOLS: Array<[string, string]> = [
  ['systemd-nspawn', 'systemd-container'],
  ['debootstrap', 'debootstrap'],
  ['ip', 'iproute2'],
  ['nsenter', 'util-linux'],
  ['unshare', 'util-linux']
]

function which (cmd: string): string | undefined {
  const path = (process.env.PATH ?? '') + delimiter + '/usr/sbin' + delimiter + '/sbin'
  for (const dir of path.split(delimiter)) {
    const p = join(dir, cmd)
    try { accessSync(p, constants.X_OK); return p } catch {}
  }
  return undefined
}

/** Returns the problems found; empty when the host is fit. */
export function preflightProblems (): string[] {
  const problems: string[] = []
  if (process.getuid?.() !== 0) {
    problems.push('must run as root (it creates network namespaces and boots systemd-nspawn containers): sudo npm run test:system')
  }
  const missing = TOOLS.filter(([cmd]) => which(cmd) === undefined)
  if (missing.length > 0) {
    problems.push(`missing ${missing.map(([c]) => c).join(', ')}: apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')}`)
  }
  if (!existsSync('/proc/self/ns/net')) problems.push('no network namespaces (/proc/self/ns/net) on this kernel')
  return problems
}

export function preflight (): void {
  const problems = preflightProblems()
  if (problems.length > 0) {
    throw new Error('system tests cannot run on this host:\n  - ' + problems.join('\n  - '))
  }
}

export { which }
