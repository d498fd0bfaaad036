// Durable atomic file operations: a reader sees the old bytes or the new ones, never a
// mix, and after a crash the file is one of the two (temp + fsync + rename + dir fsync).
import { open, rename, unlink, mkdir } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'

export const TEMP_PREFIX = '.dm-tmp-'

export async function fsyncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try { await fh.sync() } finally { await fh.close() }
}

/** Creates dir (and parents) with the given mode, fsyncing each new level's parent. */
export async function ensureDir (dir: string, mode = 0o750): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode })
  if (created !== undefined) {
    // fsync every parent of a new directory so the new entries survive a crash
    let d = dir
    while (d.length >= created.length) { d = dirname(d); await fsyncDir(d) }
  }
}

export async function writeFileAtomic (path: string, data: Uint8Array, mode = 0o640): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, TEMP_PREFIX + randomBytes(6).toString('hex'))
  const fh = await open(tmp, 'wx', mode)
  try {
    try {
      await fh.writeFile(data)
      await fh.chmod(mode) // not subject to the umask
      await fh.sync()
    } finally { await fh.close() }
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fsyncDir(dir)
}

/** Moves a file into place atomically and durably (both on the same filesystem). */
export async function renameDurable (from: string, to: string): Promise<void> {
  await rename(from, to)
  await fsyncDir(dirname(to))
  if (dirname(from) !== dirname(to)) await fsyncDir(dirname(from))
}

/** Removes a file durably; a missing file is not an error. Returns whether it existed. */
export async function unlinkDurable (path: string): Promise<boolean> {
  try { await unlink(path) } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  await fsyncDir(dirname(path))
  return true
}
