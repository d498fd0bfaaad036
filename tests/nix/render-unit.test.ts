// nixos/render-unit.mjs: the unit for hosts without Nix, from service-settings.json.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hasSystemdAnalyze, repoRoot } from './helpers.js'
// @ts-expect-error plain JavaScript module without types
import { loadSettings, renderUnit, serviceSettings } from '../../nixos/render-unit.mjs'

const script = join(repoRoot, 'nixos/render-unit.mjs')
const tmp = mkdtempSync(join(tmpdir(), 'dm-render-unit-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function render (...args: string[]): string {
  return execFileSync(process.execPath, [script, ...args], { encoding: 'utf8' })
}

describe('service-settings.json', () => {
  const s = loadSettings()
  it('is a flat object of strings and lists of strings, without per-platform keys', () => {
    for (const [k, v] of Object.entries(s)) {
      expect(typeof v === 'string' || (Array.isArray(v) && v.every((x: unknown) => typeof x === 'string')), k).toBe(true)
    }
    for (const k of ['ExecStart', 'ExecReload', 'User', 'Group', 'DynamicUser', 'ReadWritePaths']) expect(s).not.toHaveProperty(k)
  })
  it('asks for notify, the watchdog and the sandbox the design requires', () => {
    expect(s.Type).toBe('notify')
    expect(s.NotifyAccess).toBe('all')
    expect(s.WatchdogSec).toMatch(/^\d+s$/)
    expect(s.Restart).toBe('on-failure')
    expect(s.StateDirectory).toBe('data-mesher')
    expect(s.StateDirectoryMode).toBe('0750')
    expect(s.RuntimeDirectory).toBe('data-mesher')
    expect(s.UMask).toBe('0027')
    expect(s.ProtectSystem).toBe('strict')
    expect(s.NoNewPrivileges).toBe('yes')
    expect(s.CapabilityBoundingSet).toBe('')
    expect(s.RestrictAddressFamilies).toEqual(['AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_NETLINK'])
    expect(s.SystemCallFilter).toContain('@system-service')
    // V8's JIT needs writable+executable memory
    expect(s).not.toHaveProperty('MemoryDenyWriteExecute')
  })
})

describe('render-unit.mjs', () => {
  it('renders ExecStart from --bin and --config, and the user and group', () => {
    const unit = render('--bin', '/opt/dm/bin/data-mesher', '--config', '/etc/dm.toml')
    expect(unit).toContain('\nExecStart=/opt/dm/bin/data-mesher daemon --config /etc/dm.toml\n')
    expect(unit).toContain('\nExecReload=/bin/kill -HUP $MAINPID\n')
    expect(unit).toContain('\nUser=data-mesher\n')
    expect(unit).toContain('\nGroup=data-mesher\n')
    expect(unit).toContain('\n[Install]\nWantedBy=multi-user.target\n')
  })
  it('renders lists as one line per element, like NixOS', () => {
    const unit = render()
    expect(unit).toContain('RestrictAddressFamilies=AF_UNIX\nRestrictAddressFamilies=AF_INET\n')
    expect(unit).toContain('SystemCallFilter=@system-service\nSystemCallFilter=~@privileged\n')
  })
  it('takes --exec-start, --set, --unset, --environment, --dynamic-user', () => {
    const unit = render('--exec-start', '/x daemon --config /c', '--set', 'WatchdogSec=0', '--unset', 'PrivateDevices',
      '--environment', 'A=b c', '--dynamic-user', '--user=ignored')
    expect(unit).toContain('\nExecStart=/x daemon --config /c\n')
    expect(unit).toContain('\nWatchdogSec=0\n')
    expect(unit).not.toContain('PrivateDevices=')
    expect(unit).toContain('\nEnvironment="A=b c"\n')
    // the shared environment (malloc settings, DECISIONS "glibc's malloc returns memory") stays beside it
    for (const kv of loadSettings().Environment) expect(unit).toContain(`\nEnvironment=${kv}\n`)
    expect(unit).toContain('\nDynamicUser=yes\n')
    expect(unit).not.toContain('User=ignored')
  })
  it('--json prints the merged [Service] settings', () => {
    const j = JSON.parse(render('--json', '--bin', '/b'))
    expect(j.ExecStart).toBe('/b daemon --config /etc/data-mesher/config.toml')
    expect(j.Type).toBe('notify')
  })
  it('refuses unknown arguments with exit code 2', () => {
    const r = spawnSync(process.execPath, [script, '--nope'], { encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('unknown argument --nope')
  })
  it('refuses a settings file that carries per-platform keys', () => {
    const bad = join(tmp, 'bad.json')
    writeFileSync(bad, JSON.stringify({ Type: 'notify', ExecStart: '/x' }))
    expect(() => serviceSettings({ settings: bad })).toThrow(/per platform/)
  })
  it('can be imported', () => {
    expect(renderUnit({ bin: '/b' })).toContain('ExecStart=/b daemon')
  })
  it('passes systemd-analyze verify', (ctx) => {
    if (!hasSystemdAnalyze) ctx.skip('systemd-analyze is not installed')
    const unitPath = join(tmp, 'data-mesher.service')
    writeFileSync(unitPath, render('--bin', '/bin/true'))
    const r = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' })
    expect(r.stderr.split('\n').filter(l => l.includes('data-mesher.service')).join('\n')).toBe('')
    expect(r.status).toBe(0)
    expect(readFileSync(unitPath, 'utf8')).toContain('Type=notify')
  })
})
