// `data-mesher daemon --config F --check`: the built CLI validates a config without
// starting the node, so a Nix build can refuse a config the daemon would refuse at boot.
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cli, renderConfig } from '../helpers/daemon.ts'
import { tempDir } from '../helpers/fs.ts'

const KEY = '0uXOb3H5u+sI8BbeRTKBRZcyTEbPzzoxnmau3pQWNbQ='
const work = tempDir('dm-check-')
afterAll(() => work.cleanup())

function config (name: string, text: string): string {
  const p = join(work.dir, name)
  writeFileSync(p, text)
  return p
}

describe('daemon --check', () => {
  it('accepts a valid config, prints "config ok" and starts nothing', async () => {
    const stateDir = join(work.dir, 'state-ok')
    const p = config('ok.toml', renderConfig(stateDir, join(work.dir, 'api.sock'), 7946, { files: { motd: [KEY] } }))
    const r = await cli(['daemon', '--config', p, '--check'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`config ok: ${p}\n`)
    // nothing was started: no state directory, no socket
    expect(existsSync(stateDir)).toBe(false)
    expect(existsSync(join(work.dir, 'api.sock'))).toBe(false)
  })

  it('refuses a bad value with exit 1 and the key\'s name', async () => {
    const p = config('bad-port.toml', '[cluster]\nport = 70000\n')
    const r = await cli(['daemon', '--config', p, '--check'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cluster.port')
    expect(r.stdout).toBe('')
  })

  it('refuses an unknown key with its name', async () => {
    const p = config('unknown.toml', '[cluster]\npush_pull_interval = "5s"\n')
    const r = await cli(['daemon', '--config', p, '--check'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cluster.push_pull_interval: unknown key')
  })

  it('refuses a bad signer key naming the file entry', async () => {
    const p = config('bad-key.toml', '[files]\nmotd = ["not-a-key"]\n')
    const r = await cli(['daemon', '--config', p, '--check'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('files."motd"[0]')
  })

  it('refuses a missing file and invalid TOML', async () => {
    const missing = await cli(['daemon', '--config', join(work.dir, 'nope.toml'), '--check'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('cannot read')
    const syntax = await cli(['daemon', '--config', config('syntax.toml', 'log_level = \n'), '--check'])
    expect(syntax.code).toBe(1)
    expect(syntax.stderr).toContain('not valid TOML')
  })

  it('is a usage error without --config or with --dev', async () => {
    expect((await cli(['daemon', '--check'])).code).toBe(2)
    expect((await cli(['daemon', '--dev', '--check'])).code).toBe(2)
  })
})
