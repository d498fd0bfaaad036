import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { pino } from 'pino'

export const quietLog = pino({ level: 'silent' })

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir (prefix = 'dm-test-'): { dir: string, cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A small tmpfs (root only), to make the disk run full. Returns undefined when mounting is not possible. */
export function smallTmpfs (sizeKiB: number): { dir: string, cleanup: () => void } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const { dir, cleanup } = tempDir('dm-tmpfs-')
  try { execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir]) } catch { cleanup(); return undefined }
  return { dir, cleanup: () => { try { execFileSync('umount', [dir]) } catch {} ; cleanup() } }
}
