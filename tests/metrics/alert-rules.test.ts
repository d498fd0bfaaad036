// The shipped example alert rules (docs/alerts/) are valid for Prometheus and do what
// their test file says: promtool check rules, promtool test rules.
import { spawnSync } from 'node:child_process'
import { copyFileSync, writeFileSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/fs.ts'
import { requireBinary, runsHere } from './prometheus-binary.ts'

const DIR = resolve('docs/alerts')
const RULES = join(DIR, 'data-mesher.rules.yml')
const RULES_TEST = join(DIR, 'data-mesher.rules.test.yml')

function promtool (args: string[], cwd: string): { status: number | null, out: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

describe.skipIf(!runsHere('promtool'))('example alert rules (promtool)', () => {
  it('pass `promtool check rules`', () => {
    requireBinary('promtool')
    const r = promtool(['check', 'rules', RULES], DIR)
    expect(r.out).toMatch(/SUCCESS: 5 rules found/)
    expect(r.status).toBe(0)
  })

  it('pass `promtool test rules` (each alert fires when it should, and only then)', () => {
    requireBinary('promtool')
    const r = promtool(['test', 'rules', RULES_TEST], DIR)
    expect(r.out).toMatch(/SUCCESS/)
    expect(r.status).toBe(0)
  })

  it('the rules test catches a wrong threshold (it is not a test that cannot fail)', () => {
    requireBinary('promtool')
    const t = tempDir('dm-rules-')
    try {
      copyFileSync(RULES_TEST, join(t.dir, 'data-mesher.rules.test.yml'))
      const weakened = readFileSync(RULES, 'utf8').replace('< 7 * 86400', '< 5 * 86400')
      expect(weakened).not.toBe(readFileSync(RULES, 'utf8'))
      writeFileSync(join(t.dir, 'data-mesher.rules.yml'), weakened)
      const r = promtool(['test', 'rules', 'data-mesher.rules.test.yml'], t.dir)
      expect(r.status).not.toBe(0)
      expect(r.out).toMatch(/DataMesherCertificateEndingSoon/)
    } finally { t.cleanup() }
  })
})
