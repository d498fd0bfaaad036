// nixos/render-tmpfiles.mjs (for hosts without Nix) renders the same tmpfiles rules
// as the NixOS module; and the rules do what they say under systemd-tmpfiles.
import { execFileSync, spawnSync } from 'node:child_process'
import { lstatSync, mkdtempSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
// @ts-expect-error plain JavaScript module without types
import { tmpfilesRules } from '../../nixos/render-tmpfiles.mjs'
import { canEval, evalOk, evalSkipReason, repoRoot } from './helpers.js'

const script = join(repoRoot, 'nixos/render-tmpfiles.mjs')
const tmp = mkdtempSync(join(tmpdir(), 'dm-tmpfiles-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('render-tmpfiles.mjs', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['defaults', {}],
    ['dm-dns', { pluginDirectories: ['dns'] }],
    ['nested plugin directories, other user and state dir', { pluginDirectories: ['a/b', 'a/c', 'dns'], user: 'dm', group: 'dmg', stateDir: '/srv/dm' }],
    ['without the home link', { filesHomeLink: false }],
    ['without the home link, outside /var/lib', { filesHomeLink: false, stateDir: '/srv/dm' }]
  ]
  for (const [what, o] of cases) {
    it(`renders what the module renders: ${what}`, (ctx) => {
      if (!canEval) ctx.skip(evalSkipReason)
      const nix = (k: string, v: unknown): string => `${k} = ${JSON.stringify(v).replace(/,/g, ' ')};`
      const body = Object.entries(o).map(([k, v]) => nix(k, v)).join(' ')
      const v = evalOk(`{ services.data-mesher = { enable = true; ${body} }; }`)
      expect(tmpfilesRules(o)).toEqual(v.tmpfiles)
    })
  }

  it('is a command line too', () => {
    const out = execFileSync(process.execPath, [script, '--plugin-dir', 'dns', '--state-dir', '/srv/dm'], { encoding: 'utf8' })
    expect(out).toBe(tmpfilesRules({ pluginDirectories: ['dns'], stateDir: '/srv/dm' }).join('\n') + '\n')
    const bad = spawnSync(process.execPath, [script, '--nope'], { encoding: 'utf8' })
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('unknown argument --nope')
  })

  it('creates the directories and the link under systemd-tmpfiles', (ctx) => {
    const has = spawnSync('sh', ['-c', 'command -v systemd-tmpfiles'], { stdio: 'ignore' }).status === 0
    if (!has) ctx.skip('systemd-tmpfiles is not installed')
    const me = userInfo()
    const stateDir = join(tmp, 'state')
    const conf = join(tmp, 'dm.conf')
    writeFileSync(conf, tmpfilesRules({ stateDir, user: me.username, group: String(me.gid), pluginDirectories: ['dns'] }).join('\n') + '\n')
    const r = spawnSync('systemd-tmpfiles', ['--create', conf], { encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(statSync(join(stateDir, 'files', 'dns')).mode & 0o777).toBe(0o750)
    expect(lstatSync(join(stateDir, 'files', 'home')).isSymbolicLink()).toBe(true)
    expect(readlinkSync(join(stateDir, 'files', 'home'))).toBe('.')
    expect(statSync(join(stateDir, 'files', 'home', 'home', 'dns')).isDirectory()).toBe(true)
  })
})
