// Start over a socket file left by a crash — and over nothing else.
import { lstat, unlink } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'

/**
 * A socket left by a crash must not prevent start; a live daemon's socket must, and so
 * must anything that is not a socket (L5): that is someone's file, not ours to delete.
 */
export async function removeStaleSocket (path: string): Promise<void> {
  let kind: string
  try {
    const st = await lstat(path)
    if (st.isSocket()) kind = 'socket'
    else kind = st.isFile() ? 'regular file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symbolic link' : 'special file'
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  if (kind !== 'socket') throw new Error(`api.socket: ${path} exists and is a ${kind}, not a socket; refusing to remove it (move it away or choose another api.socket)`)
  const alive = await new Promise<boolean>(resolve => {
    const s = netConnect(path)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
  if (alive) throw new Error(`another daemon is serving ${path}`)
  await unlink(path).catch(err => { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err })
}
