// The installed package's root (it holds package.json and proto/), found by walking up
// from this module: the same code runs from src/ under vitest and from dist/src/ when built.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let root: string | undefined

export function packageRoot (): string {
  if (root !== undefined) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return (root = dir)
    dir = dirname(dir)
  }
  throw new Error(`cannot find the data-mesher package root above ${fileURLToPath(import.meta.url)}`)
}

export function packageVersion (): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version
}
