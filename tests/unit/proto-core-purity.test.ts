// src/mesh/proto is the protocol core: state machines that decide, with no IO. The daemon
// drives them from streams and timers, the simulator (tests/sim) from a seeded event
// queue; both must run the same code, so the core may not reach for a socket, a file, a
// timer, the wall clock or Math.random. This test reads every file of the core and every
// module it imports (transitively, type-only imports aside) and fails on any of those.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const CORE = join(ROOT, 'src/mesh/proto')

/** modules that do IO or carry a network stack: no file the core reaches may import one */
const IO_MODULES = /^(node:)?(net|dgram|fs|fs\/promises|timers|timers\/promises|child_process|http|https|http2|tls|worker_threads)$|^@?libp2p|^@chainsafe\/|^@grpc\/|^@multiformats\/|^it-/
/** ambient clocks, timers and randomness: the core's own files may not use them */
const AMBIENT = /\b(setTimeout|setInterval|setImmediate|queueMicrotask|Date\.now|new Date\(|Math\.random|performance\.now|process\.)/

/** Non-type imports of a source text: [specifier]. */
export function valueImports (source: string): string[] {
  const out: string[] = []
  for (const m of source.matchAll(/^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+['"]([^'"]+)['"]/gm)) {
    if (m[2] !== undefined) continue // import type … / export type …
    const names = m[3]
    // import { type A, type B } from … is type-only too
    if (/^\{[^}]*\}$/.test(names) && names.slice(1, -1).split(',').map(s => s.trim()).filter(Boolean).every(s => s.startsWith('type '))) continue
    out.push(m[4])
  }
  for (const m of source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(m[1])
  return out
}

/** Source text without comments and string contents (so that a comment naming setTimeout is no use of it). */
function code (source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').replace(/'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''")
}

export function violations (read: (file: string) => string | undefined, coreFiles: string[], resolveImport: (from: string, spec: string) => string | undefined): string[] {
  const found: string[] = []
  const seen = new Set<string>()
  const queue = [...coreFiles]
  while (queue.length > 0) {
    const file = queue.shift()!
    if (seen.has(file)) continue
    seen.add(file)
    const source = read(file)
    if (source === undefined) continue
    if (coreFiles.includes(file)) {
      const m = AMBIENT.exec(code(source))
      if (m !== null) found.push(`${file}: uses ${m[1]}`)
    }
    for (const spec of valueImports(source)) {
      if (IO_MODULES.test(spec)) { found.push(`${file}: imports ${spec}`); continue }
      const target = resolveImport(file, spec)
      if (target !== undefined) queue.push(target)
    }
  }
  return found
}

function listTs (dir: string): string[] {
  return readdirSync(dir).flatMap(n => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? listTs(p) : p.endsWith('.ts') ? [p] : []
  })
}

describe('the protocol core (src/mesh/proto)', () => {
  it('has no IO: no timers, clocks, randomness or network and file modules, in its files or anything they import', () => {
    const coreFiles = listTs(CORE)
    expect(coreFiles.length).toBeGreaterThan(0)
    const read = (f: string): string | undefined => { try { return readFileSync(f, 'utf8') } catch { return undefined } }
    const resolveImport = (from: string, spec: string): string | undefined =>
      spec.startsWith('.') ? resolve(dirname(from), spec.replace(/\.js$/, '.ts')) : undefined
    const found = violations(read, coreFiles, resolveImport).map(v => relative(ROOT, v.split(':')[0]) + ':' + v.split(':').slice(1).join(':'))
    expect(found).toEqual([])
  })

  it('the check itself catches each kind of violation', () => {
    const files = new Map([
      ['core/a.ts', "import { b } from './b.js'\nimport type { Stream } from '@libp2p/interface'\nexport const a = () => b()"],
      ['core/b.ts', "import { c } from '../outside/c.js'\nexport const b = () => setTimeout(c, 5) // timer"],
      ['outside/c.ts', "import { createConnection } from 'node:net'\nexport const c = () => createConnection(1)"],
      ['core/d.ts', "// Date.now in a comment is fine\nexport const d = (now: number) => now + Math.random()"],
      ['core/e.ts', "import { type X, type Y } from '@libp2p/interface'\nexport const e = 1"]
    ])
    const core = ['core/a.ts', 'core/b.ts', 'core/d.ts', 'core/e.ts']
    const resolveImport = (from: string, spec: string): string | undefined =>
      spec.startsWith('.') ? join(dirname(from), spec).replace(/\.js$/, '.ts') : undefined
    expect(violations(f => files.get(f), core, resolveImport).sort()).toEqual([
      'core/b.ts: uses setTimeout',
      'core/d.ts: uses Math.random',
      'outside/c.ts: imports node:net'
    ])
  })
})
