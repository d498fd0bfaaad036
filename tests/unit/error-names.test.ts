// Every error class of src carries a `.name` equal to its class name, so that logs and
// `err.name` checks say which error it is (an Error subclass without one is just "Error").
// The test finds the files that declare a class extending another, imports each, and
// checks every exported Error subclass, so a new error class is checked without listing it.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = resolve(import.meta.dirname, '../../src')

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return e.name === 'generated' ? [] : sources(path)
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : []
  })
}

/** the files that declare an exported subclass (bin.ts runs the CLI when imported: it declares none) */
const declaring = sources(SRC).filter(f => /^export class \w+ extends \w+/m.test(readFileSync(f, 'utf8')))

async function errorClasses (): Promise<Array<{ where: string, key: string, cls: new (...args: never[]) => Error }>> {
  const found = []
  for (const file of declaring) {
    const mod = await import(file) as Record<string, unknown>
    for (const [key, value] of Object.entries(mod)) {
      if (typeof value === 'function' && value.prototype instanceof Error) {
        found.push({ where: relative(SRC, file), key, cls: value as new (...args: never[]) => Error })
      }
    }
  }
  return found
}

describe('error classes', () => {
  it('each exported Error subclass of src has .name equal to its class name', async () => {
    const classes = await errorClasses()
    // the ones there are today (and more to come): an empty search would prove nothing
    expect(classes.map(c => c.key)).toEqual(expect.arrayContaining(['WireError', 'QueueDropped', 'ConfigError', 'ApiError', 'ClientError', 'WatchEnded', 'CertificateFormatError', 'CertificateTimeError', 'RecordFormatError', 'StoreIOError', 'UsageError', 'Refused']))
    const wrong = classes
      .map(({ where, key, cls }) => ({ where, key, name: new cls().name, className: cls.name }))
      .filter(c => c.name !== c.key || c.className !== c.key)
    expect(wrong).toEqual([])
  })
})
