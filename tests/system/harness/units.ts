// What gets installed in every container: the daemon's unit (rendered by the
// project's nixos/render-unit.mjs from nixos/service-settings.json, the same source
// the NixOS module reads), the CLI wrapper, the test network unit and the .path
// consumer. Written to a host directory that is bind-mounted read-only at
// /usr/local/lib/systemd/system (a directory in systemd's default unit path).
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { C_CLI, C_CONFIG, C_CONSUMER_LOG_DIR, C_FILES, C_NODE, C_PROJECT, C_STATE, C_TEST_DIR, REPO } from './paths.js'

/** systemd-escape for a unit instance name: "/" becomes "-", other odd bytes \xNN. */
export function systemdEscape (s: string): string {
  let out = ''
  for (const [i, ch] of [...Buffer.from(s, 'utf8')].entries()) {
    const c = String.fromCharCode(ch)
    if (c === '/') out += '-'
    else if (/[A-Za-z0-9:_]/.test(c) || (c === '.' && i > 0)) out += c
    else out += '\\x' + ch.toString(16).padStart(2, '0')
  }
  return out
}

export const consumerLogName = (name: string): string => name.replace(/\//g, '_') + '.log'

/** The daemon's unit text, from the project's renderer. */
export async function daemonUnit (): Promise<string> {
  const url = pathToFileURL(join(REPO, 'nixos/render-unit.mjs')).href
  const mod = await import(url) as { renderUnit: (o: object) => string }
  return mod.renderUnit({
    bin: C_CLI,
    config: C_CONFIG,
    user: 'data-mesher',
    group: 'data-mesher'
  })
}

const CLI_WRAPPER = `#!/bin/sh
# data-mesher CLI and daemon: the project checkout bind-mounted from the host.
exec ${C_NODE} ${C_PROJECT}/dist/src/cli/bin.js "$@"
`

const NET_UNIT = `[Unit]
Description=dmt: static test addresses on host0 (IPv4 + IPv6)
DefaultDependencies=no
Before=network.target network-online.target
Wants=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
EnvironmentFile=${C_TEST_DIR}/net.env
ExecStart=ip link set host0 up
ExecStart=ip addr replace \${ADDR4} dev host0
ExecStart=ip -6 addr replace \${ADDR6} dev host0 nodad

[Install]
WantedBy=network-online.target multi-user.target
`

// The consumer, the way a downstream service (unbound for a DNS zone) reacts to a
// delivered file: a .path unit watching the stable delivery path and a oneshot
// service, running as its own user that reads the file through the daemon's group.
const CONSUMER_PATH = `[Unit]
Description=dmt consumer: watch delivered file %I

[Path]
PathChanged=${C_FILES}/%I
Unit=dm-consumer@%i.service

[Install]
WantedBy=paths.target
`

const CONSUMER_SERVICE = `[Unit]
Description=dmt consumer: react to delivered file %I

[Service]
Type=oneshot
User=dm-consumer
Group=dm-consumer
SupplementaryGroups=data-mesher
LogsDirectory=dm-consumer
ExecStart=/usr/local/lib/dmt/consume %I
`

// One line per activation: "<unix ms> <name> <base64 content>" or "<unix ms> <name> REMOVED".
const CONSUME_SH = `#!/bin/sh
set -eu
name="$1"
f="${C_FILES}/$name"
log="${C_CONSUMER_LOG_DIR}/$(printf %s "$name" | tr / _).log"
ts=$(date +%s%3N)
if [ -e "$f" ]; then
  content=$(base64 -w0 < "$f") || { echo "cannot read $f" >&2; exit 1; }
  printf '%s %s %s\\n' "$ts" "$name" "$content" >> "$log"
else
  printf '%s %s REMOVED\\n' "$ts" "$name" >> "$log"
fi
`

export interface SharedFilesOptions {
  /** install and enable data-mesher.service */
  daemon: boolean
  /** file names that get a consumer */
  watch: string[]
  /** tmpfiles.d rules as the NixOS module renders them, into <dir>/tmpfiles */
  tmpfiles?: { pluginDirectories?: string[] }
  /** more units or drop-ins, by path under the unit directory */
  units?: Record<string, string>
  /** units to add to multi-user.target.wants */
  enable?: string[]
}

/** The NixOS module's tmpfiles.d rules, from the project's renderer (nixos/render-tmpfiles.mjs). */
export async function moduleTmpfilesRules (pluginDirectories: string[]): Promise<string[]> {
  const url = pathToFileURL(join(REPO, 'nixos/render-tmpfiles.mjs')).href
  const mod = await import(url) as { tmpfilesRules: (o: object) => string[] }
  return mod.tmpfilesRules({ stateDir: C_STATE, user: 'data-mesher', group: 'data-mesher', pluginDirectories })
}

/**
 * Writes <dir>/units (-> /usr/local/lib/systemd/system), <dir>/lib (-> /usr/local/lib/dmt)
 * and <dir>/bin/data-mesher (-> /usr/local/bin/data-mesher).
 */
export async function writeSharedFiles (dir: string, opts: SharedFilesOptions): Promise<void> {
  const units = join(dir, 'units')
  const lib = join(dir, 'lib')
  const bin = join(dir, 'bin')
  for (const d of [units, lib, bin, join(units, 'multi-user.target.wants'), join(units, 'network-online.target.wants'), join(units, 'paths.target.wants')]) {
    mkdirSync(d, { recursive: true })
  }
  const write = (path: string, text: string, mode = 0o644): void => { writeFileSync(path, text); chmodSync(path, mode) }
  write(join(bin, 'data-mesher'), CLI_WRAPPER, 0o755)
  write(join(lib, 'consume'), CONSUME_SH, 0o755)
  write(join(units, 'dmt-net.service'), NET_UNIT)
  symlinkSync('../dmt-net.service', join(units, 'multi-user.target.wants/dmt-net.service'))
  symlinkSync('../dmt-net.service', join(units, 'network-online.target.wants/dmt-net.service'))
  write(join(units, 'dm-consumer@.path'), CONSUMER_PATH)
  write(join(units, 'dm-consumer@.service'), CONSUMER_SERVICE)
  for (const name of opts.watch) {
    symlinkSync('../dm-consumer@.path', join(units, `paths.target.wants/dm-consumer@${systemdEscape(name)}.path`))
  }
  for (const [path, text] of Object.entries(opts.units ?? {})) {
    mkdirSync(dirname(join(units, path)), { recursive: true })
    write(join(units, path), text)
  }
  for (const name of opts.enable ?? []) {
    // ours (in this directory) or the rootfs's own unit
    symlinkSync(name in (opts.units ?? {}) ? `../${name}` : `/usr/lib/systemd/system/${name}`, join(units, 'multi-user.target.wants', name))
  }
  if (opts.tmpfiles !== undefined) {
    mkdirSync(join(dir, 'tmpfiles'), { recursive: true })
    write(join(dir, 'tmpfiles', 'data-mesher.conf'), (await moduleTmpfilesRules(opts.tmpfiles.pluginDirectories ?? [])).join('\n') + '\n')
  }
  if (opts.daemon) {
    write(join(units, 'data-mesher.service'), await daemonUnit())
    symlinkSync('../data-mesher.service', join(units, 'multi-user.target.wants/data-mesher.service'))
  }
}
