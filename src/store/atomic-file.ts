// Durable atomic file operations: a reader sees the old bytes or the new ones, never a
// mix, and after a crash the file is one of the two (temp + fsync + rename + dir fsync).
import { open, rename, unlink, mkdir, type FileHandle } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { STORE_TEMP_PREFIX } from '../crypto/names.js'

/** Temp files start with this; no configured name segment may (crypto/names.ts). */
export const TEMP_PREFIX = STORE_TEMP_PREFIX

export async function fsyncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try { await fh.sync() } finally { await fh.close() }
}

/**
 * Keeps the store's directories open, so that making a rename durable costs one fsync
 * instead of open + fsync + close (each an asynchronous round trip: the store does
 * several per accepted version). Bounded; close() releases them.
 *
 * Syncs of one directory asked for while one is running share the next one (group
 * commit): that one starts after each of them was asked for, so it covers every entry
 * they made; a running fsync is never joined, since it may have started before the
 * entry was made. Versions stored at once (a burst from the mesh, many names) thus
 * share their fsyncs of staging/ and of records/.
 */
export class DirSyncer {
  private readonly handles = new Map<string, Promise<FileHandle>>()
  /** per directory: the fsync running, and the one queued behind it that new callers join */
  private readonly syncs = new Map<string, { running?: Promise<void>, queued?: Promise<void> }>()
  constructor (private readonly max = 64) {}

  async sync (dir: string): Promise<void> {
    let s = this.syncs.get(dir)
    if (s === undefined) { s = {}; this.syncs.set(dir, s) }
    if (s.queued !== undefined) return await s.queued
    if (s.running === undefined) return await this.start(dir, s)
    const st = s
    st.queued = s.running.catch(() => {}).then(async () => {
      st.queued = undefined
      await this.start(dir, st)
    })
    return await st.queued
  }

  private async start (dir: string, s: { running?: Promise<void>, queued?: Promise<void> }): Promise<void> {
    const run: Promise<void> = this.fsyncNow(dir).finally(() => {
      if (s.running === run) s.running = undefined
      if (s.running === undefined && s.queued === undefined && this.syncs.get(dir) === s) this.syncs.delete(dir)
    })
    s.running = run
    await run
  }

  private async fsyncNow (dir: string): Promise<void> {
    let h = this.handles.get(dir)
    if (h === undefined) {
      if (this.handles.size >= this.max) {
        const [oldest, handle] = this.handles.entries().next().value!
        this.handles.delete(oldest)
        void handle.then(async fh => await fh.close()).catch(() => {})
      }
      h = open(dir, 'r')
      this.handles.set(dir, h)
      h.catch(() => { if (this.handles.get(dir) === h) this.handles.delete(dir) })
    }
    await (await h).sync()
  }

  async close (): Promise<void> {
    const all = [...this.handles.values()]
    this.handles.clear()
    await Promise.all(all.map(async h => await h.then(async fh => await fh.close()).catch(() => {})))
  }
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

/** Writes `data` to a new file at `path` and fsyncs it; on failure the file is removed. */
async function writeSynced (path: string, data: Uint8Array, flags: 'w' | 'wx', mode: number): Promise<void> {
  const fh = await open(path, flags, mode)
  try {
    try {
      await fh.writeFile(data)
      await fh.chmod(mode) // not subject to the umask
      await fh.sync()
    } finally { await fh.close() }
  } catch (err) {
    await unlink(path).catch(() => {}) // a full disk leaves no partial file behind
    throw err
  }
}

export async function writeFileAtomic (path: string, data: Uint8Array, mode = 0o640, dirs?: DirSyncer): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, TEMP_PREFIX + randomBytes(6).toString('hex'))
  await writeSynced(tmp, data, 'wx', mode)
  try { await rename(tmp, path) } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await (dirs !== undefined ? dirs.sync(dir) : fsyncDir(dir))
}

/**
 * Writes a file in place, durably (fsync of the file, then of its directory), without the
 * temp + rename of writeFileAtomic: only for files whose readers verify them (the staged
 * content, checked against the sha256 of its record), so a torn write is detected, not read.
 */
export async function writeFileVerifiable (path: string, data: Uint8Array, mode: number, dirs: DirSyncer): Promise<void> {
  await writeSynced(path, data, 'w', mode)
  await dirs.sync(dirname(path))
}

/**
 * Moves a file into place atomically but not durably: neither directory is synced, so
 * after a power loss the move may be undone (never half done: a rename, even between two
 * directories of one filesystem, is one journal transaction on ext4, XFS and btrfs). Only
 * for a source that recovery finds again and moves once more (the staged content of a
 * durable record: DiskStore.placeDelivered); after a crash the source entry may also
 * reappear beside the moved file, a leftover swept on start.
 */
export async function moveIntoPlace (from: string, to: string): Promise<void> {
  await rename(from, to)
}

/** Removes a file, not durably (see moveIntoPlace for when that is enough); a missing file is not an error. */
export async function unlinkIfPresent (path: string): Promise<void> {
  try { await unlink(path) } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
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
