// The NixOS VM test (nixos/tests/default.nix) cannot run here (no KVM, no binary
// cache), but its Python test script can at least be parsed and checked for the
// test driver's machine methods and for the scenarios issue 5 asks for.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from './helpers.js'

const source = readFileSync(join(repoRoot, 'nixos/tests/default.nix'), 'utf8')
const m = /testScript = ''\n([\s\S]*?)\n\s*'';/.exec(source)
const script = (m?.[1] ?? '')
  .replace(/\$\{filesDir\}/g, '/var/lib/data-mesher/files')
  .replace(/''\$/g, '$')
const hasPython = spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0

describe('VM test script', () => {
  it('is found in nixos/tests/default.nix and interpolates nothing else', () => {
    expect(script.length).toBeGreaterThan(500)
    expect(script).not.toMatch(/\$\{/)
  })

  it('is valid Python', (ctx) => {
    if (!hasPython) ctx.skip('python3 is not installed')
    // the driver runs the script at module level; dedent it like Nix's '' strings do
    const r = spawnSync('python3', ['-c', 'import ast, sys, textwrap; ast.parse(textwrap.dedent(sys.stdin.read()))'],
      { input: script, encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('uses only machine methods of the NixOS test driver', () => {
    const driver = new Set(['succeed', 'fail', 'wait_for_unit', 'wait_until_succeeds', 'wait_until_fails', 'shutdown',
      'start', 'sleep', 'wait_for_open_port', 'execute', 'systemctl', 'crash', 'wait_for_file', 'name'])
    const used = new Set([...script.matchAll(/\b(?:m|other|alpha|beta|gamma|stranger)\.(\w+)/g)].map(x => x[1]))
    for (const method of used) expect(driver.has(method), method).toBe(true)
  })

  it('covers the scenarios: all up, upload, .path unit, catch-up after boot, deletion, expiry, stranger refused', () => {
    for (const s of ['all services up', 'file on all, .path unit fires', 'catches up after boot',
      'deletion spreads', 'expires everywhere', 'outside allowedNodes']) {
      expect(script).toContain(s)
    }
    expect(script).toContain('data-mesher file update')
    expect(script).toContain('--expires 30s')
    expect(script).toContain('gamma.shutdown()')
    expect(script).toContain('data-mesher file delete')
  })
})
